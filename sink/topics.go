package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// EnsureTopics creates the topics that are missing, with the given
// partition count and replication factor (-1 for the broker's defaults).
// Existing topics are left as they are.
func EnsureTopics(ctx context.Context, adm *kadm.Client, logger *slog.Logger, partitions int32, replication int16, topics ...string) error {
	return EnsureTopicsWithConfig(ctx, adm, logger, partitions, replication, nil, topics...)
}

// EnsureTopicsWithConfig is EnsureTopics creating the missing topics with
// the topic-level configs (retention.ms, ...); nil: the brokers' defaults.
func EnsureTopicsWithConfig(ctx context.Context, adm *kadm.Client, logger *slog.Logger, partitions int32, replication int16, configs map[string]string, topics ...string) error {
	var cfg map[string]*string
	for k, v := range configs {
		if cfg == nil {
			cfg = make(map[string]*string, len(configs))
		}
		cfg[k] = &v
	}
	resps, err := adm.CreateTopics(ctx, partitions, replication, cfg, topics...)
	if err != nil {
		return fmt.Errorf("creating topics: %w", err)
	}
	var errs error
	for _, t := range topics {
		r, ok := resps[t]
		switch {
		case !ok:
			errs = errors.Join(errs, fmt.Errorf("creating topic %s: no answer from the broker", t))
		case r.Err == nil:
			logger.Info("created topic", "topic", t, "partitions", r.NumPartitions, "replication_factor", r.ReplicationFactor)
		case errors.Is(r.Err, kerr.TopicAlreadyExists):
		default:
			errs = errors.Join(errs, fmt.Errorf("creating topic %s: %w", t, r.Err))
		}
	}
	return errs
}

// ErrNoTransactions means the cluster cannot run Kafka transactions, which
// exactly-once delivery needs.
var ErrNoTransactions = errors.New("the Kafka cluster does not support transactions, which exactly-once delivery needs (Kafka 0.11 or newer, with the transaction state log available)")

// CheckTransactions asks every broker for its API versions and reports
// ErrNoTransactions, naming the brokers, when one lacks the requests a
// transactional producer sends.
func CheckTransactions(ctx context.Context, adm *kadm.Client) error {
	vs, err := adm.ApiVersions(ctx)
	if err != nil {
		return fmt.Errorf("asking the brokers for their API versions: %w", err)
	}
	needed := []struct {
		key  int16
		name string
	}{{22, "InitProducerId"}, {24, "AddPartitionsToTxn"}, {26, "EndTxn"}}
	var missing []string
	for _, v := range vs.Sorted() {
		if v.Err != nil {
			return fmt.Errorf("asking broker %d for its API versions: %w", v.NodeID, v.Err)
		}
		for _, n := range needed {
			if _, ok := v.KeyMaxVersion(n.key); !ok {
				missing = append(missing, fmt.Sprintf("broker %d lacks %s", v.NodeID, n.name))
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s", ErrNoTransactions, strings.Join(missing, ", "))
	}
	return nil
}
