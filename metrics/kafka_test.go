package metrics_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/metrics"
)

const kafkaClientsHelp = `# HELP freshchat_connector_kafka_clients Kafka clients open.
# TYPE freshchat_connector_kafka_clients gauge
`

func TestKafkaHooksShareOneKpromAcrossClients(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0), kfake.SeedTopics(1, "freshchat.message-sent", "freshchat.csat-score"))
	require.NoError(t, err)
	t.Cleanup(c.Close)

	m := metrics.New(metrics.Options{})
	url := scrape(t, m)
	n, err := testutil.GatherAndCount(m.Registry(), "freshchat_connector_kafka_connects_total")
	require.NoError(t, err)
	assert.Zero(t, n, "no Kafka families before the first client")

	// The connector's clients all share one set of options, hook included.
	opts := []kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...), m.KafkaHooks()}
	newClient := func() *kgo.Client {
		cl, err := kgo.NewClient(opts...)
		require.NoError(t, err)
		return cl
	}
	a, b := newClient(), newClient() // a second client must not panic on registration
	defer b.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 3 {
		require.NoError(t, a.ProduceSync(ctx, &kgo.Record{Topic: "freshchat.message-sent", Value: []byte("x")}).FirstErr())
		require.NoError(t, b.ProduceSync(ctx, &kgo.Record{Topic: "freshchat.message-sent", Value: []byte("y")}).FirstErr())
	}
	require.NoError(t, b.ProduceSync(ctx, &kgo.Record{Topic: "freshchat.csat-score", Value: []byte("z")}).FirstErr())

	want := `# HELP freshchat_connector_kafka_produce_records_total Total number of records produced
# TYPE freshchat_connector_kafka_produce_records_total counter
freshchat_connector_kafka_produce_records_total{topic="freshchat.csat-score"} 1
freshchat_connector_kafka_produce_records_total{topic="freshchat.message-sent"} 6
` + kafkaClientsHelp + "freshchat_connector_kafka_clients 2\n"
	eventuallyScraped(t, url, want, "freshchat_connector_kafka_produce_records_total", "freshchat_connector_kafka_clients")

	for _, family := range []string{
		"freshchat_connector_kafka_connects_total",
		"freshchat_connector_kafka_write_bytes_total",
		"freshchat_connector_kafka_read_bytes_total",
		"freshchat_connector_kafka_produce_uncompressed_bytes_total",
		"freshchat_connector_kafka_produce_batches_total",
		"freshchat_connector_kafka_request_duration_e2e_seconds",
		"freshchat_connector_kafka_producer_buffered_records",
		"freshchat_connector_kafka_consumer_buffered_bytes",
	} {
		n, err := testutil.GatherAndCount(m.Registry(), family)
		require.NoError(t, err)
		assert.Positive(t, n, family)
	}
	// kprom's own buffered gauges are bound to one client; they are replaced.
	n, err = testutil.GatherAndCount(m.Registry(), "freshchat_connector_kafka_buffered_produce_records_total", "freshchat_connector_kafka_buffered_fetch_bytes")
	require.NoError(t, err)
	assert.Zero(t, n)

	// Closing a client keeps its counts in the totals.
	a.Close()
	want = strings.Replace(want, "freshchat_connector_kafka_clients 2", "freshchat_connector_kafka_clients 1", 1)
	require.NoError(t, testutil.ScrapeAndCompare(url, strings.NewReader(want),
		"freshchat_connector_kafka_produce_records_total", "freshchat_connector_kafka_clients"))

	// A client made after others closed (a producer restarted after a
	// failure) adds to the same families.
	cl := newClient()
	defer cl.Close()
	require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Topic: "freshchat.csat-score", Value: []byte("z")}).FirstErr())
	want = strings.Replace(want, `{topic="freshchat.csat-score"} 1`, `{topic="freshchat.csat-score"} 2`, 1)
	want = strings.Replace(want, "freshchat_connector_kafka_clients 1", "freshchat_connector_kafka_clients 2", 1)
	eventuallyScraped(t, url, want, "freshchat_connector_kafka_produce_records_total", "freshchat_connector_kafka_clients")
}

// eventuallyScraped waits until a scrape of url shows want for families:
// franz-go may run the batch-written hook, in which kprom counts records,
// after ProduceSync's promise returned.
func eventuallyScraped(t *testing.T, url, want string, families ...string) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if err = testutil.ScrapeAndCompare(url, strings.NewReader(want), families...); err == nil || time.Now().After(deadline) {
			break
		}
	}
	require.NoError(t, err)
}
