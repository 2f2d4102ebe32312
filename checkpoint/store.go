package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

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

// Record returns the checkpoint record for p, keyed by its event.
func (s *Store) Record(p Position) (*kgo.Record, error) {
	v, err := Encode(p)
	if err != nil {
		return nil, err
	}
	return &kgo.Record{Topic: s.topic, Key: []byte(p.Event), Value: v}, nil
}

// Ensure creates the checkpoint topic when it is missing: one partition,
// cleanup.policy=compact, so that the newest position of every event is
// kept forever and older ones are cleaned away. An existing topic that is
// not compacted is reported as an error, because retention would one day
// delete positions and make the connector start over.
func (s *Store) Ensure(ctx context.Context, adm *kadm.Client, replication int16) error {
	compact := "compact"
	resp, err := adm.CreateTopic(ctx, 1, replication, map[string]*string{"cleanup.policy": &compact}, s.topic)
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

// Load reads the checkpoint topic with read_committed isolation from the
// beginning up to its last stable offset and returns the newest position
// of every event. Records of transactions that are still open or were
// aborted are never seen. A missing topic yields no positions.
//
// Call Load only after the transactional producers that write checkpoints
// have initialised their producer IDs: that fences any earlier instance, so
// no transaction of it can commit after Load has read.
func (s *Store) Load(ctx context.Context) (map[string]Position, error) {
	out := make(map[string]Position)
	cl, err := kgo.NewClient(s.opts...)
	if err != nil {
		return nil, fmt.Errorf("checkpoint store: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	ends, err := adm.ListCommittedOffsets(ctx, s.topic)
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
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Transaction markers are kept so that reading reaches the last
		// stable offset even when the log ends with a marker.
		kgo.KeepControlRecords(),
	)...)
	if err != nil {
		return nil, fmt.Errorf("checkpoint store: %w", err)
	}
	defer reader.Close()

	for len(want) > 0 {
		fetches := reader.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("reading checkpoint topic %s: %w", s.topic, err)
		}
		var ferr error
		fetches.EachError(func(_ string, _ int32, err error) { ferr = errors.Join(ferr, err) })
		if ferr != nil {
			return nil, fmt.Errorf("reading checkpoint topic %s: %w", s.topic, ferr)
		}
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			for _, r := range p.Records {
				if r.Attrs.IsControl() {
					continue
				}
				if r.Value == nil { // tombstone: the event was forgotten on purpose
					delete(out, string(r.Key))
					continue
				}
				pos, err := Decode(r.Value)
				if err != nil {
					ferr = errors.Join(ferr, fmt.Errorf("partition %d offset %d: %w", r.Partition, r.Offset, err))
					continue
				}
				out[pos.Event] = pos
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
