// Package metrics exposes what the connector does to Prometheus and tells
// an orchestrator whether the process is alive and ready.
//
// A [Metrics] owns its own registry (never the global one) holding:
//   - the pipeline's counters, histogram and gauges, fed by the methods the
//     pipeline calls once per chunk, transaction or window (never per row);
//   - the Freshchat client's counters, read from a [source.Stats] snapshot at
//     scrape time ([Metrics.WatchSource]), so the source needs no Prometheus;
//   - the Kafka clients' metrics, from franz-go's kprom plugin attached with
//     [Metrics.KafkaHooks];
//   - Go runtime and process metrics, up and build_info;
//   - the instance's share of the group's work: units_owned, account_up,
//     rebalances_total and units_moved_total (units.go).
//
// A unit of work is an (account, event) pair, named by its unit key
// (checkpoint.UnitKey): the pipeline passes that key wherever a method's
// parameter is called event. Every per-unit series carries two labels,
// account and event (checkpoint.SplitKey of the key), so that the bare
// event label, and every query written before accounts existed, keep
// meaning the same for the account "default".
//
// Every method of *Metrics and *Readiness is safe for concurrent use and is
// a no-op on a nil receiver, so callers that run without metrics pass nil.
// A [Server] serves /metrics, /healthz and /readyz; [ProbeReady] asks a
// running server's /readyz, as a container healthcheck does.
package metrics

import (
	"maps"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/freshstream/freshchat-kafka/checkpoint"
)

// Namespace prefixes every metric name of the connector.
const Namespace = "freshchat_connector"

// Transaction outcomes, the values of transactions_total's outcome label.
const (
	OutcomeCommitted = "committed"
	OutcomeAborted   = "aborted"
)

// ReportWaitBuckets are report_wait_seconds' buckets: a report takes from
// seconds to hours between its submit and its completion.
var ReportWaitBuckets = []float64{1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200, 10800}

// Options configure a Metrics. Every field is optional.
type Options struct {
	// Version is build_info's version label; empty means the main module's
	// version from the build information, or "unknown".
	Version string
	// Commit is build_info's commit label, the VCS revision the binary was
	// built from; empty means "unknown".
	Commit string
	// Readiness, when set, learns from the pipeline's calls which events
	// progress: every commit and every completed report counts as progress,
	// Waiting and Done are passed on. See [Readiness].
	Readiness *Readiness
	// Now is the clock (default time.Now); freshness_seconds is computed
	// with it at scrape time.
	Now func() time.Time
	// APIGrace is how long Freshchat requests may fail before api_ready
	// and the Readiness say the API is not ready (default
	// DefaultAPIGrace). See APIProblem.
	APIGrace time.Duration
}

// Metrics holds the connector's metric families and their registry.
type Metrics struct {
	reg      *prometheus.Registry
	now      func() time.Time
	ready    *Readiness
	kafka    *kafkaHooks
	api      apiWatch
	apiGrace time.Duration

	rowsRead     *prometheus.CounterVec
	rowsProduced *prometheus.CounterVec
	rowsDead     *prometheus.CounterVec
	windows      *prometheus.CounterVec
	chunks       *prometheus.CounterVec
	transactions *prometheus.CounterVec
	reportWait   *prometheus.HistogramVec
	txnOpenMax   *prometheus.GaugeVec
	failures     *prometheus.CounterVec
	units        *unitMetrics

	mu     sync.RWMutex
	events map[string]*eventSeries // by unit key
	// owned is the set of unit keys this instance owns (SetUnits); nil
	// until the first SetUnits: every unit the pipeline names is its own.
	owned map[string]bool
}

// unitLabels are the labels of every per-unit series, in the order the
// vectors take their values.
var unitLabels = []string{"account", "event"}

// eventSeries caches one unit's children of every vector, so that the
// per-chunk calls neither hash labels nor allocate.
type eventSeries struct {
	read, produced, dead prometheus.Counter
	windows, chunks      prometheus.Counter
	committed, aborted   prometheus.Counter
	reportWait           prometheus.Observer
	txnOpenMax           prometheus.Gauge
	failures             prometheus.Counter

	mu                             sync.Mutex
	committedEnd, position, target time.Time
	eta                            time.Duration // of the backfill, as of the last SetBackfillETA
	etaSet                         bool
	longestTxn                     time.Duration
	state                          string    // one of States; see EventStatus
	caughtUp                       bool      // the event waited for a live window once: it follows live windows now
	waitUntil                      time.Time // end of the wait in state StateWaiting
	lastError                      string
	lastErrorAt                    time.Time
}

// New builds a Metrics whose families are registered on a new registry.
func New(o Options) *Metrics {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.APIGrace <= 0 {
		o.APIGrace = DefaultAPIGrace
	}
	m := &Metrics{
		reg:      prometheus.NewRegistry(),
		now:      o.Now,
		ready:    o.Readiness,
		apiGrace: o.APIGrace,
		events:   map[string]*eventSeries{},
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	}
	m.rowsRead = counter("rows_read_total", "Report rows read and handled, counted when the chunk holding them commits.", unitLabels...)
	m.rowsProduced = counter("rows_produced_total", "Records committed to the event's topic.", unitLabels...)
	m.rowsDead = counter("rows_dead_lettered_total", "Rows committed to the dead-letter topic because they could not be converted.", unitLabels...)
	m.windows = counter("windows_committed_total", "Windows whose rows are all committed.", unitLabels...)
	m.chunks = counter("chunks_committed_total", "Committed transactions that carried rows (chunks).", unitLabels...)
	m.transactions = counter("transactions_total", "Kafka transactions ended, by outcome (committed or aborted).", "account", "event", "outcome")
	m.failures = counter("event_failures_total", "Windows of the event that failed: each is retried from the last commit, or ends the run when retrying cannot help.", unitLabels...)
	m.txnOpenMax = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "transaction_open_seconds_max",
		Help: "The longest any of the event's transactions stayed open since the connector started; compare with kafka.transaction_timeout.",
	}, unitLabels)
	m.reportWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "report_wait_seconds",
		Help:    "Time from a report's submit to its completion.",
		Buckets: ReportWaitBuckets,
	}, unitLabels)
	m.units = newUnitMetrics()

	up := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "up", Help: "1 while the connector process runs."})
	up.Set(1)
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "build_info", Help: "Always 1; the labels describe the build."},
		[]string{"version", "commit", "goversion"})
	info.WithLabelValues(version(o.Version), orUnknown(o.Commit), runtime.Version()).Set(1)

	m.kafka = newKafkaHooks()
	m.reg.MustRegister(
		m.rowsRead, m.rowsProduced, m.rowsDead, m.windows, m.chunks, m.transactions, m.reportWait, m.txnOpenMax,
		m.failures, progressCollector{m}, apiCollector{m}, up, info, m.kafka,
		m.units.owned, m.units.accountUp, m.units.rebalances, m.units.moved,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

func version(v string) string {
	if v != "" {
		return v
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "unknown"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// Registry returns the registry holding every family of m, for a handler
// of the caller's own or for tests. Nil on a nil Metrics.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// series returns the cached children of the unit named by key, creating
// them on first use.
func (m *Metrics) series(key string) *eventSeries {
	m.mu.RLock()
	s := m.events[key]
	m.mu.RUnlock()
	if s != nil {
		return s
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s = m.events[key]; s != nil {
		return s
	}
	account, event := checkpoint.SplitKey(key)
	s = &eventSeries{
		read:       m.rowsRead.WithLabelValues(account, event),
		produced:   m.rowsProduced.WithLabelValues(account, event),
		dead:       m.rowsDead.WithLabelValues(account, event),
		windows:    m.windows.WithLabelValues(account, event),
		chunks:     m.chunks.WithLabelValues(account, event),
		committed:  m.transactions.WithLabelValues(account, event, OutcomeCommitted),
		aborted:    m.transactions.WithLabelValues(account, event, OutcomeAborted),
		reportWait: m.reportWait.WithLabelValues(account, event),
		txnOpenMax: m.txnOpenMax.WithLabelValues(account, event),
		failures:   m.failures.WithLabelValues(account, event),
		state:      StateBackfill,
	}
	m.events[key] = s
	return s
}

// ownedSeries returns the units this instance owns, by unit key: every
// known one until SetUnits, then those of the last SetUnits.
func (m *Metrics) ownedSeries() map[string]*eventSeries {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.owned == nil {
		return maps.Clone(m.events)
	}
	out := make(map[string]*eventSeries, len(m.owned))
	for key := range m.owned {
		if s := m.events[key]; s != nil {
			out[key] = s
		}
	}
	return out
}

// InitEvents creates every per-unit series of the units named by keys
// (unit keys, see checkpoint.UnitKey) at zero, so that rates and
// absent-series alerts work before the first commit; starts each unit's
// stuck clock in the Readiness given to New; and exports account_up as 1
// for each of their accounts not known yet (AccountFailed, AccountOK).
// Call it at start, and with the units a rebalance gave this instance.
func (m *Metrics) InitEvents(keys ...string) {
	if m == nil {
		return
	}
	now := m.now()
	for _, key := range keys {
		m.series(key)
		m.ready.Progressed(key, now)
		account, _ := checkpoint.SplitKey(key)
		m.units.knowAccount(account)
	}
}

// ChunkCommitted records one committed transaction that carried rows: read
// report rows were handled, produced went to the event's topic and
// deadLettered to the dead-letter topic. It counts a chunk and a committed
// transaction, and is progress for the Readiness. Negative counts are
// ignored.
func (m *Metrics) ChunkCommitted(event string, read, produced, deadLettered int64) {
	if m == nil {
		return
	}
	s := m.series(event)
	add(s.read, read)
	add(s.produced, produced)
	add(s.dead, deadLettered)
	s.chunks.Inc()
	s.committed.Inc()
	s.progressed()
	m.ready.Progressed(event, m.now())
}

// CheckpointCommitted records one committed transaction that carried only a
// checkpoint (a report's ID after its submit, or the end of a window with no
// rows left). It is progress for the Readiness.
func (m *Metrics) CheckpointCommitted(event string) {
	if m == nil {
		return
	}
	s := m.series(event)
	s.committed.Inc()
	s.progressed()
	m.ready.Progressed(event, m.now())
}

// TransactionAborted records a transaction that was begun and did not
// commit: aborted, failed to commit, or ended with an unknown outcome.
func (m *Metrics) TransactionAborted(event string) {
	if m == nil {
		return
	}
	m.series(event).aborted.Inc()
}

// TransactionEnded records how long a transaction of event stayed open;
// the longest one is exported.
func (m *Metrics) TransactionEnded(event string, open time.Duration) {
	if m == nil {
		return
	}
	s := m.series(event)
	s.mu.Lock()
	defer s.mu.Unlock()
	if open > s.longestTxn {
		s.longestTxn = open
		s.txnOpenMax.Set(open.Seconds())
	}
}

// WindowCommitted records a window whose rows are all committed, ending at
// windowEnd (exclusive): it counts the window, sets where the event's
// committed data ends (freshness_seconds) and its position, and is progress
// for the Readiness. It counts no transaction: the window's last one is
// recorded by ChunkCommitted or CheckpointCommitted.
func (m *Metrics) WindowCommitted(event string, windowEnd time.Time) {
	if m == nil {
		return
	}
	s := m.series(event)
	s.windows.Inc()
	s.mu.Lock()
	s.committedEnd = later(s.committedEnd, windowEnd)
	s.position = later(s.position, windowEnd)
	s.mu.Unlock()
	s.progressed()
	m.ready.Progressed(event, m.now())
}

// SetCommittedEnd sets where the event's committed data ends without
// counting a window: call it at start with the checkpoints read (for a
// checkpoint, Position.Next()), so freshness_seconds exists from the first
// scrape. An earlier end than the one known is ignored.
func (m *Metrics) SetCommittedEnd(event string, end time.Time) {
	if m == nil || end.IsZero() {
		return
	}
	s := m.series(event)
	s.mu.Lock()
	s.committedEnd = later(s.committedEnd, end)
	s.position = later(s.position, end)
	s.mu.Unlock()
}

// ReportReady records how long a report took from its submit to its
// completion (report_wait_seconds). It is progress for the Readiness.
func (m *Metrics) ReportReady(event string, waited time.Duration) {
	if m == nil {
		return
	}
	s := m.series(event)
	s.reportWait.Observe(max(waited, 0).Seconds())
	s.progressed()
	m.ready.Progressed(event, m.now())
}

// SetProgress sets where the event stands (position_timestamp_seconds) and
// where its walk is heading; backfill_remaining_seconds is target −
// position, at least 0. A zero time leaves the value as it was.
func (m *Metrics) SetProgress(event string, position, target time.Time) {
	if m == nil {
		return
	}
	s := m.series(event)
	s.mu.Lock()
	if !position.IsZero() {
		s.position = position
	}
	if !target.IsZero() {
		s.target = target
	}
	s.mu.Unlock()
}

// SetBackfillETA sets the unit's estimated time until its backfill is
// done (backfill_eta_seconds); negative durations count as 0.
func (m *Metrics) SetBackfillETA(event string, eta time.Duration) {
	if m == nil {
		return
	}
	s := m.series(event)
	s.mu.Lock()
	s.eta = max(eta, 0)
	s.etaSet = true
	s.mu.Unlock()
}

// Waiting says the event is idle until until, waiting for its next live
// window to settle; it is passed to the Readiness (see Readiness.Waiting).
func (m *Metrics) Waiting(event string, until time.Time) {
	if m == nil {
		return
	}
	s := m.series(event)
	s.mu.Lock()
	s.state, s.caughtUp, s.waitUntil = StateWaiting, true, until
	s.mu.Unlock()
	m.ready.Waiting(event, until)
}

// Done says the event has no work left (its bounded range is extracted); it
// is passed to the Readiness (see Readiness.Done).
func (m *Metrics) Done(event string) {
	if m == nil {
		return
	}
	s := m.series(event)
	s.mu.Lock()
	s.state = StateDone
	s.mu.Unlock()
	m.ready.Done(event)
}

func add(c prometheus.Counter, n int64) {
	if n > 0 {
		c.Add(float64(n))
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// progressCollector computes the time-dependent gauges at scrape time.
type progressCollector struct{ m *Metrics }

var (
	freshnessDesc = prometheus.NewDesc(Namespace+"_freshness_seconds",
		"Time since the end of the event's last committed window (now - end), at least 0.", unitLabels, nil)
	remainingDesc = prometheus.NewDesc(Namespace+"_backfill_remaining_seconds",
		"Span the event still has to extract: target - position, at least 0 (bounded: --to; live: now - settle, as of the last SetProgress).", unitLabels, nil)
	etaDesc = prometheus.NewDesc(Namespace+"_backfill_eta_seconds",
		"Estimated time until the event's backfill is done, from its windows left, its report latency and read time, and the API budgets; 0 once it follows live windows or its range is done.", unitLabels, nil)
	positionDesc = prometheus.NewDesc(Namespace+"_position_timestamp_seconds",
		"Where the event stands: the Unix time up to which its rows are committed or its cursor.", unitLabels, nil)
	stateDesc = prometheus.NewDesc(Namespace+"_event_state",
		"1 for the state the event is in, 0 for the others: backfill (catching up), live (following new windows), waiting (for the next window to settle), failed (its last window failed; retried from the last commit), done (bounded range extracted).",
		[]string{"account", "event", "state"}, nil)
)

func (progressCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- freshnessDesc
	ch <- remainingDesc
	ch <- etaDesc
	ch <- positionDesc
	ch <- stateDesc
}

// Collect exports the gauges of the units this instance owns only: a unit
// that moved to another instance is that one's to report, and its
// freshness here would only grow.
func (c progressCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.m.now()
	for key, s := range c.m.ownedSeries() {
		account, event := checkpoint.SplitKey(key)
		s.mu.Lock()
		end, pos, target := s.committedEnd, s.position, s.target
		eta, etaSet := s.eta, s.etaSet
		state := s.stateAt(now)
		s.mu.Unlock()
		if etaSet {
			ch <- prometheus.MustNewConstMetric(etaDesc, prometheus.GaugeValue, eta.Seconds(), account, event)
		}
		for _, st := range States {
			v := 0.0
			if st == state {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(stateDesc, prometheus.GaugeValue, v, account, event, st)
		}
		if !end.IsZero() {
			ch <- prometheus.MustNewConstMetric(freshnessDesc, prometheus.GaugeValue, max(now.Sub(end), 0).Seconds(), account, event)
		}
		if !pos.IsZero() {
			ch <- prometheus.MustNewConstMetric(positionDesc, prometheus.GaugeValue, unixSeconds(pos), account, event)
			if !target.IsZero() {
				ch <- prometheus.MustNewConstMetric(remainingDesc, prometheus.GaugeValue, max(target.Sub(pos), 0).Seconds(), account, event)
			}
		}
	}
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1e3 }
