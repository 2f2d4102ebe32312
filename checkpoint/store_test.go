package checkpoint_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/checkpoint/checkpointtest"
	"github.com/freshstream/freshchat-kafka/internal/kafkatest"
	"github.com/freshstream/freshchat-kafka/sink"
)

func newCluster(t *testing.T) []kgo.Opt { return kafkatest.Cluster(t) }

func txnProducer(t *testing.T, opts []kgo.Opt, id string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append(append([]kgo.Opt{}, opts...), kgo.TransactionalID(id))...)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return cl
}

func write(t *testing.T, cl *kgo.Client, s *checkpoint.Store, commit kgo.TransactionEndTry, ps ...checkpoint.Position) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, cl.BeginTransaction())
	for _, p := range ps {
		r, err := s.Record(p)
		require.NoError(t, err)
		require.NoError(t, cl.ProduceSync(ctx, r).FirstErr())
	}
	require.NoError(t, sink.AwaitPartitions(ctx, cl, s.Topic())) // as the connector's writer does
	require.NoError(t, cl.EndTransaction(ctx, commit))
}

func TestStoreLoadSeesOnlyCommittedNewest(t *testing.T) {
	ctx := context.Background()
	opts := newCluster(t)
	s := checkpoint.NewStore("cp", nil, opts...)
	adm := kadm.NewClient(txnProducer(t, opts, "admin-unused"))

	got, err := s.Load(ctx)
	require.NoError(t, err, "a missing topic is no positions")
	assert.Empty(t, got)

	require.NoError(t, s.Ensure(ctx, adm, 1))
	require.NoError(t, s.Ensure(ctx, adm, 1), "Ensure is idempotent")
	cfgs, err := adm.DescribeTopicConfigs(ctx, "cp")
	require.NoError(t, err)
	rc, err := cfgs.On("cp", nil)
	require.NoError(t, err)
	policy := ""
	for _, c := range rc.Configs {
		if c.Key == "cleanup.policy" && c.Value != nil {
			policy = *c.Value
		}
	}
	assert.Equal(t, "compact", policy)

	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pos := func(ev string, rows int64) checkpoint.Position {
		return checkpoint.Position{Event: ev, WindowStart: t0, WindowEnd: t0.Add(time.Hour), Rows: rows, Produced: rows}
	}
	cl := txnProducer(t, opts, "w")
	write(t, cl, s, kgo.TryCommit, pos("A", 1), pos("B", 1))
	write(t, cl, s, kgo.TryCommit, pos("A", 2))
	write(t, cl, s, kgo.TryAbort, pos("A", 99), pos("B", 99)) // log ends with an abort marker

	got, err = s.Load(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(2), got["A"].Rows)
	assert.Equal(t, int64(1), got["B"].Rows)

}

// TestStoreConformance runs the store's conformance suite on kfake.
func TestStoreConformance(t *testing.T) {
	checkpointtest.TestStore(t, func(t *testing.T) checkpointtest.Env {
		opts := newCluster(t)
		return checkpointtest.Env{Kafka: opts, NewStore: func(topic string, extra ...kgo.Opt) *checkpoint.Store {
			s := checkpoint.NewStore(topic, nil, append(slices.Clone(opts), extra...)...)
			s.SetWait(3 * time.Second)
			return s
		}}
	})
}

func TestStoreEnsureRefusesDeletePolicy(t *testing.T) {
	ctx := context.Background()
	opts := newCluster(t)
	cl, err := kgo.NewClient(opts...)
	require.NoError(t, err)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	del := "delete"
	_, err = adm.CreateTopic(ctx, 1, 1, map[string]*string{"cleanup.policy": &del}, "cp")
	require.NoError(t, err)
	err = checkpoint.NewStore("cp", nil, opts...).Ensure(ctx, adm, 1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cleanup.policy=delete")
}
