package pipeline

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/freshstream/freshchat-kafka/source"
)

// walk commits n windows of length w from the stats' cursor on, as the
// runner does: the cursor is set where each window starts, then moved to
// its end once committed.
func walk(s *eventStats, n int, w time.Duration) {
	for range n {
		start := s.cursor
		s.setCursor(start)
		s.windowDone(source.Window{Start: start, End: start.Add(w)})
		s.addRows(100)
	}
}

// TestProgressIsMeasuredFromTheRunsFirstCursor walks a 72 h bounded range
// and takes the first snapshot only at the points checked: the baseline is
// where the event began in this run, not where it stood at the first
// snapshot (which made a SIGTERM half way log 0.0%).
func TestProgressIsMeasuredFromTheRunsFirstCursor(t *testing.T) {
	from := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	to := from.Add(72 * time.Hour)
	began := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

	t.Run("at start", func(t *testing.T) {
		s := &eventStats{event: "CSAT-Score", startedAt: began}
		s.setCursor(from)
		p := s.snapshot(began.Add(time.Minute), to, time.Hour)
		assert.Zero(t, p.Percent)
		assert.Zero(t, p.ETA)
		assert.EqualValues(t, 72, p.WindowsLeft)
		assert.Contains(t, logLine(p), "percent=0.0%")
	})

	t.Run("half way", func(t *testing.T) {
		s := &eventStats{event: "CSAT-Score", startedAt: began}
		s.setCursor(from)
		walk(s, 36, time.Hour)
		p := s.snapshot(began.Add(10*time.Minute), to, time.Hour)
		assert.Equal(t, from.Add(36*time.Hour), p.Cursor)
		assert.InDelta(t, 50, p.Percent, 1e-9)
		// Half the span took 10 minutes: the other half takes as long.
		assert.Equal(t, 10*time.Minute, p.ETA)
		assert.EqualValues(t, 36, p.Windows)
		assert.EqualValues(t, 36, p.WindowsLeft)
		assert.Contains(t, logLine(p), "percent=50.0%")
		assert.Contains(t, logLine(p), "eta=10m0s")
	})

	t.Run("resumed from a checkpoint", func(t *testing.T) {
		// A checkpoint 24 h in: the run's span is the 48 h left, and
		// another 24 h make half of it.
		s := &eventStats{event: "CSAT-Score", startedAt: began}
		s.setCursor(from.Add(24 * time.Hour))
		walk(s, 24, time.Hour)
		p := s.snapshot(began.Add(4*time.Minute), to, time.Hour)
		assert.InDelta(t, 50, p.Percent, 1e-9)
		assert.Equal(t, 4*time.Minute, p.ETA)
	})

	t.Run("done", func(t *testing.T) {
		s := &eventStats{event: "CSAT-Score", startedAt: began}
		s.setCursor(from)
		walk(s, 72, time.Hour)
		s.setCursor(to) // the runner's last cursor, where the planner says done
		p := s.snapshot(began.Add(20*time.Minute), to, time.Hour)
		assert.Equal(t, 100.0, p.Percent)
		assert.Zero(t, p.ETA)
		assert.Zero(t, p.WindowsLeft)
		assert.Contains(t, logLine(p), "percent=100.0%")
	})

	t.Run("one window to a --to finer than a millisecond", func(t *testing.T) {
		// --to defaults to now, to the nanosecond; windows end on its
		// millisecond, which is where the walk is over.
		to := from.Add(time.Hour + 123456789*time.Nanosecond)
		end := to.Truncate(time.Millisecond)
		s := &eventStats{event: "CSAT-Score", startedAt: began}
		s.setCursor(from)
		s.windowDone(source.Window{Start: from, End: end})
		s.setCursor(end)
		p := s.snapshot(began.Add(time.Minute), to, time.Hour)
		assert.Equal(t, 100.0, p.Percent)
		assert.Zero(t, p.ETA)
		assert.Zero(t, p.WindowsLeft)
		assert.EqualValues(t, 1, p.Windows)
	})

	t.Run("earlier snapshots do not move the baseline", func(t *testing.T) {
		// Snapshots taken before the runner set its first cursor, and
		// along the way, leave the baseline where the event began.
		s := &eventStats{event: "CSAT-Score", startedAt: began}
		assert.Zero(t, s.snapshot(began, to, time.Hour).Percent)
		s.setCursor(from)
		walk(s, 18, time.Hour)
		assert.InDelta(t, 25, s.snapshot(began.Add(5*time.Minute), to, time.Hour).Percent, 1e-9)
		walk(s, 18, time.Hour)
		assert.InDelta(t, 50, s.snapshot(began.Add(10*time.Minute), to, time.Hour).Percent, 1e-9)
	})

	t.Run("live", func(t *testing.T) {
		// Live, the target is the latest settled instant and moves on.
		start := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
		settled := start.Add(6 * time.Hour)
		s := &eventStats{event: "CSAT-Score", startedAt: began}
		s.setCursor(start)
		walk(s, 3, time.Hour)
		p := s.snapshot(began.Add(3*time.Minute), settled, time.Hour)
		assert.InDelta(t, 50, p.Percent, 1e-9)
		assert.Equal(t, 3*time.Minute, p.ETA)
		assert.EqualValues(t, 3, p.WindowsLeft)
	})
}

// logLine is the progress line p logs, in text form.
func logLine(p Progress) string {
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("progress", p.logAttrs()...)
	return b.String()
}

func TestBlendLeansOnWhatWasObservedTowardsTheEnd(t *testing.T) {
	// 10 windows done in 10 minutes, 10 left: a minute a window observed.
	assert.Equal(t, 15*time.Minute, blend(20*time.Minute, 10, 10, 10*time.Minute), "half way: half model, half observed")
	assert.Equal(t, 20*time.Minute, blend(20*time.Minute, 1, 10, 10*time.Minute), "too little observed: the model")
	assert.Equal(t, time.Duration(0), blend(0, 10, 0, time.Minute), "nothing left")
	got := blend(10*time.Minute, 90, 10, 90*time.Minute)
	assert.Equal(t, 10*time.Minute, got, "near the end, the observed pace: 10 windows at a minute each")
}
