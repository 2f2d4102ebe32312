package pipeline_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/internal/kread"
	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/schemas"
	"github.com/freshstream/freshchat-kafka/sink"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

// span returns a bounded range of whole hours in the recent past of the
// test world (see worldStart): the same range on every run.
func span(hours int) (from, to time.Time) {
	to = worldStart.Add(-time.Hour)
	return to.Add(-time.Duration(hours) * time.Hour), to
}

// TestAllEventsExactlyOnceThroughFaults runs a bounded extraction of all 12
// events against a simulator with every fault knob on, over the real Kafka
// protocol, and compares every cell of every row with what was served.
func TestAllEventsExactlyOnceThroughFaults(t *testing.T) {
	faults := freshchattest.Faults{
		PendingPolls: 2, FailJobs: 2, RateLimitEvery: 29, RetryAfter: time.Second,
		ServerErrorEvery: 13, LinkTTL: 300 * time.Millisecond, CutDownloadEvery: 5,
		LinksPerReport: 3, FilesPerZip: 2,
		BOM: true, CRLF: true, AltTimestamps: true, ShuffleColumns: true,
	}
	for _, tc := range []struct {
		name     string
		registry bool
		faults   freshchattest.Faults
	}{
		{"confluent framing, zip", true, faults},
		{"single-object framing, gzip", false, freshchattest.Faults{Format: "gzip", PendingPolls: 1, CutDownloadEvery: 3, CRLF: true}},
		{"single-object framing, plain csv, legacy link", false, freshchattest.Faults{Format: "csv", LegacyLinkShape: true, BOM: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 240, tc.faults, tc.registry)
			from, to := span(3)
			o := e.options(t, schemas.Events(), from, to)
			require.NoError(t, run(t, o))
			for _, ev := range schemas.Events() {
				e.assertExactlyOnce(t, ev, o.Topic(ev), from, to)
			}
			st := e.sim.Stats()
			assert.Zero(t, st.AuthOnDownload, "downloads must not carry the API token")
			if tc.faults.CutDownloadEvery > 0 {
				assert.Positive(t, st.CutDownloads, "the fault was exercised")
			}

			// A second run over the same range finds everything committed
			// and neither submits nor produces anything.
			before := e.sim.Stats().Submits
			require.NoError(t, run(t, e.options(t, schemas.Events(), from, to)))
			assert.Equal(t, before, e.sim.Stats().Submits)
			for _, ev := range schemas.Events()[:2] {
				e.assertExactlyOnce(t, ev, o.Topic(ev), from, to)
			}
		})
	}
}

// TestMalformedCellStopsAndCommitsNothingOfItsChunk checks that a cell the
// schema cannot hold stops the run with an error naming where it is, and
// that nothing of the chunk holding the row becomes visible.
func TestMalformedCellStopsAndCommitsNothingOfItsChunk(t *testing.T) {
	e := newEnv(t, 600, freshchattest.Faults{MalformedEvery: 450}, false)
	from, to := span(2)
	o := e.options(t, []string{"Conversation-Created"}, from, to)
	o.Limits.Rows = 100
	err := run(t, o)
	require.Error(t, err)
	var re *pipeline.RowError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "Conversation-Created", re.Event)
	assert.Equal(t, "reopened", re.Column)
	assert.NotEmpty(t, re.ReportID)
	assert.NotEmpty(t, re.File)
	assert.Positive(t, re.Line)
	for _, want := range []string{"Conversation-Created", "reopened", "maybe", re.ReportID, re.File, re.Window.String()} {
		assert.Contains(t, err.Error(), want)
	}

	// The first window holds 600 rows and its 450th is bad: the four
	// whole chunks of 100 rows before it are committed, nothing after.
	got := e.consume(t, o.Topic("Conversation-Created"))
	assert.Len(t, got, 400)
	// Line is the physical line: quoted newlines in earlier rows push it
	// past the row number (451 with the header).
	assert.GreaterOrEqual(t, re.Line, int64(451))
	ctx := context.Background()
	recs, err := kread.ReadCommitted(ctx, e.kafka, o.CheckpointTopic)
	require.NoError(t, err)
	require.NotEmpty(t, recs)
	last, err := checkpoint.Decode(recs[len(recs)-1].Value)
	require.NoError(t, err)
	assert.False(t, last.Done)
	assert.Equal(t, from, last.WindowStart)
	assert.EqualValues(t, len(got), last.Rows, "rows visible == rows the checkpoint accounts for")
}

// TestFencedPipelineStops starts a second pipeline with the same
// transactional identity while the first runs: the first must stop with
// ErrFenced and never commit again.
func TestFencedPipelineStops(t *testing.T) {
	e := newEnv(t, 2000, freshchattest.Faults{PendingPolls: 3}, false)
	from, to := span(6)
	events := []string{"Message-Sent"}
	o := e.options(t, events, from, to)
	o.Limits.Rows = 100
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	first, err := pipeline.New(ctx, o)
	require.NoError(t, err)
	defer first.Close(ctx)
	done := make(chan error, 1)
	go func() { done <- first.Run(ctx) }()

	// Wait until the first has committed something, then start a second.
	require.Eventually(t, func() bool {
		recs, err := kread.ReadCommitted(ctx, e.kafka, o.CheckpointTopic)
		return err == nil && len(recs) > 2
	}, 30*time.Second, 20*time.Millisecond)
	second, err := pipeline.New(ctx, e.options(t, events, from, to))
	require.NoError(t, err)
	defer second.Close(ctx)

	err = <-done
	require.Error(t, err)
	assert.True(t, sink.IsFenced(err), "got %v", err)
	assert.True(t, errors.Is(err, sink.ErrFenced))

	require.NoError(t, second.Run(ctx))
	e.assertExactlyOnce(t, "Message-Sent", o.Topic("Message-Sent"), from, to)
}

// TestRestartResumesInFlightReport stops the connector while a report is
// still being extracted; the restart polls the same report instead of
// submitting a new one, and every row lands once.
func TestRestartResumesInFlightReport(t *testing.T) {
	// The report stays PENDING for 60 polls (about a second here).
	e := newEnv(t, 120, freshchattest.Faults{PendingPolls: 60}, false)
	from, to := span(1)
	events := []string{"CSAT-Score"}
	o := e.options(t, events, from, to)
	ctx, cancel := context.WithCancel(context.Background())
	p, err := pipeline.New(ctx, o)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	var pos checkpoint.Position
	require.Eventually(t, func() bool {
		recs, err := kread.ReadCommitted(ctx, e.kafka, o.CheckpointTopic)
		if err != nil || len(recs) == 0 {
			return false
		}
		pos, err = checkpoint.Decode(recs[len(recs)-1].Value)
		return err == nil && pos.ReportID != ""
	}, 30*time.Second, 10*time.Millisecond)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	require.NoError(t, p.Close(context.Background()))
	assert.False(t, pos.Done)
	submits := e.sim.Stats().Submits
	require.Equal(t, 1, submits)

	require.NoError(t, run(t, e.options(t, events, from, to)))
	assert.Equal(t, submits, e.sim.Stats().Submits, "the restart polled the in-flight report instead of submitting again")
	e.assertExactlyOnce(t, "CSAT-Score", o.Topic("CSAT-Score"), from, to)
}
