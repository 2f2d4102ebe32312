package sink_test

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/freshstream/freshchat-kafka/internal/kafkatest"
	"github.com/freshstream/freshchat-kafka/internal/kread"
	"github.com/freshstream/freshchat-kafka/sink"
)

func cluster(t *testing.T) []kgo.Opt { return kafkatest.Cluster(t) }

// readCommitted returns the values visible to a read_committed consumer.
func readCommitted(t *testing.T, opts []kgo.Opt, topic string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recs, err := kread.ReadCommitted(ctx, opts, topic)
	require.NoError(t, err)
	var out []string
	for _, r := range recs {
		out = append(out, string(r.Value))
	}
	return out
}

func TestWriterCommitAndAbort(t *testing.T) {
	ctx := context.Background()
	opts := cluster(t)
	cl, err := kgo.NewClient(opts...)
	require.NoError(t, err)
	defer cl.Close()
	require.NoError(t, sink.EnsureTopics(ctx, kadm.NewClient(cl), discard(), 3, 1, "rows", "cp"))
	require.NoError(t, sink.EnsureTopics(ctx, kadm.NewClient(cl), discard(), 3, 1, "rows"), "existing topics are fine")

	w, err := sink.NewWriter(ctx, sink.WriterConfig{TransactionalID: "t1", TransactionTimeout: 10 * time.Second}, opts...)
	require.NoError(t, err)
	defer w.Close(ctx)

	require.NoError(t, w.Begin())
	w.Produce(ctx, &kgo.Record{Topic: "rows", Key: []byte("k"), Value: []byte("a")})
	w.Produce(ctx, &kgo.Record{Topic: "rows", Key: []byte("k"), Value: []byte("b")})
	require.NoError(t, w.Commit(ctx, &kgo.Record{Topic: "cp", Key: []byte("E"), Value: []byte("cp1")}))

	require.NoError(t, w.Begin())
	w.Produce(ctx, &kgo.Record{Topic: "rows", Key: []byte("k"), Value: []byte("aborted")})
	require.NoError(t, w.Abort(ctx))

	require.NoError(t, w.Begin())
	w.Produce(ctx, &kgo.Record{Topic: "rows", Value: []byte("c")})
	// A record the client cannot send fails the whole transaction.
	w.Produce(ctx, &kgo.Record{Topic: "rows", Value: make([]byte, 2<<20)})
	err = w.Commit(ctx, &kgo.Record{Topic: "cp", Key: []byte("E"), Value: []byte("cp-bad")})
	require.Error(t, err)
	assert.False(t, sink.IsFenced(err))

	assert.ElementsMatch(t, []string{"a", "b"}, readCommitted(t, opts, "rows"))
	assert.Equal(t, []string{"cp1"}, readCommitted(t, opts, "cp"))
}

func TestSecondWriterFencesFirst(t *testing.T) {
	ctx := context.Background()
	opts := cluster(t)
	cl, err := kgo.NewClient(opts...)
	require.NoError(t, err)
	defer cl.Close()
	require.NoError(t, sink.EnsureTopics(ctx, kadm.NewClient(cl), discard(), 1, 1, "rows"))

	cfg := sink.WriterConfig{TransactionalID: "same", TransactionTimeout: 10 * time.Second}
	first, err := sink.NewWriter(ctx, cfg, opts...)
	require.NoError(t, err)
	defer first.Close(ctx)
	require.NoError(t, first.Begin())
	first.Produce(ctx, &kgo.Record{Topic: "rows", Value: []byte("from-first")})
	require.NoError(t, first.Client().Flush(ctx))

	second, err := sink.NewWriter(ctx, cfg, opts...)
	require.NoError(t, err)
	defer second.Close(ctx)

	err = first.Commit(ctx, nil)
	require.Error(t, err)
	assert.True(t, errors.Is(err, sink.ErrFenced), "got %v", err)
	assert.True(t, sink.IsFenced(err))
	assert.ErrorIs(t, first.Begin(), sink.ErrFenced, "a fenced writer never writes again")

	require.NoError(t, second.Begin())
	second.Produce(ctx, &kgo.Record{Topic: "rows", Value: []byte("from-second")})
	require.NoError(t, second.Commit(ctx, nil))
	assert.Equal(t, []string{"from-second"}, readCommitted(t, opts, "rows"))
}

func TestFraming(t *testing.T) {
	fp := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	p, err := sink.SingleObject{}.Prefix(context.Background(), "t", "{}", fp)
	require.NoError(t, err)
	assert.Equal(t, []byte{0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8}, p)

	cp, err := sink.ConfluentPrefix(300)
	require.NoError(t, err)
	assert.Equal(t, []byte{0, 0, 0, 1, 0x2c}, cp)

	reg := srfake.New()
	defer reg.Close()
	rc, err := sr.NewClient(sr.URLs(reg.URL()))
	require.NoError(t, err)
	schema := `{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}`
	c := sink.Confluent{Client: rc}
	p1, err := c.Prefix(context.Background(), "freshchat.message-sent", schema, fp)
	require.NoError(t, err)
	p2, err := c.Prefix(context.Background(), "freshchat.message-sent", schema, fp)
	require.NoError(t, err)
	assert.Equal(t, p1, p2, "registering the same schema again keeps its ID")
	require.Len(t, p1, 5)
	assert.Equal(t, byte(0), p1[0])
	id := int(binary.BigEndian.Uint32(p1[1:]))
	ss, err := rc.SchemaByVersion(context.Background(), "freshchat.message-sent-value", -1)
	require.NoError(t, err)
	assert.Equal(t, ss.ID, id)
}
