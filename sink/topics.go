package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// EnsureTopics creates the topics that are missing, with the given
// partition count and replication factor (-1 for the broker's defaults).
// Existing topics are left as they are.
func EnsureTopics(ctx context.Context, adm *kadm.Client, logger *slog.Logger, partitions int32, replication int16, topics ...string) error {
	resps, err := adm.CreateTopics(ctx, partitions, replication, nil, topics...)
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
