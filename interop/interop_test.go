// Package interop_test checks that consumers we do not write can read the
// connector's topics: the confluent-kafka Python client (librdkafka) with
// its AvroConsumer and the schema registry, the same client reading raw
// single-object values decoded with the Apache avro library, and kcat; and
// that the consumer recipes of the README work as written (readme_test.go).
//
// The tools come from Debian:
//
//	apt-get install -y kcat python3-confluent-kafka python3-avro python3-requests
//
// The test fails, rather than skips, when they are missing.
package interop_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/freshstream/freshchat-kafka/internal/kread"
	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/source"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

// events cover every field type the schemas use: strings, booleans, long
// (duration_in_seconds, value_in_seconds), int (CSAT value), double
// (Resolution-Time value_in_seconds), timestamp-millis, and extra_columns
// (the unpublished reports carry a column their schema does not name).
var events = []string{"CSAT-Score", "Resolution-Time", "Conversation-Agent-Assigned", "Agent-Activity"}

const simToken = "interop-token"

// TestThirdPartyConsumers runs two bounded extractions of the same events
// from a simulator serving CSV quirks (BOM, CRLF, java.sql.Timestamp
// created_at, shuffled columns): one with a schema registry (Confluent
// framing), one without (single-object framing). It then reads every topic
// with third-party consumers and compares what they decoded, field by
// field and typed, with the cells the simulator served.
func TestThirdPartyConsumers(t *testing.T) {
	tools := requireTools(t)
	ctx, cancel := context.WithTimeout(t.Context(), 55*time.Second)
	defer cancel()

	st := newStack(t)
	kafka, regClient := st.kafka, st.registry

	sim := freshchattest.NewServer(freshchattest.Options{
		Token:       simToken,
		Now:         freshchattest.ClockFrom(worldStart),
		RowsPerHour: 30,
		TempDir:     t.TempDir(),
		Faults:      freshchattest.Faults{BOM: true, CRLF: true, AltTimestamps: true, ShuffleColumns: true},
	})
	t.Cleanup(sim.Close)

	to := worldStart.Add(-time.Hour)
	from := to.Add(-2 * time.Hour)

	runPipeline(ctx, t, pipelineOptions(t, sim, kafka, from, to, confluentTopic, "interop.confluent.checkpoints", "interop-confluent", regClient))
	runPipeline(ctx, t, pipelineOptions(t, sim, kafka, from, to, singleObjectTopic, "interop.single-object.checkpoints", "interop-single-object", nil))

	c := checker{tools: tools, kafka: kafka, brokers: st.brokers, registry: st.registryURL, sim: sim, from: from, to: to}

	// A group: ctx must outlive the parallel subtests.
	t.Run("consumers", func(t *testing.T) {
		for _, ev := range events {
			t.Run(ev, func(t *testing.T) {
				t.Parallel()
				c.check(ctx, t, ev)
			})
		}
	})
}

func confluentTopic(event string) string    { return "interop.confluent." + strings.ToLower(event) }
func singleObjectTopic(event string) string { return "interop.single-object." + strings.ToLower(event) }

// checker reads the topics of both runs with every consumer.
type checker struct {
	tools    tools
	kafka    []kgo.Opt
	brokers  []string
	registry string
	sim      *freshchattest.Server
	from, to time.Time
}

// check compares what each consumer reads from the event's two topics with
// the simulator's rows and with the Go read_committed view.
func (c checker) check(ctx context.Context, t *testing.T, event string) {
	fields := loadFields(t, event)
	want := expectedRows(t, fields, freshchattest.Columns(event), c.sim.Rows(event, c.from, c.to))
	if len(want) == 0 {
		t.Fatalf("the simulator served no %s rows between %s and %s", event, c.from, c.to)
	}
	brokers := strings.Join(c.brokers, ",")

	t.Run("AvroConsumer", func(t *testing.T) {
		t.Parallel()
		topic := confluentTopic(event)
		committed := readCommitted(ctx, t, c.kafka, topic, len(want))
		out := c.tools.python(ctx, t, "consume_avro.py", brokers, c.registry, topic, itoa(len(want)))
		compareDecoded(t, fields, want, committed, parseLines(t, out))
	})
	t.Run("single-object", func(t *testing.T) {
		t.Parallel()
		topic := singleObjectTopic(event)
		committed := readCommitted(ctx, t, c.kafka, topic, len(want))
		out := c.tools.python(ctx, t, "consume_single_object.py", brokers, topic, avscPath(event), itoa(len(want)))
		compareDecoded(t, fields, want, committed, parseLines(t, out))
	})
	for _, topic := range []string{confluentTopic(event), singleObjectTopic(event)} {
		t.Run("kcat "+topic, func(t *testing.T) {
			t.Parallel()
			committed := readCommitted(ctx, t, c.kafka, topic, len(want))
			compareKeys(t, committed, c.tools.kcatKeys(ctx, t, c.brokers[0], topic))
		})
	}
}

// worldStart is the instant the simulator's clock starts at (see
// freshchattest.ClockFrom): the tests extract the same rows whatever the
// day and the hour they run at.
var worldStart = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func pipelineOptions(t *testing.T, sim *freshchattest.Server, kafka []kgo.Opt, from, to time.Time,
	topic func(string) string, checkpoints, txnID string, reg *sr.Client,
) pipeline.Options {
	t.Helper()
	base, err := url.Parse(sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	src, err := source.NewClient(source.ClientConfig{
		BaseURL:         base,
		Token:           simToken,
		PollInterval:    5 * time.Millisecond,
		PollMaxInterval: 20 * time.Millisecond,
		Retry:           source.RetryConfig{Base: 2 * time.Millisecond, Max: 20 * time.Millisecond},
		TempDir:         t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return pipeline.Options{
		Events:      events,
		Start:       from,
		Planner:     pipeline.Planner{Window: time.Hour, To: to},
		Concurrency: len(events),
		// Small chunks: several transactions, and so several commit
		// markers, per partition for the consumers to step over.
		Limits:             pipeline.Limits{Rows: 16, Bytes: 1 << 20},
		Topic:              topic,
		CheckpointTopic:    checkpoints,
		TransactionalID:    txnID,
		TransactionTimeout: 30 * time.Second,
		Partitions:         3,
		ReplicationFactor:  1,
		Kafka:              kafka,
		Registry:           reg,
		Source:             src,
	}
}

// runPipeline builds and runs a bounded pipeline to its end.
func runPipeline(ctx context.Context, t *testing.T, o pipeline.Options) {
	t.Helper()
	p, err := pipeline.New(ctx, o)
	if err != nil {
		t.Fatalf("pipeline.New: %v", err)
	}
	defer p.Close(context.WithoutCancel(ctx))
	if err := p.Run(ctx); err != nil {
		t.Fatalf("pipeline run (%s): %v", p.Framing(), err)
	}
}

// readCommitted is the Go read_committed view of topic, which must hold
// exactly want records.
func readCommitted(ctx context.Context, t *testing.T, kafka []kgo.Opt, topic string, want int) []*kgo.Record {
	t.Helper()
	recs, err := kread.ReadCommitted(ctx, kafka, topic)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != want {
		t.Fatalf("%s: Go read_committed view holds %d records, the simulator served %d rows", topic, len(recs), want)
	}
	return recs
}

// stack is a Kafka broker (kfake) and a schema registry (srfake) on
// loopback, closed when the test ends.
type stack struct {
	kafka       []kgo.Opt
	brokers     []string
	registry    *sr.Client
	registryURL string
}

func newStack(t *testing.T) stack {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	reg := srfake.New()
	t.Cleanup(reg.Close)
	regClient, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	return stack{kafka: []kgo.Opt{kgo.SeedBrokers(cluster.ListenAddrs()...)}, brokers: cluster.ListenAddrs(),
		registry: regClient, registryURL: reg.URL()}
}
