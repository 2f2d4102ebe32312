package pipeline_test

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/freshstream/freshchat-kafka/internal/kafkatest"
	"github.com/freshstream/freshchat-kafka/internal/kread"
	"github.com/freshstream/freshchat-kafka/internal/porttest"
	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/sink"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

// dialFailures is a kgo hook that signals failed connections to a broker.
type dialFailures chan struct{}

func (d dialFailures) OnBrokerConnect(_ kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err != nil {
		select {
		case d <- struct{}{}:
		default:
		}
	}
}

// TestBrokerRestartMidRunKeepsExactlyOnce restarts the Kafka broker (same
// port, same data folder) while a backfill runs: the connector waits, takes
// up from its last commit, and every row still lands once.
func TestBrokerRestartMidRunKeepsExactlyOnce(t *testing.T) {
	b := kafkatest.StartBroker(t, kfake.DataDir(t.TempDir()))
	e := newEnv(t, 1500, freshchattest.Faults{PendingPolls: 2, LinksPerReport: 2}, false)
	gone := make(dialFailures, 1)
	e.kafka = append(b.Opts(), kgo.WithHooks(gone))
	from, to := span(8)
	events := []string{"Message-Sent", "Conversation-Created"}
	o := e.options(t, events, from, to)
	o.Limits.Rows = 200
	o.Retry = pipeline.Backoff{Base: 50 * time.Millisecond, Max: 500 * time.Millisecond}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := pipeline.New(ctx, o)
	require.NoError(t, err)
	defer p.Close(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	require.Eventually(t, func() bool {
		recs, err := kread.ReadCommitted(ctx, e.kafka, o.CheckpointTopic)
		return err == nil && len(recs) >= 10
	}, time.Minute, 10*time.Millisecond)
	select {
	case <-gone: // a failure from before the restart says nothing of it
	default:
	}
	b.Stop()
	select {
	case <-gone: // the connector sees the broker gone
	case <-ctx.Done():
		t.Fatal("the connector never tried the stopped broker")
	}
	b.Start()

	require.NoError(t, <-done)
	for _, ev := range events {
		e.assertExactlyOnce(t, ev, o.Topic(ev), from, to)
	}
}

// TestFailedCommitResumesFromLastCommit: a commit whose outcome the client
// cannot know (the broker answers EndTxn with an error) is treated like a
// crash inside the process: the producer starts anew, which aborts the open
// transaction, the committed position is read back, and the window goes on
// from there with nothing lost or doubled.
func TestFailedCommitResumesFromLastCommit(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0))
	require.NoError(t, err)
	defer c.Close()
	e := newEnv(t, 600, freshchattest.Faults{}, false)
	e.kafka = []kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)}
	from, to := span(3)
	o := e.options(t, []string{"Response-Time"}, from, to)
	o.Limits.Rows = 100
	o.Retry = pipeline.Backoff{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond}

	var ends, failed atomic.Int32
	c.ControlKey(int16(kmsg.EndTxn), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		// Fail the 7th and 15th commits, mid-window, after their rows were
		// sent: the broker answers with an error whose outcome is unknown.
		if n := ends.Add(1); n == 7 || n == 15 {
			failed.Add(1)
			resp := req.ResponseKind().(*kmsg.EndTxnResponse)
			resp.ErrorCode = kerr.UnknownServerError.Code
			return resp, nil, true
		}
		return nil, nil, false
	})
	obs := &failures{}
	o.Observer = obs
	require.NoError(t, run(t, o))
	assert.EqualValues(t, 2, failed.Load())
	assert.Contains(t, e.logs.String(), "resumed after failure")
	// The observer hears of every failed window: the two injected, and any
	// other the run met and recovered from (under load, a retried produce
	// can come back OUT_OF_ORDER_SEQUENCE_NUMBER, a failed commit too).
	got := obs.get()
	assert.Len(t, got, strings.Count(e.logs.String(), "window failed; resuming from the last commit"), "one observed failure per failed window")
	injected := 0
	for _, err := range got {
		assert.Contains(t, err, "Response-Time: committing chunk")
		if strings.Contains(err, "UNKNOWN_SERVER_ERROR") {
			injected++
		}
	}
	assert.Equal(t, 2, injected, "both injected failures were observed: %q", got)
	e.assertExactlyOnce(t, "Response-Time", o.Topic("Response-Time"), from, to)
}

// TestUnreachableBrokersAtStart: New waits for brokers, then gives up with a
// message that says what to check once ConnectTimeout has passed.
func TestUnreachableBrokersAtStart(t *testing.T) {
	e := newEnv(t, 60, freshchattest.Faults{}, false)
	e.kafka = []kgo.Opt{kgo.SeedBrokers(porttest.Reserve(t).Addr())} // refuses connections
	from, to := span(1)
	o := e.options(t, []string{"CSAT-Score"}, from, to)
	o.ConnectTimeout = 1500 * time.Millisecond
	o.Retry = pipeline.Backoff{Base: 100 * time.Millisecond, Max: 200 * time.Millisecond}
	_, err := pipeline.New(context.Background(), o)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "kafka brokers unreachable")
	assert.Contains(t, err.Error(), "KAFKA_BROKERS")
	assert.Contains(t, e.logs.String(), "retrying", "each attempt is logged")
}

// TestBrokerWithoutTransactionsIsRefused: a cluster too old for
// transactions is a clear error at start.
func TestBrokerWithoutTransactionsIsRefused(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0), kfake.MaxVersions(kversion.V0_10_2()))
	require.NoError(t, err)
	defer c.Close()
	e := newEnv(t, 60, freshchattest.Faults{}, false)
	e.kafka = []kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)}
	from, to := span(1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = pipeline.New(ctx, e.options(t, []string{"CSAT-Score"}, from, to))
	require.Error(t, err)
	assert.ErrorIs(t, err, sink.ErrNoTransactions)
	assert.Contains(t, err.Error(), "lacks InitProducerId")
}
