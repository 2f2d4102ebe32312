package pipeline_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/sink"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

// TestBoundedRunsFollowTheCheckpoint runs bounded ranges one after the
// other on one event: a range the checkpoint has passed is a no-op, one
// that would skip rows or start before what was ever extracted is refused
// with the command that resolves it (and writes nothing), and one that
// overlaps the checkpoint continues from it. The topic ends holding every
// row of the ranges extracted, once.
func TestBoundedRunsFollowTheCheckpoint(t *testing.T) {
	e := newEnv(t, 60, freshchattest.Faults{}, true)
	from, to := span(6)
	h := func(i int) time.Time { return from.Add(time.Duration(i) * time.Hour) }
	const ev = "Message-Sent"
	bounded := func(t1, t2 time.Time) error {
		t.Helper()
		return run(t, e.options(t, []string{ev}, t1, t2))
	}
	topic := e.options(t, []string{ev}, from, to).Topic(ev)

	require.NoError(t, bounded(h(2), h(4)))
	e.assertExactlyOnce(t, ev, topic, h(2), h(4))

	refusals := []struct {
		name   string
		t1, t2 time.Time
		want   []string
	}{
		{"before what was extracted", h(0), h(1), []string{
			"was extracted from " + fmtTime(h(2)) + " only",
			"connector reset --event Message-Sent --to " + fmtTime(h(0)),
		}},
		{"overlapping the start of what was extracted", h(1), h(3), []string{
			"connector reset --event Message-Sent --to " + fmtTime(h(1)),
		}},
		{"after the checkpoint, skipping rows", h(5), h(6), []string{
			"committed up to " + fmtTime(h(4)) + ", before --from " + fmtTime(h(5)),
			"Run with --from " + fmtTime(h(4)),
			"connector reset --event Message-Sent --to " + fmtTime(h(5)),
		}},
	}
	for _, tc := range refusals {
		submits := e.sim.Stats().Submits
		err := bounded(tc.t1, tc.t2)
		var re *pipeline.RangeError
		require.True(t, errors.As(err, &re), "%s: %v", tc.name, err)
		for _, w := range tc.want {
			assert.Contains(t, err.Error(), w, tc.name)
		}
		assert.Equal(t, submits, e.sim.Stats().Submits, "%s: nothing was requested", tc.name)
	}
	e.assertExactlyOnce(t, ev, topic, h(2), h(4))

	submits := e.sim.Stats().Submits
	require.NoError(t, bounded(h(2), h(4)), "the same range again")
	require.NoError(t, bounded(h(3), h(4)), "a range inside what is committed")
	assert.Equal(t, submits, e.sim.Stats().Submits, "committed ranges are not extracted again")

	upTo := e.options(t, []string{ev}, h(0), h(5))
	upTo.From = time.Time{} // --to alone: from the checkpoint, whatever the start
	require.NoError(t, run(t, upTo))
	e.assertExactlyOnce(t, ev, topic, h(2), h(5))

	require.NoError(t, bounded(h(3), h(6)), "a range overlapping the checkpoint continues from it")
	e.assertExactlyOnce(t, ev, topic, h(2), h(6))
}

// TestLiveRunResumesFromTheCheckpointNotTheStart: a live run whose start
// lies after the checkpoint (a relative start such as -7d moves on while
// the connector is stopped) continues from the checkpoint, so the rows in
// between are not skipped.
func TestLiveRunResumesFromTheCheckpointNotTheStart(t *testing.T) {
	e := newEnv(t, 60, freshchattest.Faults{}, true)
	from, to := span(4)
	const ev = "CSAT-Score"
	o := e.options(t, []string{ev}, from, from.Add(time.Hour))
	require.NoError(t, run(t, o))

	live := e.options(t, []string{ev}, from.Add(2*time.Hour), time.Time{})
	live.Planner.Settle = time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var once sync.Once
	live.OnWindow = func(w pipeline.WindowDone) {
		if !w.Window.End.Before(to) {
			once.Do(cancel)
		}
	}
	p, err := pipeline.New(ctx, live)
	require.NoError(t, err)
	defer p.Close(context.Background())
	require.ErrorIs(t, p.Run(ctx), context.Canceled)
	require.NotErrorIs(t, ctx.Err(), context.DeadlineExceeded, "stopped by OnWindow, not by the timeout")

	e.assertExactlyOnce(t, ev, o.Topic(ev), from, to)
}

// TestBoundedRunAndAWindowInProgress: a window left in progress by an
// earlier run is left alone by a bounded range it lies beyond, and
// finished whole (past --to) by a range it starts in.
func TestBoundedRunAndAWindowInProgress(t *testing.T) {
	e := newEnv(t, 60, freshchattest.Faults{}, true)
	from, _ := span(6)
	h := func(i int) time.Time { return from.Add(time.Duration(i) * time.Hour) }
	const ev = "Agent-Activity"
	o := e.options(t, []string{ev}, h(0), h(2))
	require.NoError(t, run(t, o))

	// An earlier live run with 2h windows was stopped inside [h2, h4).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w, err := sink.NewWriter(ctx, sink.WriterConfig{TransactionalID: o.TransactionalID + "-" + ev, TransactionTimeout: 30 * time.Second}, e.kafka...)
	require.NoError(t, err)
	rec, err := checkpoint.NewStore(o.CheckpointTopic, nil, e.kafka...).Record(checkpoint.Position{
		Event: ev, WindowStart: h(2), WindowEnd: h(4), Digest: checkpoint.NewDigest, CoveredFrom: h(0), CommittedAt: e.now(),
	})
	require.NoError(t, err)
	require.NoError(t, w.Begin())
	require.NoError(t, w.Commit(ctx, rec))
	require.NoError(t, w.Close(ctx))

	submits := e.sim.Stats().Submits
	require.NoError(t, run(t, e.options(t, []string{ev}, h(1), h(2))))
	assert.Equal(t, submits, e.sim.Stats().Submits, "a window beyond the range is not touched")
	e.assertExactlyOnce(t, ev, o.Topic(ev), h(0), h(2))

	require.NoError(t, run(t, e.options(t, []string{ev}, h(1), h(3))))
	e.assertExactlyOnce(t, ev, o.Topic(ev), h(0), h(4))
	assert.Contains(t, e.logs.String(), "finishing the window in progress, which ends after --to")
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.999Z07:00") }
