package metrics

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kprom"
)

// KafkaSubsystem is the subsystem of the Kafka client metrics:
// freshchat_connector_kafka_*.
const KafkaSubsystem = "kafka"

// KafkaHooks returns the option that attaches m's Kafka client metrics to a
// kgo client. Add it once to the connection options every client of the
// process shares (admin, checkpoint readers, one transactional producer per
// event): all clients feed one kprom.Metrics, so the families are the
// process's totals, by broker (node_id) and, for produce and fetch, by
// topic:
//
//	freshchat_connector_kafka_{connects,connect_errors,disconnects}_total{node_id}
//	freshchat_connector_kafka_{write,read}_{bytes,errors}_total{node_id}
//	freshchat_connector_kafka_request_duration_e2e_seconds{node_id} (histogram)
//	freshchat_connector_kafka_request_throttled_seconds{node_id} (histogram)
//	freshchat_connector_kafka_produce_{records,batches,uncompressed_bytes,compressed_bytes}_total{topic}
//	freshchat_connector_kafka_fetch_{records,batches,uncompressed_bytes,compressed_bytes}_total{topic}
//
// plus gauges summed over the clients open at scrape time:
// freshchat_connector_kafka_clients, _kafka_producer_buffered_{records,bytes}
// and _kafka_consumer_buffered_{records,bytes}.
//
// kprom builds and registers its collectors in every client's OnNewClient
// and binds its buffered gauges to that client, so one kprom.Metrics cannot
// serve several clients as it is (a second client panics with a duplicate
// registration). The hook returned here lets kprom build its collectors
// once, for the first client, into m's registry, drops kprom's per-client
// buffered gauges for the sums above, and never unregisters anything when a
// client closes: counters stay cumulative for the whole process. The
// families appear once the first client exists. On a nil Metrics the option
// adds no hook.
func (m *Metrics) KafkaHooks() kgo.Opt {
	if m == nil {
		return kgo.WithHooks()
	}
	return kgo.WithHooks(m.kafka)
}

// kafkaHooks is one kprom.Metrics shared by every client of the process.
// The embedded kprom.Metrics supplies the broker, produce and fetch hooks;
// OnNewClient and OnClientClosed are replaced.
type kafkaHooks struct {
	*kprom.Metrics
	captured *capturedCollectors
	once     sync.Once
	built    atomic.Bool // kprom's collectors exist; captured is read-only from now on

	mu      sync.Mutex
	clients map[*kgo.Client]struct{}
}

func newKafkaHooks() *kafkaHooks {
	c := &capturedCollectors{}
	return &kafkaHooks{
		captured: c,
		clients:  map[*kgo.Client]struct{}{},
		Metrics: kprom.NewMetrics(Namespace,
			kprom.Subsystem(KafkaSubsystem),
			kprom.Registerer(c),
			kprom.FetchAndProduceDetail(kprom.ByTopic, kprom.Records, kprom.Batches,
				kprom.UncompressedBytes, kprom.CompressedBytes, kprom.ConsistentNaming),
			kprom.Histograms(kprom.RequestDurationE2E, kprom.RequestThrottled),
		),
	}
}

// OnNewClient lets kprom build its collectors for the first client only and
// tracks the client for the buffered gauges. kgo calls it before the client
// starts any goroutine, so no hook of a client runs before the collectors
// exist.
func (k *kafkaHooks) OnNewClient(cl *kgo.Client) {
	k.once.Do(func() {
		k.Metrics.OnNewClient(cl)
		k.built.Store(true)
	})
	k.mu.Lock()
	k.clients[cl] = struct{}{}
	k.mu.Unlock()
}

// OnClientClosed stops tracking the client; its counts stay in the totals.
func (k *kafkaHooks) OnClientClosed(cl *kgo.Client) {
	k.mu.Lock()
	delete(k.clients, cl)
	k.mu.Unlock()
}

var (
	kafkaClientsDesc = prometheus.NewDesc(prometheus.BuildFQName(Namespace, KafkaSubsystem, "clients"),
		"Kafka clients open.", nil, nil)
	kafkaProduceRecordsDesc = prometheus.NewDesc(prometheus.BuildFQName(Namespace, KafkaSubsystem, "producer_buffered_records"),
		"Records buffered in the open clients, waiting to be produced.", nil, nil)
	kafkaProduceBytesDesc = prometheus.NewDesc(prometheus.BuildFQName(Namespace, KafkaSubsystem, "producer_buffered_bytes"),
		"Bytes of records buffered in the open clients, waiting to be produced.", nil, nil)
	kafkaFetchRecordsDesc = prometheus.NewDesc(prometheus.BuildFQName(Namespace, KafkaSubsystem, "consumer_buffered_records"),
		"Fetched records buffered in the open clients, waiting to be polled.", nil, nil)
	kafkaFetchBytesDesc = prometheus.NewDesc(prometheus.BuildFQName(Namespace, KafkaSubsystem, "consumer_buffered_bytes"),
		"Bytes of fetched records buffered in the open clients, waiting to be polled.", nil, nil)
)

// Describe describes nothing: kprom's families exist only once the first
// client does, so the collector is registered unchecked.
func (k *kafkaHooks) Describe(chan<- *prometheus.Desc) {}

// Collect sends kprom's metrics and the sums over the open clients.
func (k *kafkaHooks) Collect(ch chan<- prometheus.Metric) {
	if k.built.Load() {
		for _, c := range k.captured.cs {
			c.Collect(ch)
		}
	}
	var n, pr, pb, fr, fb int64
	k.mu.Lock()
	for cl := range k.clients {
		n++
		pr += cl.BufferedProduceRecords()
		pb += cl.BufferedProduceBytes()
		fr += cl.BufferedFetchRecords()
		fb += cl.BufferedFetchBytes()
	}
	k.mu.Unlock()
	for _, g := range []struct {
		d *prometheus.Desc
		v int64
	}{{kafkaClientsDesc, n}, {kafkaProduceRecordsDesc, pr}, {kafkaProduceBytesDesc, pb}, {kafkaFetchRecordsDesc, fr}, {kafkaFetchBytesDesc, fb}} {
		ch <- prometheus.MustNewConstMetric(g.d, prometheus.GaugeValue, float64(g.v))
	}
}

// capturedCollectors is the Registerer kprom registers into: it keeps the
// vectors and drops the single-metric collectors (the gauges kprom binds
// to one client). Registration happens once, under kafkaHooks.once.
type capturedCollectors struct{ cs []prometheus.Collector }

func (c *capturedCollectors) Register(col prometheus.Collector) error {
	if _, single := col.(prometheus.Metric); !single {
		c.cs = append(c.cs, col)
	}
	return nil
}

func (c *capturedCollectors) MustRegister(cols ...prometheus.Collector) {
	for _, col := range cols {
		_ = c.Register(col)
	}
}

func (c *capturedCollectors) Unregister(prometheus.Collector) bool { return false }
