package cli_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/cli"
)

// TestCompressionReachesTheWire runs the connector with each
// kafka.compression codec and reads the batches' compression attribute
// back from the broker: the setting is what the brokers store, and every
// codec round-trips through a consumer.
func TestCompressionReachesTheWire(t *testing.T) {
	cases := []struct {
		setting string
		attr    uint8 // the batch attribute Kafka's protocol defines
	}{
		{"none", 0},
		{"GZIP", 1},
		{"snappy", 2},
		{"lz4", 3},
		{"zstd", 4},
	}
	for _, tc := range cases {
		t.Run(tc.setting, func(t *testing.T) {
			brokers := startCluster(t)
			secureEnv(t, brokers)
			t.Setenv("KAFKA_COMPRESSION", tc.setting)

			code, _, errs := boundedRun(t)
			require.Equal(t, cli.ExitOK, code, "stderr: %s", errs)
			n := 0
			for _, r := range committedRecords(t, kgo.SeedBrokers(brokers)) {
				n++
				assert.Equal(t, tc.attr, r.Attrs.CompressionType(), "offset %d", r.Offset)
			}
			assert.Equal(t, 120, n, "two hours of 60 rows, each decompressed once")
		})
	}
}
