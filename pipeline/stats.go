package pipeline

import (
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/source"
)

// eventStats is what one event has done since the process started.
type eventStats struct {
	mu        sync.Mutex
	event     string
	from      time.Time // the event's first cursor in this run: where its progress is measured from
	cursor    time.Time
	windows   int64
	rows      int64
	dead      int64
	lastEnd   time.Time
	startedAt time.Time
	committed checkpoint.Position // the newest position committed (or read at start)

	// For the backfill estimate (see EstimateBackfill).
	clock   func() time.Time
	latency time.Duration // moving average of the reports' latency, submit to ready; 0: none seen
	read    time.Duration // moving average of the time from a report ready to its window committed
	readyAt time.Time     // when the report of the window in progress was ready
}

// setClock sets the clock that times reports and reads.
func (s *eventStats) setClock(now func() time.Time) {
	s.mu.Lock()
	s.clock = now
	s.mu.Unlock()
}

// reportReady records that the report of the window in progress was ready
// at at, latency after its submit (0: unknown). An upper bound (the report
// was ready when first polled) only lowers the estimate.
func (s *eventStats) reportReady(at time.Time, latency time.Duration, upperBound bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readyAt = at
	if latency > 0 && (!upperBound || s.latency == 0 || latency < s.latency) {
		s.latency = average(s.latency, latency)
	}
}

// average is a moving average that weighs the newest value 1/3; the first
// value stands alone.
func average(avg, v time.Duration) time.Duration {
	if avg <= 0 {
		return v
	}
	return avg + (v-avg)/3
}

// started is when the event's stats began: the run's start.
func (s *eventStats) started() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.startedAt
}

// timings returns the moving averages of report latency and read time.
func (s *eventStats) timings() (latency, read time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latency, s.read
}

func (s *eventStats) setCommitted(p checkpoint.Position) {
	s.mu.Lock()
	s.committed = p
	s.mu.Unlock()
}

func (s *eventStats) lastCommitted() checkpoint.Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.committed
}

// setCursor records where the event stands. The first cursor of the run
// (the checkpoint's Next(), the window in progress or the start) is the
// baseline that progress and ETA are measured from.
func (s *eventStats) setCursor(t time.Time) {
	s.mu.Lock()
	s.cursor = t
	if s.from.IsZero() {
		s.from = t
	}
	s.mu.Unlock()
}

func (s *eventStats) addRows(n int64) {
	s.mu.Lock()
	s.rows += n
	s.mu.Unlock()
}

func (s *eventStats) addDeadLettered(n int64) {
	s.mu.Lock()
	s.dead += n
	s.mu.Unlock()
}

func (s *eventStats) windowDone(w source.Window) {
	s.mu.Lock()
	s.windows++
	if s.from.IsZero() {
		s.from = w.Start
	}
	s.cursor, s.lastEnd = w.End, w.End
	if !s.readyAt.IsZero() && s.clock != nil {
		s.read = average(s.read, max(s.clock().Sub(s.readyAt), time.Millisecond))
		s.readyAt = time.Time{}
	}
	s.mu.Unlock()
}

// Progress is a snapshot of one event's progress.
type Progress struct {
	Event   string
	Windows int64     // windows committed since start
	Rows    int64     // rows committed since start
	Cursor  time.Time // where the event stands
	Target  time.Time // where the walk is heading (bounded: --to; live: now - settle)
	Percent float64   // share of the span from the run's first cursor to Target that is done
	// ETA is the time the event's backfill has left: estimated from its
	// windows left, its report latency and read time and the API budgets
	// (see EstimateBackfill), or, without a source to estimate with, at the
	// rate the span has been walked since start.
	ETA  time.Duration
	Rate float64 // rows per second since start
	// WindowsLeft estimates the windows still to extract up to Target.
	WindowsLeft int64
	// ReportsAhead counts the windows ahead whose report is submitted.
	ReportsAhead int
	// DeadLettered counts rows sent to the dead-letter topic since start.
	DeadLettered int64
}

func (s *eventStats) snapshot(now time.Time, target time.Time, window time.Duration) Progress {
	// Windows have millisecond bounds, so a walk bounded by a --to with a
	// finer fraction (--to defaults to now, to the nanosecond) ends on
	// that millisecond: measured against the exact instant it would never
	// reach 100% nor run out of windows.
	target = target.Truncate(time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	p := Progress{Event: s.event, Windows: s.windows, Rows: s.rows, Cursor: s.cursor, Target: target, DeadLettered: s.dead}
	if left := target.Sub(s.cursor); !s.cursor.IsZero() && left > 0 && window > 0 {
		p.WindowsLeft = int64((left + window - 1) / window)
	}
	if el := now.Sub(s.startedAt).Seconds(); el > 0 {
		p.Rate = float64(s.rows) / el
	}
	// Progress is measured from where the event began in this run (set by
	// its first cursor), not from where it stood at the first snapshot.
	span := target.Sub(s.from)
	done := max(s.cursor.Sub(s.from), 0)
	switch {
	case s.cursor.IsZero() || s.from.IsZero():
	case span <= 0 || done >= span:
		p.Percent = 100
	default:
		p.Percent = 100 * float64(done) / float64(span)
		if el := now.Sub(s.startedAt); done > 0 {
			p.ETA = time.Duration(float64(el) * float64(span-done) / float64(done))
		}
	}
	return p
}

func (p Progress) logAttrs() []any {
	attrs := []any{
		slog.String("event", p.Event),
		slog.String("position", p.Cursor.UTC().Format(time.RFC3339)),
		slog.String("percent", formatPercent(p.Percent)),
		slog.Int64("windows", p.Windows),
		slog.Int64("rows", p.Rows),
		slog.Int64("rows_per_sec", int64(p.Rate)),
	}
	if p.ETA > 0 {
		attrs = append(attrs, slog.String("eta", p.ETA.Round(time.Second).String()))
	}
	return attrs
}

func formatPercent(f float64) string {
	return strconv.FormatFloat(f, 'f', 1, 64) + "%"
}
