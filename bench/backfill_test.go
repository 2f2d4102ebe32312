package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/bench"
)

// TestBackfillExactlyOnceBothPlans is the backfill benchmark's correctness
// check, short: three months of two events, time-scaled (an hour of the
// API's time in a second), once with fixed 24h windows one at a time and
// once with the default adaptive plan. Both commit every row exactly once
// (Run checks it); the adaptive plan needs a report a month where the
// fixed one needs one a day. The full benchmark is bench/cmd/backfillbench.
func TestBackfillExactlyOnceBothPlans(t *testing.T) {
	b := bench.Backfill{
		Events: []string{"Message-Sent", "Agent-Activity"}, Months: 3, RowsPerHour: 2, Scale: 3600,
		SubmitsPerMinute: 1, RequestsPerMinute: 60, ReportLatency: time.Minute, ReportTimePerRow: 50 * time.Millisecond,
	}
	from, to := b.Span(time.Now())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	fixed, err := b.Run(ctx, bench.FixedPlan, from, to, t.TempDir())
	require.NoError(t, err)
	adaptive, err := b.Run(ctx, bench.AdaptivePlan, from, to, t.TempDir())
	require.NoError(t, err)

	days := int(to.Sub(from) / (24 * time.Hour))
	assert.InDelta(t, 2*days, fixed.Windows, 2, "a window a day")
	assert.Equal(t, fixed.Windows, fixed.Submits, "one submit a window")
	assert.InDelta(t, 2*(3+1), adaptive.Windows, 2, "a first day, then a window a calendar month")
	assert.Equal(t, adaptive.Windows, adaptive.Submits, "one submit a window, none repeated")
	assert.Equal(t, fixed.Rows, adaptive.Rows)
	assert.Equal(t, int64(2*2*to.Sub(from)/time.Hour), fixed.Rows)
	assert.Zero(t, fixed.Throttled+adaptive.Throttled, "the submit budget was kept")
	t.Logf("fixed: %d submits, %d requests, %s simulated; adaptive: %d submits, %d requests, %s simulated",
		fixed.Submits, fixed.Requests(), fixed.Simulated.Round(time.Minute), adaptive.Submits, adaptive.Requests(), adaptive.Simulated.Round(time.Minute))
}
