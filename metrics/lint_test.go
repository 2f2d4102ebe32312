package metrics_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/metrics"
	"github.com/freshstream/freshchat-kafka/source"
)

// TestMetricNamesFollowConventions runs Prometheus' own linter over every
// family the connector exposes, Kafka's included.
func TestMetricNamesFollowConventions(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0), kfake.SeedTopics(1, "t"))
	require.NoError(t, err)
	defer c.Close()
	m := metrics.New(metrics.Options{})
	require.NoError(t, m.WatchSource(func() source.Stats {
		return source.Stats{Requests: map[source.RequestKey]int64{{Endpoint: source.EndpointGet, Code: 200}: 1}}
	}))
	m.ChunkCommitted("E", 1, 1, 0)
	m.TransactionAborted("E")
	m.WindowCommitted("E", time.Now())
	m.SetProgress("E", time.Now(), time.Now())
	m.SetBackfillETA("E", time.Minute)
	m.ReportReady("E", time.Second)
	m.EventFailed("E", assert.AnError)
	m.SetUnits([]string{"E", "acme/E"})
	m.Rebalanced(1, 0)
	m.AccountFailed("acme", assert.AnError)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), m.KafkaHooks())
	require.NoError(t, err)
	defer cl.Close()
	require.NoError(t, cl.ProduceSync(context.Background(), &kgo.Record{Topic: "t", Value: []byte("v")}).FirstErr())

	families, err := m.Registry().Gather()
	require.NoError(t, err)
	problems, err := promlint.NewWithMetricFamilies(families).Lint()
	require.NoError(t, err)
	assert.Empty(t, problems)
}
