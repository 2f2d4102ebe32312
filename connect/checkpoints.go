package connect

import (
	"context"
	"fmt"
	"strings"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/config"
)

// LoadPositions reads the committed positions from k's checkpoint topic,
// keyed by unit (see checkpoint.Store.Load); watch may be nil. Its error
// names the brokers to check.
func LoadPositions(ctx context.Context, k config.Kafka, watch *SecurityWatch) (map[string]checkpoint.Position, error) {
	positions, err := checkpoint.NewStore(k.CheckpointTopic, nil, KafkaOptions(k, watch)...).Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the checkpoints: %w; check kafka.brokers (KAFKA_BROKERS=%s) and the brokers' health",
			err, strings.Join(k.Brokers, ","))
	}
	return positions, nil
}
