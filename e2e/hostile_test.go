package e2e_test

import (
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/cli"
	"github.com/freshstream/freshchat-kafka/internal/kafkatest"
	"github.com/freshstream/freshchat-kafka/internal/kread"
	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/schemas"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

// Four events with a reopened column (so some of their cells are
// malformed), Agent-Activity without one, and a vendor event the connector
// derives a schema for.
var hostileEvents = []string{
	"Conversation-Created",
	"Message-Sent",
	"CSAT-Score",
	"Conversation-Agent-Assigned",
	"Agent-Activity",
	"classic",
}

const (
	hostileWindow   = 90 * time.Minute
	hostileDLQTopic = "freshchat.dlq"
	// javaTimestampLayout reads created_at as AltTimestamps serves it.
	javaTimestampLayout = "2006-01-02 15:04:05.999999999"
)

// hostileFaults turns every knob of the simulator up at once.
var hostileFaults = freshchattest.Faults{
	RateLimitEvery:   9,
	RetryAfter:       time.Second,
	ServerErrorEvery: 7,
	FailJobs:         2,
	PendingPolls:     2,
	LinkTTL:          300 * time.Millisecond,
	// LinkTTL fires only when a link waits long enough; this fires for sure.
	ExpireDownloadEvery: 5,
	CutDownloadEvery:    4,
	LinksPerReport:      2,
	FilesPerZip:         2,
	MalformedEvery:      50,
	HeaderDrift:         true,
	BOM:                 true,
	CRLF:                true,
	AltTimestamps:       true,
	ShuffleColumns:      true,
}

// TestHostileWorldBoundedRun is the acceptance run of "a hostile world": a
// bounded run, started once as a new user would, against a simulator with
// every fault knob turned up (429s under a request budget, 503s, FAILED
// jobs, expiring links, cut downloads, malformed cells, drifting and
// shuffled headers, BOM, CRLF, Java timestamps) and a broker restart in the
// middle. It must exit 0 having put every good row on its topic exactly
// once, every malformed row on the dead-letter topic with its cause, and
// checkpoints whose counts add up.
func TestHostileWorldBoundedRun(t *testing.T) {
	to := rangeEnd()
	from := to.Add(-5 * time.Hour)

	reg := srfake.New()
	t.Cleanup(reg.Close)
	broker := kafkatest.StartBroker(t, kfake.DataDir(t.TempDir()))
	h := newHarnessOn(t, broker, freshchattest.Options{RowsPerHour: 2400, Faults: hostileFaults}, hostileEvents, map[string]string{
		"FRESHCHAT_WINDOW": hostileWindow.String(),
		// Fixed windows, so that the checkpoints follow planWindows; the
		// reports are still submitted ahead (reports_ahead's default).
		"FRESHCHAT_TARGET_REPORT_ROWS":  "0",
		"KAFKA_CHUNK_ROWS":              "300",
		"FRESHCHAT_REQUESTS_PER_MINUTE": "1200",
		"DEAD_LETTER_POLICY":            "dlq",
		"DEAD_LETTER_TOPIC":             hostileDLQTopic,
		"SCHEMA_REGISTRY_URL":           reg.URL(),
	})
	windows := planWindows(from, to, hostileWindow)
	want := map[string]*expectedRows{}
	for _, ev := range hostileEvents {
		want[ev] = expectServed(t, h.sim, ev, windows, hostileFaults.LinksPerReport, hostileFaults.MalformedEvery)
	}
	t.Logf("range [%s, %s), %d events, %d windows each", from.Format(time.RFC3339), to.Format(time.RFC3339), len(hostileEvents), len(windows))

	run := h.start("hostile", runArgs(from, to)...)
	// Restart the broker in the middle: once about a third of the chunks
	// the range needs (plus the checkpoints of the submits) are committed,
	// and while a transaction is open, so that the restart cuts one.
	var rows int
	for _, w := range want {
		rows += len(w.rows)
	}
	committed := h.waitForCheckpoints(rows/300/3+len(hostileEvents)*len(windows), run)
	h.waitForOpenTransaction(run, append(h.eventTopics(), hostileDLQTopic)...)
	h.restartBroker(run)
	t.Logf("broker restarted with a transaction open, after %d checkpoint records", committed)
	require.Equal(t, cli.ExitOK, h.wait(run), "exit code of the bounded run")
	log := run.log(t)

	registry, err := sr.NewClient(sr.URLs(reg.URL()))
	require.NoError(t, err)
	cps := h.finalCheckpoints(windows)
	deadLetters := h.readDeadLetters()
	var resubmits int
	for _, ev := range hostileEvents {
		w := want[ev]
		h.assertGoodRowsOnce(registry, ev, w, cps[ev])
		h.assertBadRowsDeadLettered(ev, w, cps[ev], deadLetters[ev])
		h.assertCountsAddUp(ev, w, cps[ev], windows)
		for _, c := range cps[ev] {
			resubmits += len(c.reports) - 1
		}
	}
	for ev, dls := range deadLetters {
		assert.Contains(t, hostileEvents, ev, "dead letters of an event not extracted (%d)", len(dls))
	}
	h.assertNoOpenTransaction(append(h.allTopics(), hostileDLQTopic)...)

	// The faults really fired, and the token never left the API.
	st := h.sim.Stats()
	t.Logf("simulator: %d submits, %d polls, %d downloads (%d cut), statuses %v", st.Submits, st.Gets, st.Downloads, st.CutDownloads, st.Status)
	assert.Positive(t, st.Status[429], "no request was rate-limited")
	assert.Positive(t, st.Status[503], "no request failed with 503")
	assert.Positive(t, st.CutDownloads, "no download was cut")
	assert.Zero(t, st.AuthOnDownload, "downloads that carried the API token")
	assert.NotContains(t, log, simToken, "the log shows the API token")
	var failed int
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, `msg="freshchat report cannot be read, submitting again"`) && strings.Contains(line, "reason=FAILED") {
			failed++
		}
	}
	assert.GreaterOrEqual(t, failed, hostileFaults.FailJobs, "FAILED jobs submitted again, by the log")
	assert.GreaterOrEqual(t, resubmits, hostileFaults.FailJobs, "windows whose checkpoints name more than one report")
	refreshed := strings.Count(log, `msg="freshchat download link refused, fetching fresh links"`)
	assert.Positive(t, st.ExpiredDownloads, "no download was refused as expired")
	assert.GreaterOrEqual(t, refreshed, st.ExpiredDownloads, "every expired link was refreshed, by the log")
	t.Logf("FAILED reports submitted again: %d; expired links refreshed: %d; windows that failed and resumed from their last commit: %d",
		failed, refreshed,
		strings.Count(log, `msg="window failed; resuming from the last commit after a pause"`))
}

// restartBroker stops the broker, waits for c to find it gone, and
// starts it again: the same address and data folder bring back the same
// broker.
func (h *harness) restartBroker(c *connector) {
	h.t.Helper()
	const unreachable = "kafka brokers unreachable"
	before := strings.Count(c.log(h.t), unreachable)
	h.broker.Stop()
	h.waitForLog(c, unreachable, before)
	h.broker.Start()
}

// window is one half-open window of a bounded walk.
type window struct{ start, end time.Time }

func (w window) String() string {
	return w.start.UTC().Format(createdAtLayout) + "/" + w.end.UTC().Format(createdAtLayout)
}

// planWindows are the windows a bounded run over [from, to) walks through.
func planWindows(from, to time.Time, size time.Duration) []window {
	var out []window
	for s := from; s.Before(to); s = s.Add(size) {
		end := s.Add(size)
		if end.After(to) {
			end = to
		}
		out = append(out, window{s, end})
	}
	return out
}

// servedRow is one row as the simulator served it.
type servedRow struct {
	window    int
	link      int
	header    []string // canonical order; the file may shuffle it
	cells     map[string]string
	bad       bool // its reopened cell was served as "maybe"
	createdAt string
}

// expectedRows are an event's served rows by created_at.
type expectedRows struct {
	rows              map[string]*servedRow
	good, bad         int
	derived, reopened bool
}

// expectServed lists the rows of event served over windows, each report
// split into links sub-periods as the simulator splits it, and marks the
// malformed ones: the malformedEvery-th, 2*malformedEvery-th, ... row of
// each link, in an event with a reopened column.
func expectServed(t *testing.T, sim *freshchattest.Server, event string, windows []window, links, malformedEvery int) *expectedRows {
	t.Helper()
	_, err := schemas.Lookup(event)
	exp := &expectedRows{rows: map[string]*servedRow{}, derived: err != nil,
		reopened: slices.Contains(freshchattest.Columns(event), "reopened")}
	for wi, w := range windows {
		start, span := w.start.UnixMilli(), w.end.UnixMilli()-w.start.UnixMilli()
		for k := range int64(links) {
			lf, lt := time.UnixMilli(start+k*span/int64(links)), time.UnixMilli(start+(k+1)*span/int64(links))
			headers, rows := sim.ServedRows(event, lf, lt)
			for i, row := range rows {
				r := &servedRow{window: wi, link: int(k), header: headers[i], cells: map[string]string{}}
				for j, c := range headers[i] {
					r.cells[c] = row[j]
				}
				r.createdAt = r.cells[schemas.CreatedAtField]
				r.bad = exp.reopened && (i+1)%malformedEvery == 0
				if _, dup := exp.rows[r.createdAt]; dup {
					require.Failf(t, "simulator", "%s: served %s twice", event, r.createdAt)
				}
				exp.rows[r.createdAt] = r
				if r.bad {
					exp.bad++
				} else {
					exp.good++
				}
			}
		}
	}
	require.Positive(t, exp.good, "%s: no good rows served", event)
	headers := map[string]bool{}
	for _, r := range exp.rows {
		headers[strings.Join(r.header, ",")] = true
	}
	require.GreaterOrEqual(t, len(headers), 3, "%s: the header drifts both ways over the range", event)
	require.Equal(t, exp.reopened, exp.bad > 0, "%s: malformed rows served iff it has a reopened column", event)
	return exp
}

// windowCheckpoint is the last committed checkpoint of one window, and
// every report its checkpoints named, in order.
type windowCheckpoint struct {
	final   checkpoint.Position
	reports []string
}

// finalCheckpoints groups the committed checkpoints by event and window
// (indexed as in windows); a window of no plan is a test failure.
func (h *harness) finalCheckpoints(windows []window) map[string]map[int]*windowCheckpoint {
	h.t.Helper()
	out := map[string]map[int]*windowCheckpoint{}
	for _, p := range h.checkpoints() {
		wi := slices.IndexFunc(windows, func(w window) bool { return w.start.Equal(p.WindowStart) && w.end.Equal(p.WindowEnd) })
		if !assert.GreaterOrEqual(h.t, wi, 0, "%s: checkpoint of a window not in the plan: %+v", p.Event, p) {
			continue
		}
		if out[p.Event] == nil {
			out[p.Event] = map[int]*windowCheckpoint{}
		}
		c := out[p.Event][wi]
		if c == nil {
			c = &windowCheckpoint{}
			out[p.Event][wi] = c
		}
		c.final = p
		if p.ReportID != "" && !slices.Contains(c.reports, p.ReportID) {
			c.reports = append(c.reports, p.ReportID)
		}
	}
	return out
}

// assertCountsAddUp checks that every window has a final checkpoint, done,
// with rows == produced + dead_lettered, and that the sums over the
// windows are the served, good and malformed row counts.
func (h *harness) assertCountsAddUp(event string, want *expectedRows, cps map[int]*windowCheckpoint, windows []window) {
	t := h.t
	t.Helper()
	var rows, produced, dead int64
	for wi, w := range windows {
		c, ok := cps[wi]
		if !assert.True(t, ok, "%s: no checkpoint for window %s", event, w) {
			continue
		}
		p := c.final
		assert.True(t, p.Done, "%s window %s: last checkpoint not done: %+v", event, w, p)
		assert.Equal(t, p.Rows, p.Produced+p.DeadLettered, "%s window %s: rows != produced + dead_lettered", event, w)
		rows, produced, dead = rows+p.Rows, produced+p.Produced, dead+p.DeadLettered
	}
	assert.EqualValues(t, len(want.rows), rows, "%s: rows read by the final checkpoints", event)
	assert.EqualValues(t, want.good, produced, "%s: rows produced by the final checkpoints", event)
	assert.EqualValues(t, want.bad, dead, "%s: rows dead-lettered by the final checkpoints", event)
}

// provenance checks the headers every record carries against the served
// row: event, window, the report of the window's final checkpoint, the
// link of the file and a line after the header.
func provenance(at, event string, r *servedRow, cps map[int]*windowCheckpoint, headers map[string]string) []string {
	var bad []string
	check := func(ok bool, format string, args ...any) {
		if !ok {
			bad = append(bad, at+": "+fmt.Sprintf(format, args...))
		}
	}
	check(headers[pipeline.HeaderEvent] == event, "header %s = %q", pipeline.HeaderEvent, headers[pipeline.HeaderEvent])
	if c, ok := cps[r.window]; ok {
		w := window{c.final.WindowStart, c.final.WindowEnd}
		check(headers[pipeline.HeaderWindow] == w.String(), "header %s = %q, want %q", pipeline.HeaderWindow, headers[pipeline.HeaderWindow], w)
		check(headers[pipeline.HeaderReportID] == c.final.ReportID, "header %s = %q, want the final report %q", pipeline.HeaderReportID, headers[pipeline.HeaderReportID], c.final.ReportID)
	}
	check(strings.HasPrefix(headers[pipeline.HeaderFile], fmt.Sprintf("link%d/", r.link)), "header %s = %q, want a file of link %d", pipeline.HeaderFile, headers[pipeline.HeaderFile], r.link)
	line, err := strconv.ParseInt(headers[pipeline.HeaderLine], 10, 64)
	check(err == nil && line > 1, "header %s = %q", pipeline.HeaderLine, headers[pipeline.HeaderLine])
	return bad
}

// registryRecord is one record decoded through the schema registry.
type registryRecord struct {
	at      string
	key     []byte
	value   map[string]any
	headers map[string]string
}

// readRegistryTopic reads topic as read_committed and decodes every value
// as a registry-aware consumer does: Confluent framing, writer schema by ID.
func (h *harness) readRegistryTopic(registry *sr.Client, topic string) []registryRecord {
	h.t.Helper()
	cache := map[int]avro.Schema{}
	var out []registryRecord
	var bad error
	err := kread.Each(h.ctx, h.kafka, topic, func(r *kgo.Record) {
		if bad != nil {
			return
		}
		at := fmt.Sprintf("%s partition %d offset %d", r.Topic, r.Partition, r.Offset)
		if len(r.Value) < 5 || r.Value[0] != 0 {
			bad = fmt.Errorf("%s: not in the Confluent wire format: % x", at, r.Value[:min(len(r.Value), 5)])
			return
		}
		id := int(binary.BigEndian.Uint32(r.Value[1:5]))
		schema, ok := cache[id]
		if !ok {
			ss, err := registry.SchemaByID(h.ctx, id)
			if err != nil {
				bad = fmt.Errorf("%s: schema %d: %w", at, id, err)
				return
			}
			if schema, err = avro.Parse(ss.Schema); err != nil {
				bad = fmt.Errorf("%s: schema %d: %w", at, id, err)
				return
			}
			cache[id] = schema
		}
		var v map[string]any
		if err := avro.Unmarshal(schema, r.Value[5:], &v); err != nil {
			bad = fmt.Errorf("%s: %w", at, err)
			return
		}
		out = append(out, registryRecord{at: at, key: slices.Clone(r.Key), value: v, headers: headerMap(r)})
	})
	require.NoError(h.t, err, "reading %s", topic)
	require.NoError(h.t, bad)
	return out
}

func headerMap(r *kgo.Record) map[string]string {
	m := make(map[string]string, len(r.Headers))
	for _, hd := range r.Headers {
		m[hd.Key] = string(hd.Value)
	}
	return m
}

// unseen lists, sorted, the created_at of the served rows that seen never
// counted: the malformed ones when bad, else the good ones.
func (e *expectedRows) unseen(seen map[string]int, bad bool) []string {
	var out []string
	for created, r := range e.rows {
		if r.bad == bad && seen[created] == 0 {
			out = append(out, created)
		}
	}
	slices.Sort(out)
	return out
}

// finding is a kind of discrepancy and where it was found.
type finding struct {
	what  string
	where []string
}

// assertNone asserts that each finding of event is empty, showing the
// first 20 places of one that is not.
func assertNone(t *testing.T, event string, fs []finding) {
	t.Helper()
	for _, f := range fs {
		assert.Empty(t, first(f.where, 20), "%s: %s (%d in all)", event, f.what, len(f.where))
	}
}

// assertGoodRowsOnce checks that the event's topic holds every good served
// row exactly once and nothing else: matched on created_at, keyed by the
// documented fallback, with its provenance, reopened typed, and the header
// drift visible (a dropped column null, the added one carried).
func (h *harness) assertGoodRowsOnce(registry *sr.Client, event string, want *expectedRows, cps map[int]*windowCheckpoint) {
	t := h.t
	t.Helper()
	got := h.readRegistryTopic(registry, topic(event))
	seen := map[string]int{}
	var dups, extra, malformed, wrong []string
	for _, rec := range got {
		ts, ok := rec.value[schemas.CreatedAtField].(time.Time)
		if !ok {
			wrong = append(wrong, fmt.Sprintf("%s: created_at is %T", rec.at, rec.value[schemas.CreatedAtField]))
			continue
		}
		created := ts.UTC().Format(createdAtLayout)
		seen[created]++
		if seen[created] == 2 {
			dups = append(dups, created)
		}
		r, ok := want.rows[created]
		switch {
		case !ok:
			extra = append(extra, created)
			continue
		case r.bad:
			malformed = append(malformed, created)
			continue
		}
		at := rec.at + " created_at " + created
		wrong = append(wrong, provenance(at, event, r, cps, rec.headers)...)
		if k := expectedKey(r.header, headerCells(r)); !slices.Equal(k, rec.key) {
			wrong = append(wrong, fmt.Sprintf("%s: key %q, want %q", at, rec.key, k))
		}
		wrong = append(wrong, valueMismatches(at, event, want, r, rec.value)...)
	}
	slices.Sort(extra)
	assertNone(t, event, []finding{
		{"rows delivered more than once", dups},
		{"good rows never delivered", want.unseen(seen, false)},
		{"rows the simulator never served", extra},
		{"malformed rows produced to the topic", malformed},
		{"records not as served", wrong},
	})
	assert.Equal(t, want.good, len(got), "%s: records on %s", event, topic(event))
}

// headerCells are r's cells in the order of r.header.
func headerCells(r *servedRow) []string {
	out := make([]string, len(r.header))
	for i, c := range r.header {
		out[i] = r.cells[c]
	}
	return out
}

// valueMismatches compares the decoded value with what header drift and
// the reopened cell say it must hold.
func valueMismatches(at, event string, want *expectedRows, r *servedRow, v map[string]any) []string {
	var bad []string
	if want.reopened {
		var cell any
		if s := r.cells["reopened"]; s != "" {
			cell = s == "true"
		}
		if v["reopened"] != cell {
			bad = append(bad, fmt.Sprintf("%s: reopened %v, served %q", at, v["reopened"], r.cells["reopened"]))
		}
	}
	for _, c := range freshchattest.Columns(event) {
		if _, served := r.cells[c]; !served && v[c] != nil {
			bad = append(bad, fmt.Sprintf("%s: column %s was not served but holds %v", at, c, v[c]))
		}
	}
	_, added := r.cells["drift_added"]
	var carried any
	if want.derived {
		carried = v["drift_added"]
	} else if extra, ok := v[schemas.ExtraColumnsField].(map[string]any); ok {
		carried = extra["drift_added"]
	}
	switch {
	case added && carried != r.cells["drift_added"]:
		bad = append(bad, fmt.Sprintf("%s: drift_added %v, served %q", at, carried, r.cells["drift_added"]))
	case !added && carried != nil:
		bad = append(bad, fmt.Sprintf("%s: drift_added %v, not served", at, carried))
	}
	return bad
}

// deadLetter is one dead-letter record, decoded.
type deadLetter struct {
	at      string
	key     []byte
	headers map[string]string
	value   pipeline.DeadLetter
}

// readDeadLetters reads the dead-letter topic as read_committed, by event.
func (h *harness) readDeadLetters() map[string][]deadLetter {
	h.t.Helper()
	out := map[string][]deadLetter{}
	var bad error
	err := kread.Each(h.ctx, h.kafka, hostileDLQTopic, func(r *kgo.Record) {
		if bad != nil {
			return
		}
		d := deadLetter{at: fmt.Sprintf("%s partition %d offset %d", r.Topic, r.Partition, r.Offset), key: slices.Clone(r.Key), headers: headerMap(r)}
		if err := json.Unmarshal(r.Value, &d.value); err != nil {
			bad = fmt.Errorf("%s: %w", d.at, err)
			return
		}
		out[d.value.Event] = append(out[d.value.Event], d)
	})
	require.NoError(h.t, err, "reading %s", hostileDLQTopic)
	require.NoError(h.t, bad)
	return out
}

// assertBadRowsDeadLettered checks that the dead-letter topic holds every
// malformed row of the event exactly once and no other row, each with its
// column, value and cause, its provenance, and the raw line: the served
// cells under the served header, reopened=maybe.
func (h *harness) assertBadRowsDeadLettered(event string, want *expectedRows, cps map[int]*windowCheckpoint, dls []deadLetter) {
	t := h.t
	t.Helper()
	seen := map[string]int{}
	var dups, notBad, wrong []string
	for _, d := range dls {
		dl := d.value
		fields, err := csv.NewReader(strings.NewReader(dl.Raw)).Read()
		if err != nil || len(fields) != len(dl.Header) {
			wrong = append(wrong, fmt.Sprintf("%s: raw line %q does not parse to the %d columns of its header (%v)", d.at, dl.Raw, len(dl.Header), err))
			continue
		}
		cells := map[string]string{}
		for i, c := range dl.Header {
			cells[c] = fields[i]
		}
		ts, err := parseServedTime(cells[schemas.CreatedAtField])
		if err != nil {
			wrong = append(wrong, fmt.Sprintf("%s: created_at of the raw line: %v", d.at, err))
			continue
		}
		created := ts.UTC().Format(createdAtLayout)
		seen[created]++
		if seen[created] == 2 {
			dups = append(dups, created)
		}
		r, ok := want.rows[created]
		if !ok || !r.bad {
			notBad = append(notBad, fmt.Sprintf("%s (served: %v)", created, ok))
			continue
		}
		at := d.at + " created_at " + created
		check := func(ok bool, format string, args ...any) {
			if !ok {
				wrong = append(wrong, at+": "+fmt.Sprintf(format, args...))
			}
		}
		check(dl.Column == "reopened" && dl.Value == "maybe", "column %q value %q, want reopened, maybe", dl.Column, dl.Value)
		check(strings.Contains(dl.Cause, "boolean"), "cause %q", dl.Cause)
		wrong = append(wrong, provenance(at, event, r, cps, d.headers)...)
		if c, ok := cps[r.window]; ok {
			check(dl.Window == window{c.final.WindowStart, c.final.WindowEnd}.String(), "window %q", dl.Window)
			check(dl.ReportID == c.final.ReportID, "report %q, want the final report %q", dl.ReportID, c.final.ReportID)
		}
		check(dl.File == d.headers[pipeline.HeaderFile], "file %q, header says %q", dl.File, d.headers[pipeline.HeaderFile])
		check(strconv.FormatInt(dl.Line, 10) == d.headers[pipeline.HeaderLine], "line %d, header says %q", dl.Line, d.headers[pipeline.HeaderLine])
		check(slices.Equal(sorted(dl.Header), sorted(r.header)), "header %q, served %q", dl.Header, r.header)
		for c, v := range r.cells {
			switch c {
			case "reopened":
				check(cells[c] == "maybe", "raw reopened %q", cells[c])
			case schemas.CreatedAtField:
			default:
				check(cells[c] == v, "raw %s %q, served %q", c, cells[c], v)
			}
		}
		if k := expectedKey(r.header, headerCells(r)); !slices.Equal(k, d.key) {
			check(false, "key %q, want %q", d.key, k)
		}
	}
	slices.Sort(notBad)
	assertNone(t, event, []finding{
		{"rows dead-lettered more than once", dups},
		{"malformed rows never dead-lettered", want.unseen(seen, true)},
		{"dead letters of rows that were not malformed", notBad},
		{"dead letters not as served", wrong},
	})
	assert.Equal(t, want.bad, len(dls), "%s: dead letters", event)
}

// parseServedTime reads created_at as ISO-8601 or as AltTimestamps serves it.
func parseServedTime(s string) (time.Time, error) {
	if ts, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return ts, nil
	}
	return time.Parse(javaTimestampLayout, s)
}

func sorted(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return out
}
