package checkpoint

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Store reads and addresses checkpoint records in a compacted topic.
//
// Writing is the sink's job: Record builds the record that the sink commits
// in the same transaction as the rows it accounts for.
type Store struct {
	topic  string
	opts   []kgo.Opt
	logger *slog.Logger
	wait   time.Duration // see SetWait
	config map[string]string
}

// SetTopicConfig sets topic-level configs (min.insync.replicas,
// compression.type, ...) for the checkpoint topic when Ensure creates it.
// cleanup.policy is always compact and is not taken from it.
func (s *Store) SetTopicConfig(config map[string]string) {
	s.config = make(map[string]string, len(config))
	for k, v := range config {
		if k != "cleanup.policy" {
			s.config[k] = v
		}
	}
}

// NewStore returns a store over topic. opts are the connection options of
// the cluster (seed brokers, TLS, SASL); the store adds its own consumer
// options to them.
func NewStore(topic string, logger *slog.Logger, opts ...kgo.Opt) *Store {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Store{topic: topic, opts: opts, logger: logger}
}

// Topic is the checkpoint topic's name.
func (s *Store) Topic() string { return s.topic }

// Record returns the checkpoint record for p, keyed by its unit key (Position.Key).
func (s *Store) Record(p Position) (*kgo.Record, error) {
	v, err := Encode(p)
	if err != nil {
		return nil, err
	}
	return &kgo.Record{Topic: s.topic, Key: []byte(p.Key()), Value: v}, nil
}

// Ensure creates the checkpoint topic when it is missing: one partition,
// cleanup.policy=compact, so that the newest position of every event is
// kept forever and older ones are cleaned away. An existing topic that is
// not compacted is reported as an error, because retention would one day
// delete positions and make the connector start over.
func (s *Store) Ensure(ctx context.Context, adm *kadm.Client, replication int16) error {
	configs := map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}
	for k, v := range s.config {
		configs[k] = kadm.StringPtr(v)
	}
	resp, err := adm.CreateTopic(ctx, 1, replication, configs, s.topic)
	if err == nil {
		err = resp.Err
	}
	switch {
	case err == nil:
		s.logger.Info("created checkpoint topic", "topic", s.topic, "cleanup.policy", "compact")
	case errors.Is(err, kerr.TopicAlreadyExists):
	default:
		return fmt.Errorf("creating checkpoint topic %s: %w", s.topic, err)
	}
	cfgs, err := adm.DescribeTopicConfigs(ctx, s.topic)
	if err != nil {
		return fmt.Errorf("describing checkpoint topic %s: %w", s.topic, err)
	}
	rc, err := cfgs.On(s.topic, nil)
	if err != nil {
		return fmt.Errorf("describing checkpoint topic %s: %w", s.topic, err)
	}
	if rc.Err != nil {
		return fmt.Errorf("describing checkpoint topic %s: %w", s.topic, rc.Err)
	}
	for _, c := range rc.Configs {
		if c.Key == "cleanup.policy" && c.Value != nil && *c.Value != "compact" && *c.Value != "compact,delete" {
			return fmt.Errorf("checkpoint topic %s has cleanup.policy=%s: set it to compact (kafka-configs --alter --add-config cleanup.policy=compact) or choose another checkpoint topic", s.topic, *c.Value)
		}
	}
	return nil
}

// DefaultWait bounds how long Load waits for transactions that were open
// on the checkpoint topic to end (see SetWait).
const DefaultWait = 2 * time.Minute

// SetWait sets how long Load waits for the transactions open on the topic
// to end before it gives up with an error. Give it at least the
// transaction timeout of the connector's producers: the broker aborts an
// open transaction by then. Zero restores DefaultWait.
func (s *Store) SetWait(d time.Duration) {
	if d <= 0 {
		d = DefaultWait
	}
	s.wait = d
}

// Load returns the newest committed position of every event.
//
// It reads the whole topic, uncommitted records included, and applies
// each transaction's records when its commit marker comes (an abort marker
// discards them). Records written outside a transaction apply at once. So
// an event's newest commit is returned even when another producer's
// transaction is open before it in the log (read_committed would stop at
// that transaction's first record, the last stable offset, and return an
// older position), and records of aborted or still open transactions are
// never returned.
//
// Load reads to the end the topic had when it began, and on until every
// transaction open there has ended; it waits at most the store's wait (see
// SetWait) for that, then fails with an error naming the partition and the
// producer whose transaction stays open. A missing topic yields no
// positions.
//
// Call Load only after the transactional producers that write checkpoints
// have initialised their producer IDs: that fences any earlier instance, so
// no transaction of it can commit after Load has read.
func (s *Store) Load(ctx context.Context) (map[string]Position, error) { // keyed by Position.Key
	out := make(map[string]Position)
	cl, err := kgo.NewClient(s.opts...)
	if err != nil {
		return nil, fmt.Errorf("checkpoint store: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	ends, err := adm.ListEndOffsets(ctx, s.topic)
	if err != nil {
		return nil, fmt.Errorf("listing offsets of checkpoint topic %s: %w", s.topic, err)
	}
	if ends.Error() != nil {
		if errors.Is(ends.Error(), kerr.UnknownTopicOrPartition) {
			return out, nil
		}
		return nil, fmt.Errorf("listing offsets of checkpoint topic %s: %w", s.topic, ends.Error())
	}
	want := make(map[int32]int64)
	parts := make(map[int32]kgo.Offset)
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
			parts[o.Partition] = kgo.NewOffset().AtStart()
		}
	})
	if len(want) == 0 {
		return out, nil
	}

	reader, err := kgo.NewClient(append(append([]kgo.Opt{}, s.opts...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{s.topic: parts}),
		kgo.FetchIsolationLevel(kgo.ReadUncommitted()),
		// Transaction markers decide the records before them.
		kgo.KeepControlRecords(),
	)...)
	if err != nil {
		return nil, fmt.Errorf("checkpoint store: %w", err)
	}
	defer reader.Close()

	wait := s.wait
	if wait <= 0 {
		wait = DefaultWait
	}
	deadline := time.Now().Add(wait)
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	type txn struct {
		partition int32
		first     int64
		records   []*kgo.Record
	}
	open := make(map[int64]*txn) // by producer ID
	var ferr error
	apply := func(r *kgo.Record) {
		if r.Value == nil { // tombstone: the event was forgotten on purpose
			delete(out, string(r.Key))
			return
		}
		pos, err := Decode(r.Value)
		if err != nil {
			ferr = errors.Join(ferr, fmt.Errorf("partition %d offset %d: %w", r.Partition, r.Offset, err))
			return
		}
		out[pos.Key()] = pos
	}
	for len(want) > 0 || len(open) > 0 {
		fetches := reader.PollFetches(wctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("reading checkpoint topic %s: %w", s.topic, err)
		}
		if wctx.Err() != nil {
			for pid, t := range open {
				return nil, fmt.Errorf("reading checkpoint topic %s: a transaction of producer %d has been open since offset %d of partition %d for longer than %s; "+
					"the newest positions lie behind it. It ends when its producer commits or aborts it, or when the broker's transaction timeout aborts it: try again then, "+
					"and check that no other process writes the checkpoint topic", s.topic, pid, t.first, t.partition, wait)
			}
			return nil, fmt.Errorf("reading checkpoint topic %s: not read to its end within %s", s.topic, wait)
		}
		fetches.EachError(func(_ string, _ int32, err error) { ferr = errors.Join(ferr, err) })
		if ferr != nil {
			return nil, fmt.Errorf("reading checkpoint topic %s: %w", s.topic, ferr)
		}
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			for _, r := range p.Records {
				switch {
				case r.Attrs.IsControl():
					t := open[r.ProducerID]
					delete(open, r.ProducerID)
					if t != nil && isCommitMarker(r.Key) {
						for _, tr := range t.records {
							apply(tr)
						}
					}
				case r.Attrs.IsTransactional():
					t := open[r.ProducerID]
					if t == nil {
						t = &txn{partition: r.Partition, first: r.Offset}
						open[r.ProducerID] = t
					}
					t.records = append(t.records, r)
				default:
					apply(r)
				}
			}
			if n := len(p.Records); n > 0 {
				if next := p.Records[n-1].Offset + 1; next >= want[p.Partition] {
					delete(want, p.Partition)
				}
			}
		})
		if ferr != nil {
			return nil, fmt.Errorf("reading checkpoint topic %s: %w", s.topic, ferr)
		}
	}
	return out, nil
}

// isCommitMarker reads a control record's key: version int16, type int16
// (0 abort, 1 commit).
func isCommitMarker(key []byte) bool {
	return len(key) >= 4 && binary.BigEndian.Uint16(key[2:4]) == 1
}
