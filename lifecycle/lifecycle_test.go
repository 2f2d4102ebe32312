package lifecycle_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/internal/logbuf"
	"github.com/freshstream/freshchat-kafka/lifecycle"
)

// fakePipeline runs until ctx ends, then takes abort to return (when
// negative: until release is closed); Close records the deadline it was
// given.
type fakePipeline struct {
	abort    time.Duration
	release  chan struct{}
	runErr   error
	closed   bool
	deadline time.Time
}

func (f *fakePipeline) Run(ctx context.Context) error {
	<-ctx.Done()
	if f.abort < 0 {
		<-f.release
		return ctx.Err()
	}
	time.Sleep(f.abort)
	if f.runErr != nil {
		return f.runErr
	}
	return ctx.Err()
}

func (f *fakePipeline) Close(ctx context.Context) error {
	f.closed = true
	f.deadline, _ = ctx.Deadline()
	return nil
}

const budget = 10 * time.Second

func TestRunStopsWithinBudget(t *testing.T) {
	t.Run("aborts in time", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			p := &fakePipeline{abort: 3 * time.Second}
			time.AfterFunc(time.Minute, cancel)
			start := time.Now()
			st, err := lifecycle.Run(ctx, p, &lifecycle.Clients{}, budget)
			require.ErrorIs(t, err, context.Canceled)
			assert.Equal(t, start.Add(time.Minute+budget), st.Deadline, "the budget starts when the stop does")
			assert.Equal(t, time.Minute+3*time.Second, time.Since(start))
			st.Close(ctx, p)
			assert.True(t, p.closed)
			assert.Equal(t, st.Deadline, p.deadline, "closing shares the budget")
			assert.True(t, st.Clean())
		})
	})

	t.Run("gives up on the aborts at the budget", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			p := &fakePipeline{abort: budget + time.Second, runErr: errors.New("aborting: context deadline exceeded")}
			start := time.Now()
			st, err := lifecycle.Run(ctx, p, &lifecycle.Clients{}, budget)
			assert.EqualError(t, err, "aborting: context deadline exceeded")
			assert.Equal(t, budget+time.Second, time.Since(start))
			assert.True(t, st.Forced)
			assert.False(t, st.Stuck)
			assert.False(t, st.Clean())
		})
	})

	t.Run("leaves a pipeline that does not stop", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			p := &fakePipeline{abort: -1, release: make(chan struct{})}
			defer close(p.release)
			start := time.Now()
			st, err := lifecycle.Run(ctx, p, &lifecycle.Clients{}, budget)
			require.ErrorIs(t, err, context.Canceled)
			assert.Equal(t, budget+5*time.Second, time.Since(start), "the budget, then the grace after closing the clients")
			assert.True(t, st.Forced)
			assert.True(t, st.Stuck)
			st.Close(ctx, p)
			assert.False(t, p.closed, "a stuck pipeline is left as it is")
			assert.ErrorContains(t, st.CloseErr, "did not stop")
		})
	})

	t.Run("a run that ends on its own gets the budget to close", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := &fakePipeline{runErr: errors.New("boom")}
			ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
			defer cancel()
			start := time.Now()
			st, err := lifecycle.Run(ctx, p, &lifecycle.Clients{}, budget)
			assert.EqualError(t, err, "boom")
			assert.Equal(t, start.Add(time.Hour+budget), st.Deadline)
			assert.True(t, st.Clean())
		})
	})
}

type outage struct {
	since time.Time
	last  error
}

func (o outage) Unreachable() (time.Time, error, bool) { return o.since, o.last, o.last != nil }

func TestStopLog(t *testing.T) {
	logged := func(st lifecycle.Stop, signaled bool, runErr error, kafka lifecycle.Outage) string {
		var logs logbuf.Buffer
		st.Log(slog.New(slog.NewTextHandler(&logs, nil)), signaled, runErr, kafka, time.Minute)
		return logs.String()
	}
	assert.Contains(t, logged(lifecycle.Stop{}, true, context.Canceled, outage{}),
		`level=INFO msg="stopped on signal; open transactions were aborted`)
	assert.Empty(t, logged(lifecycle.Stop{}, false, nil, nil), "a clean end that was no signal's says nothing")

	forced := logged(lifecycle.Stop{Forced: true, CloseErr: errors.New("closing: timeout")}, false, errors.New("produce: timeout"), nil)
	assert.Contains(t, forced, `level=WARN msg="stopped; the open transactions could not be aborted`)
	assert.Contains(t, forced, `transaction_timeout=1m0s abort_budget=10s error="closing: timeout" abort_gave_up=true run_error="produce: timeout"`)

	down := logged(lifecycle.Stop{}, true, context.Canceled, outage{since: time.Now().Add(-time.Minute), last: errors.New("dial: refused")})
	assert.Contains(t, down, `level=WARN msg="stopped on signal; the open transactions could not be aborted`,
		"a stop on a signal while Kafka is unreachable cannot tell the aborts reached the brokers")
	assert.Contains(t, down, `last_kafka_error="dial: refused"`)
}
