package pipeline

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/checkpoint"
)

func TestCheckResume(t *testing.T) {
	now := time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC)
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	done := func(start, end, covered time.Time) checkpoint.Position {
		return checkpoint.Position{Event: "A", WindowStart: start, WindowEnd: end, Done: true, CoveredFrom: covered}
	}
	inFlight := func(start, end, covered time.Time) checkpoint.Position {
		p := done(start, end, covered)
		p.Done = false
		return p
	}
	live := func(start time.Time) Options { return Options{Events: []string{"A"}, Start: start} }
	bounded := func(from, to time.Time) Options {
		return Options{Events: []string{"A"}, Start: from, From: from, Planner: Planner{To: to}}
	}
	cases := []struct {
		name string
		o    Options
		pos  *checkpoint.Position
		want []string // substrings of the one problem; none: accepted
	}{
		{name: "no checkpoint, bounded", o: bounded(day(1), day(2))},
		{name: "no checkpoint, live", o: live(day(1))},
		{name: "live, start after the checkpoint: resumes at the checkpoint", o: live(day(20)), pos: ptr(done(day(1), day(2), day(1)))},
		{name: "live, checkpoint older than 15 months", o: live(day(20)),
			pos:  ptr(done(time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 7, 2, 0, 0, 0, 0, time.UTC), time.Time{})),
			want: []string{"A resumes at 2025-07-02T00:00:00Z", "earliest now 2025-08-24T18:00:00Z", "connector reset --event A --to 2025-08-25T00:00:00Z"}},
		{name: "bounded without --from: any checkpoint goes on from where it is", o: Options{Events: []string{"A"}, Start: day(20), Planner: Planner{To: day(22)}},
			pos: ptr(done(day(1), day(2), day(1)))},
		{name: "bounded, range already committed", o: bounded(day(2), day(3)), pos: ptr(done(day(9), day(10), day(1)))},
		{name: "bounded, range overlaps the checkpoint", o: bounded(day(5), day(12)), pos: ptr(done(day(9), day(10), day(1)))},
		{name: "bounded, from at the checkpoint", o: bounded(day(10), day(12)), pos: ptr(done(day(9), day(10), day(1)))},
		{name: "bounded, in-flight window inside the range", o: bounded(day(5), day(12)), pos: ptr(inFlight(day(9), day(10), day(1)))},
		{name: "bounded, from after the checkpoint", o: bounded(day(11), day(12)), pos: ptr(done(day(9), day(10), day(1))),
			want: []string{"A is committed up to 2026-11-10T00:00:00Z, before --from 2026-11-11T00:00:00Z", "--from 2026-11-10T00:00:00Z", "--to 2026-11-11T00:00:00Z"}},
		{name: "bounded, from before what was extracted", o: bounded(day(1), day(3)), pos: ptr(done(day(9), day(10), day(2))),
			want: []string{"A was extracted from 2026-11-02T00:00:00Z only", "connector reset --event A --to 2026-11-01T00:00:00Z"}},
		{name: "bounded, a record without covered_from vouches for its window only", o: bounded(day(1), day(3)), pos: ptr(done(day(9), day(10), time.Time{})),
			want: []string{"A was extracted from 2026-11-09T00:00:00Z only"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			positions := map[string]checkpoint.Position{}
			if tc.pos != nil {
				positions["A"] = *tc.pos
			}
			err := checkResume(tc.o, unitsOf(tc.o), positions, now)
			if len(tc.want) == 0 {
				require.NoError(t, err)
				return
			}
			var re *RangeError
			require.True(t, errors.As(err, &re), "%v", err)
			require.Len(t, re.Problems, 1)
			for _, w := range tc.want {
				assert.Contains(t, re.Problems[0], w)
			}
		})
	}
}

// TestCheckResumeNamesEveryEvent: one refusal lists every event in the way,
// so the operator fixes them all at once.
func TestCheckResumeNamesEveryEvent(t *testing.T) {
	from, to := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	o := Options{Events: []string{"A", "B", "C"}, From: from, Planner: Planner{To: to}}
	early := checkpoint.Position{WindowStart: from.AddDate(0, 0, -3), WindowEnd: from.AddDate(0, 0, -2), Done: true}
	early.Event = "A"
	b := early
	b.Event = "B"
	err := checkResume(o, unitsOf(o), map[string]checkpoint.Position{"A": early, "B": b}, to.AddDate(0, 0, 1))
	var re *RangeError
	require.True(t, errors.As(err, &re))
	require.Len(t, re.Problems, 2)
	assert.Contains(t, err.Error(), "A is committed")
	assert.Contains(t, err.Error(), "B is committed")
	assert.NotContains(t, err.Error(), "C ")
}

func ptr[T any](v T) *T { return &v }

// unitsOf are runners for the events of o's default account.
func unitsOf(o Options) []*eventRunner {
	var out []*eventRunner
	for _, ev := range o.Events {
		out = append(out, &eventRunner{event: ev, key: ev})
	}
	return out
}
