package connect_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/connect"
)

// TestKafkaOptionsClientID: every Kafka client of the process sends
// kafka.client_id as is, so that client-id quotas match it.
func TestKafkaOptionsClientID(t *testing.T) {
	cfg := config.Defaults(time.Now())
	cfg.Kafka.Brokers = []string{"127.0.0.1:1"}
	for _, id := range []string{"freshchat-connector", "reporting-etl"} {
		cfg.Kafka.ClientID = id
		cl, err := kgo.NewClient(connect.KafkaOptions(cfg.Kafka, nil)...)
		require.NoError(t, err)
		assert.Equal(t, id, cl.OptValue(kgo.ClientID))
		cl.Close()
	}
}
