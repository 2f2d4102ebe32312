// Package checkpointtest is a conformance suite for checkpoint stores, in
// the spirit of testing/fstest.TestFS: TestStore writes checkpoint records
// the way the connector does (transactional producers, one key per event)
// and checks that the store's Load returns exactly the newest committed
// position of every event, whatever else is happening on the topic.
package checkpointtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/sink"
)

// Env is one cluster to test on.
type Env struct {
	// Kafka are the connection options of the cluster.
	Kafka []kgo.Opt
	// NewStore returns the store under test over topic, its Kafka clients
	// built with opts added to the cluster's (the suite's hooks, to see
	// where Load is). Its wait (see checkpoint.Store.SetWait) should be a
	// few seconds: the suite checks that a transaction that never ends
	// makes Load fail, not hang.
	NewStore func(topic string, opts ...kgo.Opt) *checkpoint.Store
}

// TestStore runs the suite. newEnv is called once per subtest and returns a
// cluster of its own (or one shared, if topics do not clash: every subtest
// uses its own topic).
func TestStore(t *testing.T, newEnv func(t *testing.T) Env) {
	tests := []struct {
		name string
		run  func(t *testing.T, h *harness)
	}{
		{"NewestCommitBehindAnotherOpenTransaction", newestBehindOpen},
		{"LoadWaitsForTransactionsOpenBeforeIt", waitsForOpen},
		{"TransactionThatNeverEndsIsAnError", neverEnds},
		{"AbortedRecordsAreNeverReturned", abortedNeverReturned},
		{"KeysAreEventsAndTombstonesForget", keysAndTombstones},
		{"SeveralEventsAndWriters", severalWriters},
		{"MissingOrEmptyTopicHasNoPositions", missingTopic},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t)
			h := &harness{t: t, env: env, topic: fmt.Sprintf("checkpoints-%d", i), listed: make(listings, 1)}
			h.store = env.NewStore(h.topic, kgo.WithHooks(h.listed))
			tt.run(t, h)
		})
	}
}

type harness struct {
	t      *testing.T
	env    Env
	topic  string
	store  *checkpoint.Store
	listed listings
}

// listings is a kgo hook that signals the ListOffsets answers the store's
// clients read: Load has learnt where the topic ends, and so which
// transactions it must see end.
type listings chan struct{}

func (l listings) OnBrokerRead(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if key == kmsg.ListOffsets.Int16() && err == nil {
		select {
		case l <- struct{}{}:
		default:
		}
	}
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// pos is a position of event in the first hour of 2026 with rows committed.
func pos(event string, rows int64) checkpoint.Position {
	return checkpoint.Position{Event: event, WindowStart: t0, WindowEnd: t0.Add(time.Hour), Rows: rows, Produced: rows,
		Digest: checkpoint.NewDigest, CommittedAt: t0}
}

// ensure creates the topic.
func (h *harness) ensure() {
	cl, err := kgo.NewClient(h.env.Kafka...)
	require.NoError(h.t, err)
	defer cl.Close()
	require.NoError(h.t, h.store.Ensure(context.Background(), kadm.NewClient(cl), 1))
}

// producer is a transactional producer with its own transactional ID.
func (h *harness) producer(id string) *kgo.Client {
	cl, err := kgo.NewClient(append(append([]kgo.Opt{}, h.env.Kafka...),
		kgo.TransactionalID(h.topic+"-"+id), kgo.TransactionTimeout(time.Minute))...)
	require.NoError(h.t, err)
	h.t.Cleanup(cl.Close)
	return cl
}

// begin opens a transaction of cl holding ps.
func (h *harness) begin(cl *kgo.Client, ps ...checkpoint.Position) {
	ctx := context.Background()
	require.NoError(h.t, cl.BeginTransaction())
	for _, p := range ps {
		r, err := h.store.Record(p)
		require.NoError(h.t, err)
		require.NoError(h.t, cl.ProduceSync(ctx, r).FirstErr())
	}
}

// end ends cl's transaction, waiting first for the client to list the
// topic's partitions, as the connector's writer does (see
// sink.AwaitPartitions).
func (h *harness) end(cl *kgo.Client, commit kgo.TransactionEndTry) {
	require.NoError(h.t, sink.AwaitPartitions(context.Background(), cl, h.store.Topic()))
	require.NoError(h.t, cl.EndTransaction(context.Background(), commit))
}

// commit writes ps in one committed transaction of cl.
func (h *harness) commit(cl *kgo.Client, ps ...checkpoint.Position) {
	h.begin(cl, ps...)
	h.end(cl, kgo.TryCommit)
}

// loadAsync runs Load in the background and returns once Load has listed
// the topic's end offsets: a transaction open now is one Load must see
// end. Its positions arrive on the channel returned.
func (h *harness) loadAsync() <-chan map[string]checkpoint.Position {
	select {
	case <-h.listed: // an earlier Load's
	default:
	}
	done := make(chan map[string]checkpoint.Position, 1)
	go func() {
		got, err := h.store.Load(context.Background())
		assert.NoError(h.t, err)
		done <- got
	}()
	select {
	case <-h.listed:
	case got := <-done:
		h.t.Fatalf("Load returned %v without listing the topic's end offsets", rows(got))
	case <-time.After(time.Minute):
		h.t.Fatal("Load did not list the topic's end offsets within a minute")
	}
	return done
}

func (h *harness) load() map[string]checkpoint.Position {
	got, err := h.store.Load(context.Background())
	require.NoError(h.t, err)
	return got
}

func rows(m map[string]checkpoint.Position) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v.Rows
	}
	return out
}

// newestBehindOpen is the reproduction of a stale resume: B commits 5, A
// opens a transaction, B commits 10. Load must return 10 (once A's
// transaction has ended), never 5.
func newestBehindOpen(t *testing.T, h *harness) {
	h.ensure()
	a, b := h.producer("a"), h.producer("b")
	h.commit(b, pos("B", 5))
	h.begin(a, pos("A", 1))
	h.commit(b, pos("B", 10))

	done := h.loadAsync() // Load reads on to A's open transaction
	h.end(a, kgo.TryAbort)
	got := <-done
	assert.Equal(t, map[string]int64{"B": 10}, rows(got), "the newest commit of B, and nothing of A's aborted transaction")
}

// waitsForOpen: a transaction open when Load begins and committed while it
// waits is part of what Load returns.
func waitsForOpen(t *testing.T, h *harness) {
	h.ensure()
	a, b := h.producer("a"), h.producer("b")
	h.commit(a, pos("A", 1))
	h.begin(b, pos("B", 7))
	h.commit(a, pos("A", 2))

	done := h.loadAsync() // Load must wait for B's transaction: had it not, B's commit would be missing below
	select {
	case got := <-done:
		t.Fatalf("Load returned %v while a transaction was open before the newest commit", rows(got))
	default:
	}
	h.end(b, kgo.TryCommit)
	assert.Equal(t, map[string]int64{"A": 2, "B": 7}, rows(<-done))
}

// neverEnds: a transaction that stays open past the store's wait makes
// Load fail with an error that says so, instead of returning a stale
// position or hanging.
func neverEnds(t *testing.T, h *harness) {
	h.ensure()
	a, b := h.producer("a"), h.producer("b")
	h.commit(a, pos("A", 1))
	h.begin(b, pos("B", 1))
	t.Cleanup(func() { _ = b.EndTransaction(context.Background(), kgo.TryAbort) })
	h.commit(a, pos("A", 2))

	began := time.Now()
	_, err := h.store.Load(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "open")
	assert.Contains(t, err.Error(), h.topic)
	assert.Less(t, time.Since(began), time.Minute, "bounded by the store's wait")
}

// abortedNeverReturned: aborted records, also at the end of the log, are
// never returned.
func abortedNeverReturned(t *testing.T, h *harness) {
	h.ensure()
	a := h.producer("a")
	h.commit(a, pos("A", 1), pos("B", 1))
	h.commit(a, pos("A", 2))
	h.begin(a, pos("A", 99), pos("B", 99))
	h.end(a, kgo.TryAbort) // the log ends with an abort marker
	assert.Equal(t, map[string]int64{"A": 2, "B": 1}, rows(h.load()))
}

// keysAndTombstones: records are keyed by event (the newest survives
// compaction), and a tombstone forgets an event.
func keysAndTombstones(t *testing.T, h *harness) {
	h.ensure()
	p := pos("Message-Sent", 3)
	r, err := h.store.Record(p)
	require.NoError(t, err)
	assert.Equal(t, h.topic, r.Topic)
	assert.Equal(t, []byte("Message-Sent"), r.Key, "one key per event, so compaction keeps each event's newest position")
	a := h.producer("a")
	h.commit(a, p, pos("CSAT-Score", 4))
	require.NoError(t, a.BeginTransaction())
	require.NoError(t, a.ProduceSync(context.Background(), &kgo.Record{Topic: h.topic, Key: []byte("CSAT-Score")}).FirstErr())
	h.end(a, kgo.TryCommit)
	got := h.load()
	assert.Equal(t, map[string]int64{"Message-Sent": 3}, rows(got))
	assert.Equal(t, p.WindowEnd, got["Message-Sent"].WindowEnd.UTC())
}

// severalWriters: many events, each with its own producer, interleaving
// commits and aborts; Load returns each event's newest commit.
func severalWriters(t *testing.T, h *harness) {
	h.ensure()
	const events = 6
	prods := make([]*kgo.Client, events)
	for i := range prods {
		prods[i] = h.producer(fmt.Sprint(i))
	}
	want := map[string]int64{}
	for round := int64(1); round <= 4; round++ {
		for i, cl := range prods {
			ev := fmt.Sprintf("E%d", i)
			h.begin(cl, pos(ev, round*10+int64(i)))
			if (int64(i)+round)%3 == 0 {
				h.end(cl, kgo.TryAbort)
				continue
			}
			h.end(cl, kgo.TryCommit)
			want[ev] = round*10 + int64(i)
		}
	}
	// One transaction left open while another producer commits.
	h.begin(prods[0], pos("E0", 999))
	h.commit(prods[1], pos("E1", 1000))
	want["E1"] = 1000
	done := h.loadAsync()
	h.end(prods[0], kgo.TryAbort)
	assert.Equal(t, want, rows(<-done))
}

// missingTopic: no topic, or an empty one, is no positions.
func missingTopic(t *testing.T, h *harness) {
	assert.Empty(t, h.load(), "missing topic")
	h.ensure()
	assert.Empty(t, h.load(), "empty topic")
}
