package ctxsleep_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/freshstream/freshchat-kafka/internal/ctxsleep"
)

func TestFor(t *testing.T) {
	tests := []struct {
		name     string
		d        time.Duration
		cancelAt time.Duration // 0: never
		want     error
		slept    time.Duration
	}{
		{name: "full sleep", d: time.Minute, want: nil, slept: time.Minute},
		{name: "ended early", d: time.Minute, cancelAt: 10 * time.Second, want: context.Canceled, slept: 10 * time.Second},
		{name: "no sleep", d: 0, want: nil, slept: 0},
		{name: "negative", d: -time.Second, want: nil, slept: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				if tt.cancelAt > 0 {
					time.AfterFunc(tt.cancelAt, cancel)
				}
				start := time.Now()
				err := ctxsleep.For(ctx, tt.d)
				assert.ErrorIs(t, err, tt.want)
				if tt.want == nil {
					assert.NoError(t, err)
				}
				assert.Equal(t, tt.slept, time.Since(start))
			})
		})
	}
}

func TestForEndedContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, ctxsleep.For(ctx, 0), context.Canceled, "an ended context is an error even without a sleep")
	assert.ErrorIs(t, ctxsleep.For(ctx, time.Hour), context.Canceled)
}
