package pipeline_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/source"
)

const month = 31 * 24 * time.Hour

func adaptive() pipeline.Planner {
	return pipeline.Planner{Window: 24 * time.Hour, MaxWindow: month, TargetRows: 1_000_000}
}

func TestDensityEstimate(t *testing.T) {
	day := source.Window{Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)}
	var d pipeline.Density
	assert.False(t, d.Known)
	d = d.Observe(2400, day)
	assert.Equal(t, pipeline.Density{PerHour: 100, Known: true}, d, "the first window sets it")
	d = d.Observe(24_000, day)
	assert.Equal(t, 1000.0, d.PerHour, "a denser window raises it at once")
	d = d.Observe(0, day)
	assert.Equal(t, 500.0, d.PerHour, "a sparser one brings it down halfway")
	d = d.Observe(0, day)
	assert.Equal(t, 250.0, d.PerHour)
	assert.Equal(t, d, d.Observe(5, source.Window{Start: day.Start, End: day.Start}), "an empty window says nothing")
	assert.Equal(t, 6000.0, d.Rows(24*time.Hour))
}

func TestAdaptiveWindowsFollowTheDensity(t *testing.T) {
	p := adaptive()
	p.To = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	now := p.To
	cursor := time.Date(2026, 3, 10, 6, 30, 0, 0, time.UTC)
	cases := []struct {
		name string
		d    pipeline.Density
		want time.Time
	}{
		{"unknown density: a first window of Window", pipeline.Density{}, time.Date(2026, 3, 11, 6, 0, 0, 0, time.UTC)},
		{"empty so far: a calendar month", pipeline.Density{Known: true}, time.Date(2026, 4, 10, 6, 30, 0, 0, time.UTC)},
		{"sparse: a calendar month", pipeline.Density{PerHour: 100, Known: true}, time.Date(2026, 4, 10, 6, 30, 0, 0, time.UTC)},
		{"10,000 rows an hour: 100 hours, to a whole hour", pipeline.Density{PerHour: 10_000, Known: true}, time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)},
		{"a million rows an hour: an hour, to a whole minute", pipeline.Density{PerHour: 1_000_000, Known: true}, time.Date(2026, 3, 10, 7, 30, 0, 0, time.UTC)},
		{"denser than a target a minute: a minute", pipeline.Density{PerHour: 1e12, Known: true}, time.Date(2026, 3, 10, 6, 31, 0, 0, time.UTC)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := p.Next(cursor, now, tc.d)
			require.False(t, n.Done)
			assert.Equal(t, cursor, n.Window.Start)
			assert.Equal(t, tc.want, n.Window.End)
			assert.Zero(t, n.Lost)
		})
	}

	// Without a target, every window is Window long: the fixed plan.
	fixed := p
	fixed.TargetRows = 0
	n := fixed.Next(cursor, now, pipeline.Density{PerHour: 1, Known: true})
	assert.Equal(t, cursor.Add(24*time.Hour), n.Window.End)
}

func TestAdaptiveWindowsEndWithinACalendarMonth(t *testing.T) {
	p := adaptive()
	sparse := pipeline.Density{PerHour: 1, Known: true}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ from, want time.Time }{
		{time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC)},
		{time.Date(2028, 1, 31, 22, 0, 0, 0, time.UTC), time.Date(2028, 2, 29, 22, 0, 0, 0, time.UTC)},
		{time.Date(2026, 3, 31, 13, 45, 0, 250e6, time.UTC), time.Date(2026, 4, 30, 13, 45, 0, 250e6, time.UTC)},
		{time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
	} {
		n := p.Next(tc.from, now, sparse)
		assert.Equal(t, tc.want, n.Window.End, "from %s", tc.from)
	}

	// A 15-month walk of a sparse event: a first window of a day, then one
	// a month, tiling the range at millisecond precision.
	from := time.Date(2025, 8, 24, 10, 17, 3, 120e6, time.UTC)
	to := time.Date(2026, 11, 24, 10, 17, 3, 120e6, time.UTC)
	ws := p.Windows(from, to, pipeline.Density{}, 1000)
	assert.Equal(t, time.Date(2025, 8, 25, 10, 0, 0, 0, time.UTC), ws[0].End, "the first window is a day, to a whole hour")
	assert.Len(t, ws, 16, "an unknown density is assumed sparse after the first window")
	assert.Equal(t, 16, p.Count(from, to, pipeline.Density{}))
	rest := p.Windows(ws[0].End, to, sparse, 1000)
	assert.Len(t, rest, 15, "14 months from the 25th, then a last stretch to the 24th at 10:17")
	cursor := from
	for _, w := range append(ws[:1], rest...) {
		assert.Equal(t, cursor, w.Start, "contiguous")
		assert.False(t, w.End.After(monthAfterRef(w.Start)), "window %s longer than a calendar month", w)
		cursor = w.End
	}
	assert.Equal(t, to, cursor)
	assert.Equal(t, 15, p.Count(ws[0].End, to, sparse))
}

// monthAfterRef is a calendar month after t, computed independently:
// the same day and time of the next month, or that month's last day.
func monthAfterRef(t time.Time) time.Time {
	y, m, _ := t.Date()
	first := time.Date(y, m+1, 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(t.Day(), last)-1)
}

func TestCountExtrapolatesLongWalks(t *testing.T) {
	p := adaptive()
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	dense := pipeline.Density{PerHour: 1e12, Known: true} // a window a minute
	n := p.Count(from, from.Add(30*24*time.Hour), dense)
	assert.InDelta(t, 30*24*60, n, 2)
}

func TestPlannerSlidingHistoryLimit(t *testing.T) {
	p := adaptive()
	p.Earliest = func(now time.Time) time.Time { return source.Earliest(now).Add(2 * time.Minute) }
	start := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	from := source.Earliest(start) // a backfill "from 15 months ago"

	// Planned at once: the limit has not moved yet, but the margin is
	// kept.
	n := p.Next(from, start, pipeline.Density{})
	assert.Equal(t, from.Add(2*time.Minute), n.Window.Start)
	assert.Equal(t, source.Window{Start: from, End: from.Add(2 * time.Minute)}, n.Lost, "what is lost is said")

	// Planned an hour later (the event waited): the limit moved by an hour.
	n = p.Next(from, start.Add(time.Hour), pipeline.Density{})
	assert.Equal(t, from.Add(time.Hour+2*time.Minute), n.Window.Start)
	assert.Equal(t, time.Hour+2*time.Minute, n.Lost.End.Sub(n.Lost.Start))
	assert.Equal(t, from.Add(25*time.Hour), n.Window.End, "a day later, to a whole hour")

	// A cursor inside the served history loses nothing.
	n = p.Next(from.Add(time.Hour), start, pipeline.Density{})
	assert.Zero(t, n.Lost)
	assert.Equal(t, from.Add(time.Hour), n.Window.Start)

	// A bounded walk whose end the limit passed is over; what it lost is said.
	q := p
	q.To = from.Add(time.Minute)
	n = q.Next(from, start, pipeline.Density{})
	assert.True(t, n.Done)
	assert.Equal(t, source.Window{Start: from, End: from.Add(time.Minute)}, n.Lost)
}

func TestSplit(t *testing.T) {
	start := time.Date(2026, 1, 31, 7, 20, 0, 0, time.UTC)
	w := source.Window{Start: start, End: time.Date(2026, 2, 28, 7, 20, 0, 0, time.UTC)}
	first, rest, ok := pipeline.Split(w)
	require.True(t, ok)
	assert.Equal(t, time.Date(2026, 2, 14, 7, 0, 0, 0, time.UTC), first.End, "the middle, to a whole hour")
	assert.Equal(t, source.Window{Start: first.End, End: w.End}, rest)
	assert.Equal(t, start, first.Start)

	short := source.Window{Start: start, End: start.Add(90 * time.Minute)}
	first, rest, ok = pipeline.Split(short)
	require.True(t, ok)
	assert.Equal(t, start.Add(45*time.Minute), first.End, "to a whole minute under two hours")
	assert.Equal(t, short.End, rest.End)

	_, _, ok = pipeline.Split(source.Window{Start: start, End: start.Add(time.Hour)})
	assert.False(t, ok, "an hour is not split")
}

func TestAdaptiveWindowsStaySmallLive(t *testing.T) {
	p := adaptive()
	p.MinWindow, p.Settle = 15*time.Minute, 10*time.Minute
	now := time.Date(2026, 11, 24, 12, 0, 30, 0, time.UTC)
	sparse := pipeline.Density{PerHour: 1, Known: true}

	// Caught up: the window ends settle before now, whatever the density.
	cursor := now.Add(-40 * time.Minute).Truncate(time.Second)
	n := p.Next(cursor, now, sparse)
	assert.Equal(t, now.Add(-10*time.Minute).Truncate(time.Second), n.Window.End)
	assert.False(t, n.Ready.After(now))

	// Less than min_window settled: wait for it.
	cursor = now.Add(-20 * time.Minute)
	n = p.Next(cursor, now, sparse)
	assert.Equal(t, cursor.Add(15*time.Minute), n.Window.End)
	assert.Equal(t, cursor.Add(25*time.Minute), n.Ready)

	// Days behind (after an outage), live mode backfills in large windows.
	cursor = now.AddDate(0, 0, -3).Truncate(time.Hour)
	n = p.Next(cursor, now, sparse)
	assert.Equal(t, now.Add(-10*time.Minute).Truncate(time.Second), n.Window.End, "one window up to the settled instant")
}
