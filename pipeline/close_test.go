package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/freshstream/freshchat-kafka/internal/kafkatest"
	"github.com/freshstream/freshchat-kafka/internal/kread"
	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

// TestCloseDuringOutageIsBounded closes a pipeline with a transaction open
// while its broker is down: Close gives up on the abort when its context
// ends (rather than after the minute the producer would wait for the
// coordinator) and says the transaction may still be open. Once the broker
// is back, the next pipeline with the same transactional IDs fences the
// producer and the transaction's record is never visible to read_committed
// consumers.
func TestCloseDuringOutageIsBounded(t *testing.T) {
	b := kafkatest.StartBroker(t, kfake.DataDir(t.TempDir()))
	c := b.Cluster()
	e := newEnv(t, 60, freshchattest.Faults{}, false)
	e.kafka = b.Opts()
	from, to := span(1)
	o := e.options(t, []string{"Message-Sent", "CSAT-Score"}, from, to)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	p, err := pipeline.New(ctx, o)
	require.NoError(t, err)
	w := p.Writer("Message-Sent")
	require.NoError(t, w.Begin())
	w.Produce(ctx, &kgo.Record{Topic: o.Topic("Message-Sent"), Value: []byte("never committed")})
	require.NoError(t, w.Client().Flush(ctx), "the record is on the broker, in the open transaction")
	// The broker goes away while the next record is being produced:
	// aborting waits for that produce request.
	inFlight := make(chan struct{})
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		close(inFlight)
		c.SleepControl(func() { select {} }) // until the cluster closes
		return nil, nil, false
	})
	w.Produce(ctx, &kgo.Record{Topic: o.Topic("Message-Sent"), Value: []byte("never acknowledged")})
	<-inFlight
	b.Stop()

	cctx, ccancel := context.WithTimeout(context.Background(), time.Second)
	defer ccancel()
	began := time.Now()
	err = p.Close(cctx)
	took := time.Since(began)
	t.Logf("Close returned after %s: %v", took.Round(time.Millisecond), err)
	assert.Less(t, took, 5*time.Second, "Close honours its context's deadline")
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "aborting open transactions")
	assert.Contains(t, err.Error(), "event Message-Sent")
	assert.NotContains(t, err.Error(), "event CSAT-Score", "a producer without a transaction closes cleanly")

	b.Start()
	p, err = pipeline.New(ctx, o) // fences the producers: the open transaction is aborted
	require.NoError(t, err)
	require.NoError(t, p.Close(ctx))
	recs, err := kread.ReadCommitted(ctx, e.kafka, o.Topic("Message-Sent"))
	require.NoError(t, err)
	assert.Empty(t, recs, "nothing of the transaction is visible to read_committed consumers")
}
