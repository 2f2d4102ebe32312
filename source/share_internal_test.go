package source

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestLimiterShare(t *testing.T) {
	for _, tc := range []struct {
		name      string
		full      BudgetConfig
		share     float64
		want      BudgetConfig
		wantEvery time.Duration
	}{
		{"a third of 60/min", BudgetConfig{PerMinute: 60, PerDay: 9000}, 1.0 / 3, BudgetConfig{PerMinute: 20, PerDay: 3000}, 3 * time.Second},
		{"rounded up, never zero", BudgetConfig{PerMinute: 2, PerDay: 5}, 0.1, BudgetConfig{PerMinute: 1, PerDay: 1}, time.Minute},
		{"unlimited stays unlimited", BudgetConfig{}, 0.5, BudgetConfig{}, 0},
		{"out of range is the whole", BudgetConfig{PerMinute: 60}, 0, BudgetConfig{PerMinute: 60}, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLimiter(tc.full, time.Now, slog.New(slog.DiscardHandler), &meter{})
			l.share(tc.share)
			assert.Equal(t, tc.want, l.budget)
			assert.Equal(t, tc.wantEvery, l.interval)
			l.share(1)
			assert.Equal(t, tc.full, l.budget, "the whole budget again")
		})
	}
}

func TestLimiterShareKeepsTheNewestOfTheDay(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	l := newLimiter(BudgetConfig{PerDay: 4}, func() time.Time { return now }, slog.New(slog.DiscardHandler), &meter{})
	for i := range 6 { // wraps the ring
		l.admit(now.Add(time.Duration(i) * time.Second))
	}
	l.share(0.5) // 2 a day: the two newest requests fill it
	assert.Equal(t, []int64{now.Add(4 * time.Second).UnixNano(), now.Add(5 * time.Second).UnixNano()}, l.day)
	assert.Equal(t, now.Add(4*time.Second).Add(24*time.Hour), l.dayFree())
	l.share(1) // 4 a day again: room for two more
	assert.True(t, l.dayFree().IsZero())
}
