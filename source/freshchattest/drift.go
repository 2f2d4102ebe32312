package freshchattest

import (
	"strconv"
	"time"
)

// driftColumn is the vendor column Faults.HeaderDrift appends in odd hours.
const driftColumn = "drift_added"

// drift is the header drift of one CSV file: which canonical column it
// lacks and whether it ends with driftColumn.
type drift struct {
	drop  int // index in eventDef.columns of the dropped column, -1: none
	added bool
}

var noDrift = drift{drop: -1}

// driftAt returns the drift of the UTC hour holding ms: driftColumn is
// appended in odd hours, d.driftDrop dropped in hours divisible by 3 (so
// hours 3, 9, 15 and 21 have both, hours 2, 4, 8, ... neither).
func (d *eventDef) driftAt(ms int64) drift {
	h := time.UnixMilli(ms).UTC().Hour()
	dr := drift{drop: -1, added: h%2 == 1}
	if h%3 == 0 {
		dr.drop = d.driftIdx
	}
	return dr
}

// header returns the columns of a file with drift dr in canonical order:
// Columns without the dropped one, then driftColumn if added.
func (d *eventDef) header(dr drift) []string {
	out := make([]string, 0, len(d.columns)+1)
	for i, c := range d.columns {
		if i != dr.drop {
			out = append(out, c)
		}
	}
	if dr.added {
		out = append(out, driftColumn)
	}
	return out
}

// driftValue is the driftColumn cell of the row at ms: a digit string
// prefixed with "drift-", a pure function of (event, created_at).
func driftValue(d *eventDef, ms int64) string {
	c := rowCtx{seed: mix(d.seed ^ mix(uint64(ms)))} // the row's seed, as rowCtx.reset derives it
	return "drift-" + strconv.FormatUint(c.rnd(kDrift)%1_000_000, 10)
}

// DriftColumns returns how Faults.HeaderDrift changes the header of event's
// files for the rows of the UTC hour holding hour: added is
// ["drift_added"] in odd hours (a vendor column appended after the others,
// with a deterministic value per row), dropped names one column in hours
// divisible by 3, nil otherwise. The dropped column is fixed per event,
// never created_at nor a Kafka key column (interaction_id, conversation_id,
// agent_id, actor_id):
//
//	Conversation-Created           reopen_cause
//	Message-Sent                   actor_sub_type
//	Conversation-Resolved          agent_name
//	Conversation-Resolution-Label  agent_name
//	CSAT-Score                     csat_response
//	First-Response-Time            group_name
//	Response-Time                  actor_sub_type
//	Resolution-Time                actor_sub_type
//	Conversation-Agent-Assigned    actor_sub_type
//	Conversation-Group-Assigned    actor_sub_type
//	Agent-Activity                 agent_email
//	Agent-Intelliassign-Activity   group_name
//	agent-performance              group_name
//	classic                        group_name
//	Chat-Transcript                attachment_url
//
// Hours 3, 9, 15 and 21 both drop and add. DriftColumns describes the hour
// whether or not the knob is on; it returns nil, nil for an unknown event.
func DriftColumns(event string, hour time.Time) (dropped, added []string) {
	d := lookupEvent(event)
	if d == nil {
		return nil, nil
	}
	dr := d.driftAt(hour.UnixMilli())
	if dr.drop >= 0 {
		dropped = []string{d.columns[dr.drop]}
	}
	if dr.added {
		added = []string{driftColumn}
	}
	return dropped, added
}

// ServedRows returns the rows of event with from <= created_at < to and
// created_at <= Now() as the current Faults serve them when [from, to) is
// one link: for each row (ascending by created_at, as Rows) the header of
// the CSV file it is served in and its cells in that header's order.
//
// Headers are in canonical order, Columns without the column DriftColumns
// drops, then drift_added if it adds one; rows served under the same header
// share one header slice. With ShuffleColumns a file lists the same names in
// another order, so compare by name. created_at is in the canonical ISO
// format whatever AltTimestamps says, and MalformedEvery does not apply.
// Without HeaderDrift every header is Columns(event) and the rows equal
// Rows(event, from, to).
//
// With HeaderDrift and the zip format a row's header depends only on its
// own hour (zips split at every change), so any window gives the rows of
// its links. With Format "csv" or "gzip" a link is one file carrying the
// drift of its first row: call ServedRows once per link, with the link's
// from and its to plus a millisecond. It returns nil, nil for an unknown
// event.
func (s *Server) ServedRows(event string, from, to time.Time) (headers [][]string, rows [][]string) {
	d := lookupEvent(event)
	if d == nil {
		return nil, nil
	}
	s.mu.Lock()
	f := s.faults
	s.mu.Unlock()
	perHour := f.HeaderDrift && newShape(f).zipped()
	fixed, first := noDrift, true
	shared := map[drift][]string{}
	end := min(to.UnixMilli(), s.now().UnixMilli()+1)
	_ = s.gen.each(d, from.UnixMilli(), end, func(ms int64, row []string) error {
		dr := fixed
		switch {
		case perHour:
			dr = d.driftAt(ms)
		case f.HeaderDrift && first:
			fixed = d.driftAt(ms)
			dr = fixed
		}
		first = false
		h, ok := shared[dr]
		if !ok {
			h = d.header(dr)
			shared[dr] = h
		}
		cells := make([]string, 0, len(h))
		for i, v := range row {
			if i != dr.drop {
				cells = append(cells, v)
			}
		}
		if dr.added {
			cells = append(cells, driftValue(d, ms))
		}
		headers = append(headers, h)
		rows = append(rows, cells)
		return nil
	})
	return headers, rows
}

// keptColumns returns the canonical indices of the columns a file with
// drift dr serves, in canonical order.
func keptColumns(d *eventDef, dr drift) []int {
	out := make([]int, 0, len(d.columns))
	for i := range d.columns {
		if i != dr.drop {
			out = append(out, i)
		}
	}
	return out
}
