package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

// backfillOptions is a bounded backfill of events over [from, to) with
// adaptive windows: a first window of a day, then windows of up to two
// days (a stand-in for a calendar month that keeps the data small), and
// ahead reports submitted ahead.
func (e *env) backfillOptions(t *testing.T, events []string, from, to time.Time, ahead int) pipeline.Options {
	o := e.options(t, events, from, to)
	o.Planner.Window = 24 * time.Hour
	o.Planner.MaxWindow = 48 * time.Hour
	o.Planner.TargetRows = 1_000_000
	o.ReportsAhead = ahead
	o.Limits.Rows = 2000
	return o
}

// backfillSpan is days whole days ending where span's ranges end.
func backfillSpan(days int) (from, to time.Time) {
	_, to = span(0)
	return to.AddDate(0, 0, -days), to
}

// windowLog records the windows committed, per event, in order.
type windowLog struct {
	mu sync.Mutex
	by map[string][]pipeline.WindowDone
}

func (l *windowLog) add(d pipeline.WindowDone) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.by == nil {
		l.by = map[string][]pipeline.WindowDone{}
	}
	l.by[d.Event] = append(l.by[d.Event], d)
}

func (l *windowLog) of(event string) []pipeline.WindowDone {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]pipeline.WindowDone(nil), l.by[event]...)
}

// TestAdaptiveBackfillSubmitsAheadAndCommitsInOrder backfills nine days of
// two events: a day first, then windows of two days, each report submitted
// while the window before it is read. Every window is committed in order
// without a gap, each with one report, and every row lands exactly once.
func TestAdaptiveBackfillSubmitsAheadAndCommitsInOrder(t *testing.T) {
	e := newEnv(t, 12, freshchattest.Faults{PendingPolls: 1}, false)
	from, to := backfillSpan(9)
	events := []string{"Message-Sent", "CSAT-Score"}
	o := e.backfillOptions(t, events, from, to, 2)
	var log windowLog
	o.OnWindow = log.add
	require.NoError(t, run(t, o))

	for _, ev := range events {
		ws := log.of(ev)
		require.Len(t, ws, 5, "event %s: a day, then four windows of two days", ev)
		cursor := from
		for i, w := range ws {
			assert.Equal(t, cursor, w.Window.Start, "window %d of %s follows the one before", i, ev)
			cursor = w.Window.End
		}
		assert.Equal(t, to, cursor)
		assert.Equal(t, from.Add(24*time.Hour), ws[0].Window.End)
		e.assertExactlyOnce(t, ev, o.Topic(ev), from, to)
	}
	assert.Equal(t, 10, e.sim.Stats().Submits, "one report a window: none submitted twice")
	assert.Contains(t, e.logs.String(), "ahead=true", "reports were submitted ahead")
}

// TestRestartWithTwoReportsInFlightPollsThem stops a backfill while the
// report of the window in progress and two reports ahead are pending (the
// checkpoint lists them), and restarts it: the restart polls those three
// reports instead of submitting them again, and every row lands once.
func TestRestartWithTwoReportsInFlightPollsThem(t *testing.T) {
	clock := &simClock{world: freshchattest.ClockFrom(worldStart)}
	e := newEnvWith(t, freshchattest.Options{Token: token, RowsPerHour: 12, Now: clock.Now})
	from, to := backfillSpan(9)
	const ev = "Message-Sent"
	o := e.backfillOptions(t, []string{ev}, from, to, 2)
	o.OnWindow = func(d pipeline.WindowDone) {
		// Reports submitted from now on stay pending for an hour.
		e.sim.SetFaults(freshchattest.Faults{ReportLatency: time.Hour})
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := pipeline.New(ctx, o)
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- p.Run(runCtx) }()
	var inFlight checkpoint.Position
	require.Eventually(t, func() bool {
		inFlight = p.Committed()[ev]
		return len(inFlight.Ahead) == 2 && inFlight.Ahead[1].ReportID != ""
	}, time.Minute, 5*time.Millisecond, "the checkpoint lists two reports ahead")
	stop()
	require.ErrorIs(t, <-ran, context.Canceled)
	require.NoError(t, p.Close(ctx))

	assert.False(t, inFlight.Done)
	assert.NotEmpty(t, inFlight.ReportID, "the window in progress has its report")
	assert.Equal(t, inFlight.WindowEnd, inFlight.Ahead[0].WindowStart)
	assert.Equal(t, inFlight.Ahead[0].WindowEnd, inFlight.Ahead[1].WindowStart)
	assert.Equal(t, 4, e.sim.Stats().Submits, "the first window, the one in progress and two ahead")

	// An hour later (on the simulator's clock) the three reports are ready.
	clock.advance(2 * time.Hour)
	e.sim.SetFaults(freshchattest.Faults{})
	o.OnWindow = nil
	require.NoError(t, run(t, o))

	lines := strings.Split(e.logs.String(), "\n")
	for _, id := range []string{inFlight.ReportID, inFlight.Ahead[0].ReportID, inFlight.Ahead[1].ReportID} {
		polled := slices.ContainsFunc(lines, func(l string) bool {
			return strings.Contains(l, `msg="resuming freshchat report"`) && strings.Contains(l, "report="+id)
		})
		assert.True(t, polled, "report %s polled again", id)
	}
	assert.Equal(t, 5, e.sim.Stats().Submits, "the restart submitted the last window only")
	e.assertExactlyOnce(t, ev, o.Topic(ev), from, to)
}

// TestWindowSplitWhenRefusedOrFailing backfills against an API that
// refuses windows longer than a day and fails reports of more than 150
// rows: after a first window of 12 hours, the next of two days is refused
// and split, its first day fails and is split again; later windows are no
// longer than the part that went through, and every row lands once.
func TestWindowSplitWhenRefusedOrFailing(t *testing.T) {
	e := newEnv(t, 12, freshchattest.Faults{MaxReportRows: 150}, false)
	front := httptest.NewServer(refuseLonger(e.sim, 24*time.Hour))
	t.Cleanup(front.Close)
	e.sim.SetBaseURL(front.URL)
	from, to := backfillSpan(5)
	const ev = "CSAT-Score"
	o := e.backfillOptions(t, []string{ev}, from, to, 1)
	o.Planner.Window = 12 * time.Hour
	var log windowLog
	o.OnWindow = log.add
	require.NoError(t, run(t, o))

	ws := log.of(ev)
	cursor := from
	for _, w := range ws {
		assert.Equal(t, cursor, w.Window.Start)
		assert.LessOrEqual(t, w.Rows, int64(150), "window %s", w.Window)
		cursor = w.Window.End
	}
	assert.Equal(t, to, cursor)
	e.assertExactlyOnce(t, ev, o.Topic(ev), from, to)
	logs := e.logs.String()
	assert.Contains(t, logs, "freshchat refused the report; splitting the window")
	assert.Contains(t, logs, "freshchat reports of the window keep failing; splitting it")
	assert.Equal(t, 1, strings.Count(logs, "freshchat refused the report; splitting"), "once split, windows stay short")
}

// refuseLonger answers 400 to submits of windows longer than d, as an API
// with a lower limit than a calendar month would, and passes everything
// else to next.
func refuseLonger(next http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/reports/raw") {
			body, _ := io.ReadAll(r.Body)
			var req struct{ Start, End string }
			_ = json.Unmarshal(body, &req)
			start, _ := time.Parse(time.RFC3339Nano, req.Start)
			end, _ := time.Parse(time.RFC3339Nano, req.End)
			if end.Sub(start) >= d {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"code":400,"status":"BAD_REQUEST","message":"report too large"}`))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		next.ServeHTTP(w, r)
	})
}

// simClock is the test world's time plus an offset the test moves
// forward.
type simClock struct {
	world  func() time.Time
	mu     sync.Mutex
	offset time.Duration
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.world().Add(c.offset)
}

func (c *simClock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}
