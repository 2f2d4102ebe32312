package status_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/metrics"
	"github.com/freshstream/freshchat-kafka/status"
)

// TestLiveIsOneMoment serves /status while a unit finishes its window: the
// runner commits the window, then says it waits for the next one. A
// document that took the positions before the states could show the
// state after the commit next to the position before it ("waiting", with
// the window still in flight). Live reads the states first, so a state is
// never newer than the positions beside it.
func TestLiveIsOneMoment(t *testing.T) {
	cfg := config.Defaults(t0)
	cfg.Events = []string{"Message-Sent"}
	now := t0.Add(3 * time.Hour)
	m := metrics.New(metrics.Options{Now: func() time.Time { return now }})
	m.InitEvents("Message-Sent")

	inFlight := checkpoint.Position{Event: "Message-Sent", WindowStart: t0, WindowEnd: t0.Add(time.Hour), ReportID: "r-1"}
	done := inFlight
	done.Done, done.Rows = true, 10
	current := inFlight
	finishes := func() {
		// The window commits, then the runner waits for the next one.
		current = done
		m.WindowCommitted("Message-Sent", done.WindowEnd)
		m.Waiting("Message-Sent", now.Add(time.Minute))
	}
	committed := func() map[string]checkpoint.Position {
		pos := current
		finishes() // right after the positions were taken
		return map[string]checkpoint.Position{"Message-Sent": pos}
	}

	rep := status.Live(context.Background(), &cfg, committed, nil, m, now)
	require.Len(t, rep.Events, 1)
	ev := rep.Events[0]
	require.NotNil(t, ev.Checkpoint)
	if ev.State == metrics.StateWaiting {
		assert.True(t, ev.Checkpoint.Done, "a unit shown waiting for its next window shows its last one done")
	}
	assert.Equal(t, metrics.StateBackfill, ev.State, "the state from before the commit, beside the position from before it")

	rep = status.Live(context.Background(), &cfg, func() map[string]checkpoint.Position {
		return map[string]checkpoint.Position{"Message-Sent": current}
	}, nil, m, now)
	assert.Equal(t, metrics.StateWaiting, rep.Events[0].State)
	assert.True(t, rep.Events[0].Checkpoint.Done)
}
