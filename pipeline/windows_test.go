package pipeline_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/freshstream/freshchat-kafka/pipeline"
)

func TestPlanner(t *testing.T) {
	t0 := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
	now := time.Date(2026, 11, 24, 12, 0, 30, 500e6, time.UTC)
	cases := []struct {
		name      string
		p         pipeline.Planner
		cursor    time.Time
		now       time.Time
		wantStart time.Time
		wantEnd   time.Time
		wantReady time.Time // zero: ready now
		wantDone  bool
	}{
		{name: "bounded full window", p: pipeline.Planner{Window: 24 * time.Hour, To: t0.Add(72 * time.Hour)},
			cursor: t0, now: now, wantStart: t0, wantEnd: t0.Add(24 * time.Hour)},
		{name: "bounded last window is cut at To", p: pipeline.Planner{Window: 24 * time.Hour, To: t0.Add(30 * time.Hour)},
			cursor: t0.Add(24 * time.Hour), now: now, wantStart: t0.Add(24 * time.Hour), wantEnd: t0.Add(30 * time.Hour)},
		{name: "bounded done at To", p: pipeline.Planner{Window: time.Hour, To: t0},
			cursor: t0, now: now, wantDone: true},
		{name: "window never exceeds a calendar month (31 Jan + 31d > 28 Feb)", p: pipeline.Planner{Window: 31 * 24 * time.Hour, To: t0.AddDate(0, 3, 0)},
			cursor: t0, now: now, wantStart: t0, wantEnd: time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC)},
		{name: "a month from 1 Feb ends on 1 Mar", p: pipeline.Planner{Window: 31 * 24 * time.Hour, To: t0.AddDate(0, 3, 0)},
			cursor: t0.AddDate(0, 0, 1), now: now, wantStart: t0.AddDate(0, 0, 1), wantEnd: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
		{name: "a month from 31 Jan of a leap year ends on 29 Feb", p: pipeline.Planner{Window: 31 * 24 * time.Hour},
			cursor: time.Date(2028, 1, 31, 0, 0, 0, 0, time.UTC), now: time.Date(2028, 6, 1, 0, 0, 0, 0, time.UTC),
			wantStart: time.Date(2028, 1, 31, 0, 0, 0, 0, time.UTC), wantEnd: time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC)},
		{name: "a month from 31 Mar ends on 30 Apr at the same time of day", p: pipeline.Planner{Window: 31 * 24 * time.Hour},
			cursor: time.Date(2026, 3, 31, 13, 45, 0, 250e6, time.UTC), now: now,
			wantStart: time.Date(2026, 3, 31, 13, 45, 0, 250e6, time.UTC), wantEnd: time.Date(2026, 4, 30, 13, 45, 0, 250e6, time.UTC)},
		{name: "live: a window cut at the month is full, however long MinWindow", p: pipeline.Planner{Window: 31 * 24 * time.Hour, MinWindow: 31 * 24 * time.Hour, Settle: 10 * time.Minute},
			cursor: t0, now: now, wantStart: t0, wantEnd: time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC)},
		{name: "cursor is cut to milliseconds", p: pipeline.Planner{Window: time.Hour, To: t0.Add(5 * time.Hour)},
			cursor: t0.Add(1500 * time.Microsecond), now: now, wantStart: t0.Add(time.Millisecond), wantEnd: t0.Add(time.Millisecond + time.Hour)},
		{name: "live backfill takes full windows", p: pipeline.Planner{Window: time.Hour, MinWindow: 5 * time.Minute, Settle: 10 * time.Minute},
			cursor: t0, now: now, wantStart: t0, wantEnd: t0.Add(time.Hour)},
		{name: "live catching up ends settle before now, on a whole second", p: pipeline.Planner{Window: time.Hour, MinWindow: 5 * time.Minute, Settle: 10 * time.Minute},
			cursor: now.Add(-40 * time.Minute).Truncate(time.Second), now: now,
			wantStart: now.Add(-40 * time.Minute).Truncate(time.Second), wantEnd: now.Add(-10 * time.Minute).Truncate(time.Second)},
		{name: "live waits while less than MinWindow has settled", p: pipeline.Planner{Window: time.Hour, MinWindow: 5 * time.Minute, Settle: 10 * time.Minute},
			cursor: now.Add(-12 * time.Minute), now: now, wantStart: now.Add(-12 * time.Minute), wantEnd: now.Add(-7 * time.Minute),
			wantReady: now.Add(-12 * time.Minute).Add(15 * time.Minute)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, ready, done := tc.p.Plan(tc.cursor, tc.now)
			assert.Equal(t, tc.wantDone, done)
			if tc.wantDone {
				return
			}
			assert.Equal(t, tc.wantStart, w.Start)
			assert.Equal(t, tc.wantEnd, w.End)
			if tc.wantReady.IsZero() {
				assert.False(t, ready.After(tc.now), "ready now")
			} else {
				assert.Equal(t, tc.wantReady, ready)
			}
		})
	}
}

// TestPlannerWindowsTileTheRange walks a bounded range and checks windows
// neither overlap nor leave a gap at millisecond precision.
func TestPlannerWindowsTileTheRange(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(100*time.Hour + 7*time.Millisecond)
	p := pipeline.Planner{Window: 7 * time.Hour, To: to}
	cursor, n := from, 0
	for {
		w, _, done := p.Plan(cursor, to)
		if done {
			break
		}
		assert.Equal(t, cursor, w.Start, "no gap, no overlap")
		assert.True(t, w.End.After(w.Start))
		cursor = w.End
		n++
	}
	assert.Equal(t, to, cursor)
	assert.Equal(t, 15, n)
}

// TestPlannerWindowsStayWithinACalendarMonth plans a 31-day window from
// every day of two years, a leap year among them: each ends in the next
// calendar month, at the cursor's time of day, on the cursor's day of the
// month or, when the next month is shorter, on its last day: within "a
// month from start" however the API counts a month (31 January plus one
// month is 28 February to Java, 3 March to Go's AddDate), on whatever date
// the connector runs.
func TestPlannerWindowsStayWithinACalendarMonth(t *testing.T) {
	p := pipeline.Planner{Window: 31 * 24 * time.Hour}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for cursor := time.Date(2027, 1, 1, 7, 30, 0, 0, time.UTC); cursor.Year() < 2029; cursor = cursor.AddDate(0, 0, 1) {
		w, _, _ := p.Plan(cursor, now)
		next := time.Date(cursor.Year(), cursor.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		wantDay := min(cursor.Day(), next.AddDate(0, 1, -1).Day())
		want := time.Date(next.Year(), next.Month(), wantDay, 7, 30, 0, 0, time.UTC)
		assert.Equal(t, want, w.End, "window from %s", cursor.Format(time.DateOnly))
	}
}
