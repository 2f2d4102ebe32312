package cli

import (
	"fmt"
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/internal/logbuf"
	"github.com/freshstream/freshchat-kafka/metrics"
)

// TestKafkaWatchRateLimitsAndRecovers drives the watch through an outage on
// a fake clock: one warning at once, then at most one per kafkaWarnEvery
// with the count of failed attempts, readiness failing with the cause, and
// one line when a dial succeeds again.
func TestKafkaWatchRateLimitsAndRecovers(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	now := t0
	logs := &logbuf.Buffer{}
	ready := &metrics.Readiness{}
	ready.SetConnected(true)
	w := newKafkaWatch(slog.New(slog.NewTextHandler(logs, nil)), ready)
	w.now = func() time.Time { return now }
	broker := kgo.BrokerMetadata{NodeID: 1, Host: "127.0.0.1", Port: 9092}
	refused := fmt.Errorf("unable to dial: dial tcp 127.0.0.1:9092: %w", syscall.ECONNREFUSED)
	warnings := func() int { return strings.Count(logs.String(), `msg="kafka brokers unreachable"`) }

	w.OnBrokerConnect(broker, 0, nil, refused)
	assert.Empty(t, logs.String(), "nothing before arm: the pipeline waits for the brokers itself")
	require.NoError(t, ready.Check(now, 0))

	w.arm()
	w.OnBrokerConnect(broker, 0, nil, kgo.ErrClientClosed)
	assert.Empty(t, logs.String(), "a client closing says nothing of the brokers")
	require.NoError(t, ready.Check(now, 0))

	w.OnBrokerConnect(broker, 0, nil, refused)
	assert.Equal(t, 1, warnings(), "the first failure is said at once")
	assert.Contains(t, logs.String(), "level=WARN")
	assert.Contains(t, logs.String(), "broker=127.0.0.1:9092")
	assert.Contains(t, logs.String(), "connection refused")
	err := ready.Check(now.Add(5*time.Second), 0)
	require.ErrorIs(t, err, metrics.ErrNotConnected)
	assert.Contains(t, err.Error(), "brokers unreachable for 5s")
	assert.Contains(t, err.Error(), "127.0.0.1:9092")

	for i := range 20 {
		now = t0.Add(time.Duration(i+1) * time.Second)
		w.OnBrokerConnect(broker, 0, nil, refused)
	}
	assert.Equal(t, 1, warnings(), "no more than one warning per %s", kafkaWarnEvery)

	now = t0.Add(kafkaWarnEvery)
	w.OnBrokerConnect(broker, 0, nil, refused)
	assert.Equal(t, 2, warnings())
	assert.Contains(t, logs.String(), "failed_attempts=22 unreachable_for=30s")

	now = t0.Add(42 * time.Second)
	w.OnBrokerConnect(broker, 0, nil, nil)
	assert.Contains(t, logs.String(), `level=INFO msg="kafka brokers reachable again" broker=127.0.0.1:9092 unreachable_for=42s failed_attempts=22`)
	assert.NoError(t, ready.Check(now, 0))
	_, _, down := w.unreachable()
	assert.False(t, down)

	before := logs.String()
	w.OnBrokerConnect(broker, 0, nil, nil)
	assert.Equal(t, before, logs.String(), "connections while connected say nothing")
}

// TestKafkaWatchWithoutMetrics: with metrics off the watch still logs.
func TestKafkaWatchWithoutMetrics(t *testing.T) {
	logs := &logbuf.Buffer{}
	w := newKafkaWatch(slog.New(slog.NewTextHandler(logs, nil)), nil)
	w.arm()
	broker := kgo.BrokerMetadata{NodeID: 1, Host: "kafka-0.kafka", Port: 9092}
	w.OnBrokerConnect(broker, 0, nil, syscall.ECONNREFUSED)
	w.OnBrokerConnect(broker, 0, nil, nil)
	assert.Contains(t, logs.String(), `msg="kafka brokers unreachable" broker=kafka-0.kafka:9092`)
	assert.Contains(t, logs.String(), `msg="kafka brokers reachable again"`)
}
