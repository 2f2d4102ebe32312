package bench

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/internal/kread"
	"github.com/freshstream/freshchat-kafka/schemas"
	"github.com/freshstream/freshchat-kafka/sink"
)

// Kafka is a one-broker kfake cluster on loopback. Each measured run gets a
// fresh one, so no run pays for (or reads) the records of another.
type Kafka struct {
	c *kfake.Cluster
	// Brokers are the listen addresses, for KAFKA_BROKERS.
	Brokers []string
}

// NewKafka starts a cluster.
func NewKafka() (*Kafka, error) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0))
	if err != nil {
		return nil, fmt.Errorf("starting kfake: %w", err)
	}
	return &Kafka{c: c, Brokers: c.ListenAddrs()}, nil
}

// Opts are client options that reach the cluster.
func (k *Kafka) Opts() []kgo.Opt { return []kgo.Opt{kgo.SeedBrokers(k.Brokers...)} }

// Close stops the cluster and drops its data.
func (k *Kafka) Close() { k.c.Close() }

// TopicBytes is the size of topic's record batches as the broker holds
// them (compressed as produced, transaction markers included), from
// DescribeLogDirs: what the codec of kafka.compression saves on disk and on
// the wire.
func (k *Kafka) TopicBytes(ctx context.Context, topic string) (int64, error) {
	cl, err := kgo.NewClient(k.Opts()...)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	dirs, err := kadm.NewClient(cl).DescribeAllLogDirs(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("describing log dirs: %w", err)
	}
	var n int64
	for _, d := range dirs.Sorted() {
		if d.Err != nil {
			return 0, fmt.Errorf("describing log dir %s of broker %d: %w", d.Dir, d.Broker, d.Err)
		}
		d.Topics.Each(func(p kadm.DescribedLogDirPartition) {
			if p.Topic == topic {
				n += p.Size
			}
		})
	}
	return n, nil
}

// sampleEvery is how often Verify decodes a record fully.
const sampleEvery = 100_000

// Verify reads topic as a read_committed consumer and checks that it holds
// exactly want records. Every sampleEvery-th record (the first included) is
// decoded against event's schema: single-object framing with the schema's
// fingerprint, an Avro body that decodes in full, a created_at in
// [from, to), and a key. Counting, not decoding, keeps the check cheap at
// millions of rows; the pipeline's own tests check every cell.
func (k *Kafka) Verify(ctx context.Context, topic, event string, want int, from, to time.Time) error {
	s, err := schemas.Lookup(event)
	if err != nil {
		return err
	}
	prefix := sink.SingleObjectPrefix(s.Fingerprint)
	var n int
	var bad error
	err = kread.Each(ctx, k.Opts(), topic, func(r *kgo.Record) {
		n++
		if bad != nil || (n-1)%sampleEvery != 0 {
			return
		}
		bad = checkRecord(s.Avro, prefix, r, from, to)
	})
	if err != nil {
		return fmt.Errorf("reading %s: %w", topic, err)
	}
	if bad != nil {
		return fmt.Errorf("%s: %w", topic, bad)
	}
	if n != want {
		return fmt.Errorf("%s holds %d committed records, want %d", topic, n, want)
	}
	return nil
}

func checkRecord(schema avro.Schema, prefix []byte, r *kgo.Record, from, to time.Time) error {
	if !bytes.HasPrefix(r.Value, prefix) {
		return fmt.Errorf("record at partition %d offset %d: value does not start with the single-object header % x", r.Partition, r.Offset, prefix)
	}
	var v map[string]any
	if err := avro.Unmarshal(schema, r.Value[len(prefix):], &v); err != nil {
		return fmt.Errorf("record at partition %d offset %d: %w", r.Partition, r.Offset, err)
	}
	created, ok := v[schemas.CreatedAtField].(time.Time)
	if !ok || created.Before(from) || !created.Before(to) {
		return fmt.Errorf("record at partition %d offset %d: created_at %v outside [%s, %s)", r.Partition, r.Offset, v[schemas.CreatedAtField], from, to)
	}
	if len(r.Key) == 0 {
		return fmt.Errorf("record at partition %d offset %d has no key", r.Partition, r.Offset)
	}
	return nil
}
