package freshchattest

import (
	"slices"
	"time"
)

// isoLayout is the canonical created_at format: ISO-8601, UTC, milliseconds.
const isoLayout = "2006-01-02T15:04:05.000Z"

const hourMillis = int64(time.Hour / time.Millisecond)

// MaxRowsPerHour is the largest accepted Options.RowsPerHour: one row per
// millisecond, the resolution of created_at.
const MaxRowsPerHour = int(hourMillis)

// eventDef describes one report: its served columns and how its rows vary.
type eventDef struct {
	name    string
	columns []string
	// actorTypes are the actor_type values the report uses.
	actorTypes []string
	// agentOptional: agent_id/agent_name are empty in some rows (no assignment).
	agentOptional bool
	// groupFollowsAgent: group_id/group_name are empty whenever the agent is.
	groupFollowsAgent bool
	// groupOptional: group_id/group_name are empty in some rows.
	groupOptional bool
	// fractionalValue: value_in_seconds is an average and may be fractional.
	fractionalValue bool
	// hostileChannel: the report has no person-name column, so hostile rows
	// carry their hostile text in channel_name instead.
	hostileChannel bool
	// ownCells generate columns this report serves differently from the
	// others (or alone); they take precedence over cellFuncs.
	ownCells map[string]cellFunc
	// driftDrop is the nullable column Faults.HeaderDrift drops from the
	// header in hours divisible by 3 (see DriftColumns). Never created_at
	// nor a Kafka key column.
	driftDrop string

	seed        uint64
	cells       []cellFunc
	createdAt   int // index of created_at in columns
	reopenedIdx int // index of reopened in columns, -1 if none
	driftIdx    int // index of driftDrop in columns
}

var (
	actorsAll     = []string{"USER", "AGENT", "SYSTEM", "BOT"}
	actorsNoUser  = []string{"AGENT", "SYSTEM", "BOT"}
	actorsLabel   = []string{"user", "AGENT", "SYSTEM", "BOT"} // lower-case "user" as the reference lists it
	actorsRouting = []string{"AGENT", "SYSTEM"}
)

// eventDefs lists the 12 reports in canonical order. Columns of the eight
// documented reports follow the vendor reference in the order it lists them;
// the unpublished four follow docs/CONTRACTS.md with their extra column last.
// driftDrop names the column Faults.HeaderDrift drops: one that is empty in
// some rows, except for Agent-Activity, whose only such column is an extra
// one, so it drops agent_email (nullable in its schema) instead.
var eventDefs = buildEventDefs([]eventDef{
	{
		name:      "Conversation-Created",
		driftDrop: "reopen_cause",
		columns: []string{"channel_name", "reopened", "actor_type", "group_name", "reopen_cause",
			"created_at", "interaction_id", "conv_url", "interaction_raw_id", "group_id",
			"conversation_id", "is_conv_offline", "channel_id"},
		actorTypes:    actorsAll,
		groupOptional: true,
	},
	{
		name:      "Message-Sent",
		driftDrop: "actor_sub_type",
		columns: []string{"channel_name", "actor_sub_type", "reopened", "actor_type", "group_name",
			"actor_name", "created_at", "interaction_id", "interaction_raw_id", "group_id",
			"conversation_id", "actor_id", "channel_id"},
		actorTypes: actorsAll,
	},
	{
		name:      "Conversation-Resolved",
		driftDrop: "agent_name",
		columns: []string{"channel_name", "reopened", "actor_type", "resolve_type", "agent_name",
			"agent_id", "group_name", "actor_name", "created_at", "interaction_id",
			"interaction_raw_id", "group_id", "actor_belongs_to_group", "conversation_id",
			"actor_id", "channel_id"},
		actorTypes:    actorsNoUser,
		agentOptional: true,
	},
	{
		name:      "Conversation-Resolution-Label",
		driftDrop: "agent_name",
		columns: []string{"channel_name", "reopened", "agent_name", "agent_id", "actor_type",
			"label_sub_category_id", "group_name", "user_name", "actor_name", "label_category_name",
			"created_at", "interaction_id", "interaction_raw_id", "group_id",
			"actor_belongs_to_group", "conversation_id", "label_category_id", "actor_id",
			"label_sub_category_name", "channel_id", "labelled_by_type"},
		actorTypes:    actorsLabel,
		agentOptional: true,
	},
	{
		name:      "CSAT-Score",
		driftDrop: "csat_response",
		columns: []string{"channel_name", "reopened", "agent_name", "agent_id", "csat_id",
			"csat_submitter_user_name", "csat_submitter_user_id", "group_name", "actor_name",
			"created_at", "has_response", "interaction_id", "interaction_raw_id", "issue_resolved",
			"group_id", "actor_belongs_to_group", "conversation_id", "csat_reopen", "csat_response",
			"actor_id", "channel_id", "value"},
		actorTypes: actorsNoUser,
	},
	{
		name:      "First-Response-Time",
		driftDrop: "group_name",
		columns: []string{"channel_name", "reopened", "agent_name", "agent_id", "group_name",
			"actor_name", "created_at", "interaction_id", "interaction_raw_id",
			"total_first_response_time_in_seconds", "group_id", "actor_belongs_to_group",
			"conversation_id", "value_in_seconds", "actor_id", "channel_id"},
		actorTypes:        actorsNoUser,
		agentOptional:     true,
		groupFollowsAgent: true,
	},
	{
		name:      "Response-Time",
		driftDrop: "actor_sub_type",
		columns: []string{"channel_name", "actor_sub_type", "reopened", "agent_name", "agent_id",
			"actor_type", "group_name", "actor_name", "created_at", "interaction_id",
			"interaction_raw_id", "group_id", "actor_belongs_to_group", "conversation_id",
			"value_in_seconds", "actor_id", "channel_id"},
		actorTypes:        actorsNoUser,
		agentOptional:     true,
		groupFollowsAgent: true,
	},
	{
		name:      "Resolution-Time",
		driftDrop: "actor_sub_type",
		columns: []string{"channel_name", "actor_sub_type", "reopened", "agent_name", "agent_id",
			"actor_type", "group_name", "actor_name", "created_at", "interaction_id",
			"interaction_raw_id", "group_id", "actor_belongs_to_group", "conversation_id",
			"value_in_seconds", "actor_id", "channel_id"},
		actorTypes:        actorsNoUser,
		agentOptional:     true,
		groupFollowsAgent: true,
		fractionalValue:   true,
	},
	{
		name:      "Conversation-Agent-Assigned",
		driftDrop: "actor_sub_type",
		columns: []string{"channel_id", "channel_name", "reopened", "agent_id", "agent_name",
			"group_id", "group_name", "actor_type", "actor_sub_type", "actor_id", "actor_name",
			"created_at", "interaction_id", "interaction_raw_id", "conversation_id",
			"value_in_seconds", "assignment_type"},
		actorTypes: actorsRouting,
	},
	{
		name:      "Conversation-Group-Assigned",
		driftDrop: "actor_sub_type",
		columns: []string{"channel_id", "channel_name", "reopened", "group_id", "group_name",
			"actor_type", "actor_sub_type", "actor_id", "actor_name", "created_at",
			"interaction_id", "interaction_raw_id", "conversation_id", "value_in_seconds",
			"previous_group_id"},
		actorTypes: actorsRouting,
	},
	{
		name:      "Agent-Activity",
		driftDrop: "agent_email",
		columns: []string{"agent_id", "agent_name", "agent_email", "group_id", "group_name",
			"status", "created_at", "duration_in_seconds", "status_reason"},
	},
	{
		name:      "Agent-Intelliassign-Activity",
		driftDrop: "group_name",
		columns: []string{"agent_id", "agent_name", "group_id", "group_name",
			"intelliassign_status", "created_at", "duration_in_seconds", "assigned_count"},
		groupOptional: true,
	},
})

// personNameColumns hold people's names: hostile rows put their hostile text there.
var personNameColumns = []string{"agent_name", "actor_name", "user_name", "csat_submitter_user_name"}

// keyColumns are the columns the connector builds Kafka keys from (see
// docs/CONTRACTS.md); header drift never drops them.
var keyColumns = []string{"interaction_id", "conversation_id", "agent_id", "actor_id"}

func buildEventDefs(defs []eventDef) []*eventDef {
	out := make([]*eventDef, len(defs))
	for i := range defs {
		d := defs[i]
		d.seed = stringSeed(d.name)
		d.createdAt = slices.Index(d.columns, "created_at")
		d.reopenedIdx = slices.Index(d.columns, "reopened")
		d.driftIdx = slices.Index(d.columns, d.driftDrop)
		if d.driftIdx < 0 || d.driftIdx == d.createdAt || slices.Contains(keyColumns, d.driftDrop) {
			panic("freshchattest: " + d.name + ": invalid drift column " + d.driftDrop)
		}
		d.hostileChannel = !slices.ContainsFunc(d.columns, func(c string) bool {
			return slices.Contains(personNameColumns, c)
		})
		d.cells = make([]cellFunc, len(d.columns))
		for j, c := range d.columns {
			f, ok := d.ownCells[c]
			if !ok {
				f, ok = cellFuncs[c]
			}
			if !ok {
				panic("freshchattest: no generator for column " + c)
			}
			d.cells[j] = f
		}
		out[i] = &d
	}
	return out
}

// lookupEvent finds one of the 12 reports or of the vendor events by its
// exact name.
func lookupEvent(name string) *eventDef {
	for _, defs := range [][]*eventDef{eventDefs, vendorDefs} {
		for _, d := range defs {
			if d.name == name {
				return d
			}
		}
	}
	return nil
}

// Events returns the 12 report event names the simulator serves, in canonical
// order. The list is the simulator's own and deliberately independent of the
// connector's schemas.
func Events() []string {
	out := make([]string, len(eventDefs))
	for i, d := range eventDefs {
		out[i] = d.name
	}
	return out
}

// Columns returns the canonical column order the simulator serves for event
// (one of Events or VendorEvents), including the extra columns of the
// unpublished reports (see docs/CONTRACTS.md). It returns nil for an unknown
// event. With Faults.ShuffleColumns the served order differs per file; the
// set of columns does not, unless Faults.HeaderDrift is on (see
// DriftColumns).
func Columns(event string) []string {
	d := lookupEvent(event)
	if d == nil {
		return nil
	}
	return slices.Clone(d.columns)
}

// generator produces the simulated data set: for each event and each UTC hour
// exactly rowsPerHour rows with distinct created_at milliseconds.
type generator struct {
	rowsPerHour int64
}

// slotTime returns created_at (unix ms) of slot i in the hour starting at hour.
// Slot i spans [hour + i*H/R, hour + (i+1)*H/R) and the row sits at a
// deterministic offset inside it, so timestamps are unique and ascending.
func (g generator) slotTime(d *eventDef, hour, i int64) int64 {
	lo := i * hourMillis / g.rowsPerHour
	hi := (i + 1) * hourMillis / g.rowsPerHour
	j := mix(d.seed ^ mix(uint64(hour)^uint64(i)<<1))
	return hour + lo + int64(j%uint64(hi-lo))
}

// firstSlot returns the first slot of hour whose created_at is >= from.
func (g generator) firstSlot(d *eventDef, hour, from int64) int64 {
	if from <= hour {
		return 0
	}
	// Slot i starts at or after from for i >= ceil((from-hour)*R/H); the slot
	// before that one may still hold a row >= from.
	i := (from-hour)*g.rowsPerHour/hourMillis - 1
	if i < 0 {
		i = 0
	}
	for i < g.rowsPerHour && g.slotTime(d, hour, i) < from {
		i++
	}
	return i
}

// first returns created_at (unix ms) of the first row with from <=
// created_at < to; ok is false when there is none.
func (g generator) first(d *eventDef, from, to int64) (ms int64, ok bool) {
	for hour := floorHour(from); hour < to; hour += hourMillis {
		if i := g.firstSlot(d, hour, from); i < g.rowsPerHour {
			ms = g.slotTime(d, hour, i)
			return ms, ms < to
		}
	}
	return 0, false
}

// each calls fn for every row with from <= created_at < to (unix ms), in
// ascending created_at order. row is reused between calls.
func (g generator) each(d *eventDef, from, to int64, fn func(ms int64, row []string) error) error {
	if from >= to {
		return nil
	}
	row := make([]string, len(d.columns))
	var c rowCtx
	for hour := floorHour(from); hour < to; hour += hourMillis {
		for i := g.firstSlot(d, hour, from); i < g.rowsPerHour; i++ {
			ms := g.slotTime(d, hour, i)
			if ms >= to {
				return nil
			}
			c.reset(d, ms)
			for j, cell := range d.cells {
				row[j] = cell(&c)
			}
			if err := fn(ms, row); err != nil {
				return err
			}
		}
	}
	return nil
}

// count returns the number of rows with from <= created_at < to without
// generating their cells.
func (g generator) count(d *eventDef, from, to int64) int64 {
	var n int64
	for hour := floorHour(from); hour < to; hour += hourMillis {
		if hour >= from && hour+hourMillis <= to {
			n += g.rowsPerHour
			continue
		}
		for i := g.firstSlot(d, hour, from); i < g.rowsPerHour; i++ {
			if g.slotTime(d, hour, i) >= to {
				break
			}
			n++
		}
	}
	return n
}

func floorHour(ms int64) int64 {
	h := ms / hourMillis * hourMillis
	if h > ms {
		h -= hourMillis
	}
	return h
}

// Rows returns the rows the simulator holds for event (one of Events or
// VendorEvents) with
// from <= created_at < to (half-open) and created_at <= Now(), in Columns
// order, created_at formatted as "2006-01-02T15:04:05.000Z", ascending by
// created_at. Values are the true values: Faults (timestamp format, column
// order, malformed cells, header drift) do not apply; ServedRows applies the
// header drift. It returns nil for an unknown event.
// Rows materialises the result; use small windows.
func (s *Server) Rows(event string, from, to time.Time) [][]string {
	d := lookupEvent(event)
	if d == nil {
		return nil
	}
	end := min(to.UnixMilli(), s.now().UnixMilli()+1)
	var out [][]string
	_ = s.gen.each(d, from.UnixMilli(), end, func(_ int64, row []string) error {
		out = append(out, slices.Clone(row))
		return nil
	})
	return out
}

// Count returns len(Rows(event, from, to)) without generating the rows, for
// checking large windows (a 1M-row benchmark) where Rows would not fit in
// memory. It returns 0 for an unknown event.
func (s *Server) Count(event string, from, to time.Time) int {
	d := lookupEvent(event)
	if d == nil {
		return 0
	}
	end := min(to.UnixMilli(), s.now().UnixMilli()+1)
	if from.UnixMilli() >= end {
		return 0
	}
	return int(s.gen.count(d, from.UnixMilli(), end))
}
