package metrics_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/metrics"
)

// settable is a value a test sets while the code under test reads it.
type settable[T any] struct {
	mu sync.Mutex
	v  T
}

// Get returns the value last set.
func (s *settable[T]) Get() T {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.v
}

// Set replaces the value.
func (s *settable[T]) Set(v T) {
	s.mu.Lock()
	s.v = v
	s.mu.Unlock()
}

// clock is a settable clock.
type clock struct{ settable[time.Time] }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.Set(t)
	return c
}

// Now is the time last set.
func (c *clock) Now() time.Time { return c.Get() }

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// scrape starts a metrics server for m on httptest and returns the URL of
// /metrics.
func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	ts := httptest.NewServer(metrics.NewServer(":0", m, nil, nil).Handler())
	t.Cleanup(ts.Close)
	return ts.URL + "/metrics"
}

const (
	helpRead     = "# HELP freshchat_connector_rows_read_total Report rows read and handled, counted when the chunk holding them commits.\n# TYPE freshchat_connector_rows_read_total counter\n"
	helpProduced = "# HELP freshchat_connector_rows_produced_total Records committed to the event's topic.\n# TYPE freshchat_connector_rows_produced_total counter\n"
	helpDead     = "# HELP freshchat_connector_rows_dead_lettered_total Rows committed to the dead-letter topic because they could not be converted.\n# TYPE freshchat_connector_rows_dead_lettered_total counter\n"
	helpWindows  = "# HELP freshchat_connector_windows_committed_total Windows whose rows are all committed.\n# TYPE freshchat_connector_windows_committed_total counter\n"
	helpChunks   = "# HELP freshchat_connector_chunks_committed_total Committed transactions that carried rows (chunks).\n# TYPE freshchat_connector_chunks_committed_total counter\n"
	helpTxn      = "# HELP freshchat_connector_transactions_total Kafka transactions ended, by outcome (committed or aborted).\n# TYPE freshchat_connector_transactions_total counter\n"
	helpFresh    = "# HELP freshchat_connector_freshness_seconds Time since the end of the event's last committed window (now - end), at least 0.\n# TYPE freshchat_connector_freshness_seconds gauge\n"
	helpRemain   = "# HELP freshchat_connector_backfill_remaining_seconds Span the event still has to extract: target - position, at least 0 (bounded: --to; live: now - settle, as of the last SetProgress).\n# TYPE freshchat_connector_backfill_remaining_seconds gauge\n"
	helpPosition = "# HELP freshchat_connector_position_timestamp_seconds Where the event stands: the Unix time up to which its rows are committed or its cursor.\n# TYPE freshchat_connector_position_timestamp_seconds gauge\n"
	helpWait     = "# HELP freshchat_connector_report_wait_seconds Time from a report's submit to its completion.\n# TYPE freshchat_connector_report_wait_seconds histogram\n"
)

func TestPipelineMetrics(t *testing.T) {
	tests := []struct {
		name     string
		drive    func(m *metrics.Metrics, c *clock)
		families []string
		want     string
	}{
		{
			name: "chunks and transactions add up per event",
			drive: func(m *metrics.Metrics, _ *clock) {
				m.ChunkCommitted("Message-Sent", 10, 9, 1)
				m.ChunkCommitted("Message-Sent", 5, 5, 0)
				m.ChunkCommitted("CSAT-Score", 3, 3, 0)
				m.CheckpointCommitted("Message-Sent")
				m.TransactionAborted("Message-Sent")
				m.ChunkCommitted("CSAT-Score", -1, -1, -1) // ignored counts, still a chunk
			},
			families: []string{
				"freshchat_connector_rows_read_total", "freshchat_connector_rows_produced_total",
				"freshchat_connector_rows_dead_lettered_total", "freshchat_connector_chunks_committed_total",
				"freshchat_connector_transactions_total",
			},
			want: helpRead +
				`freshchat_connector_rows_read_total{account="default",event="CSAT-Score"} 3
freshchat_connector_rows_read_total{account="default",event="Message-Sent"} 15
` + helpProduced +
				`freshchat_connector_rows_produced_total{account="default",event="CSAT-Score"} 3
freshchat_connector_rows_produced_total{account="default",event="Message-Sent"} 14
` + helpDead +
				`freshchat_connector_rows_dead_lettered_total{account="default",event="CSAT-Score"} 0
freshchat_connector_rows_dead_lettered_total{account="default",event="Message-Sent"} 1
` + helpChunks +
				`freshchat_connector_chunks_committed_total{account="default",event="CSAT-Score"} 2
freshchat_connector_chunks_committed_total{account="default",event="Message-Sent"} 2
` + helpTxn +
				`freshchat_connector_transactions_total{account="default",event="CSAT-Score",outcome="aborted"} 0
freshchat_connector_transactions_total{account="default",event="CSAT-Score",outcome="committed"} 2
freshchat_connector_transactions_total{account="default",event="Message-Sent",outcome="aborted"} 1
freshchat_connector_transactions_total{account="default",event="Message-Sent",outcome="committed"} 3
`,
		},
		{
			name: "InitEvents exposes zero series before any commit",
			drive: func(m *metrics.Metrics, _ *clock) {
				m.InitEvents("Agent-Activity")
			},
			families: []string{"freshchat_connector_windows_committed_total", "freshchat_connector_transactions_total", "freshchat_connector_freshness_seconds"},
			want: helpWindows +
				`freshchat_connector_windows_committed_total{account="default",event="Agent-Activity"} 0
` + helpTxn +
				`freshchat_connector_transactions_total{account="default",event="Agent-Activity",outcome="aborted"} 0
freshchat_connector_transactions_total{account="default",event="Agent-Activity",outcome="committed"} 0
`,
		},
		{
			name: "windows set freshness, position and remaining span",
			drive: func(m *metrics.Metrics, c *clock) {
				m.WindowCommitted("Message-Sent", t0.Add(-2*time.Hour))
				m.WindowCommitted("Message-Sent", t0.Add(-90*time.Minute))
				m.WindowCommitted("Message-Sent", t0.Add(-3*time.Hour)) // an earlier end never moves back
				m.SetProgress("Message-Sent", time.Time{}, t0.Add(-10*time.Minute))
				m.SetCommittedEnd("CSAT-Score", t0.Add(-24*time.Hour))
				m.SetProgress("CSAT-Score", t0.Add(-23*time.Hour), t0.Add(-24*time.Hour)) // past target: 0 remaining
				c.Set(t0.Add(30 * time.Second))
			},
			families: []string{
				"freshchat_connector_windows_committed_total", "freshchat_connector_freshness_seconds",
				"freshchat_connector_position_timestamp_seconds", "freshchat_connector_backfill_remaining_seconds",
			},
			want: helpWindows +
				`freshchat_connector_windows_committed_total{account="default",event="CSAT-Score"} 0
freshchat_connector_windows_committed_total{account="default",event="Message-Sent"} 3
` + helpFresh +
				`freshchat_connector_freshness_seconds{account="default",event="CSAT-Score"} 86430
freshchat_connector_freshness_seconds{account="default",event="Message-Sent"} 5430
` + helpPosition +
				`freshchat_connector_position_timestamp_seconds{account="default",event="CSAT-Score"} 1772283600
freshchat_connector_position_timestamp_seconds{account="default",event="Message-Sent"} 1772361000
` + helpRemain +
				`freshchat_connector_backfill_remaining_seconds{account="default",event="CSAT-Score"} 0
freshchat_connector_backfill_remaining_seconds{account="default",event="Message-Sent"} 4800
`,
		},
		{
			name: "report waits fill the histogram",
			drive: func(m *metrics.Metrics, _ *clock) {
				m.ReportReady("Message-Sent", 45*time.Second)
				m.ReportReady("Message-Sent", 2*time.Hour)
			},
			families: []string{"freshchat_connector_report_wait_seconds"},
			want: helpWait + `freshchat_connector_report_wait_seconds_bucket{account="default",event="Message-Sent",le="1"} 0
freshchat_connector_report_wait_seconds_bucket{account="default",event="Message-Sent",le="2"} 0
freshchat_connector_report_wait_seconds_bucket{account="default",event="Message-Sent",le="5"} 0
freshchat_connector_report_wait_seconds_bucket{account="default",event="Message-Sent",le="10"} 0
freshchat_connector_report_wait_seconds_bucket{account="default",event="Message-Sent",le="20"} 0
freshchat_connector_report_wait_seconds_bucket{account="default",event="Message-Sent",le="30"} 0
freshchat_connector_report_wait_seconds_bucket{account="default",event="Message-Sent",le="60"} 1
freshchat_connector_report_wait_seconds_bucket{account="default",event="Message-Sent",le="120"} 1
freshchat_connector_report_wait_seconds_bucket{account="default",event="Message-Sent",le="300"} 1
freshchat_connector_report_wait_seconds_bucket{account="default",event="Message-Sent",le="600"} 1
freshchat_connector_report_wait_seconds_bucket{account="default",event="Message-Sent",le="900"} 1
freshchat_connector_report_wait_seconds_bucket{account="default",event="Message-Sent",le="1200"} 1
freshchat_connector_report_wait_seconds_bucket{account="default",event="Message-Sent",le="1800"} 1
freshchat_connector_report_wait_seconds_bucket{account="default",event="Message-Sent",le="2700"} 1
freshchat_connector_report_wait_seconds_bucket{account="default",event="Message-Sent",le="3600"} 1
freshchat_connector_report_wait_seconds_bucket{account="default",event="Message-Sent",le="5400"} 1
freshchat_connector_report_wait_seconds_bucket{account="default",event="Message-Sent",le="7200"} 2
freshchat_connector_report_wait_seconds_bucket{account="default",event="Message-Sent",le="10800"} 2
freshchat_connector_report_wait_seconds_bucket{account="default",event="Message-Sent",le="+Inf"} 2
freshchat_connector_report_wait_seconds_sum{account="default",event="Message-Sent"} 7245
freshchat_connector_report_wait_seconds_count{account="default",event="Message-Sent"} 2
`,
		},
		{
			name: "a unit key names the account and the event; a bare event is the default account's",
			drive: func(m *metrics.Metrics, c *clock) {
				m.ChunkCommitted("Message-Sent", 4, 4, 0)
				m.ChunkCommitted("acme/Message-Sent", 7, 7, 0)
				m.ChunkCommitted("globex/Message-Sent", 1, 1, 0)
				m.WindowCommitted("acme/Message-Sent", t0.Add(-time.Hour))
			},
			families: []string{"freshchat_connector_rows_produced_total", "freshchat_connector_freshness_seconds"},
			want: helpProduced +
				`freshchat_connector_rows_produced_total{account="acme",event="Message-Sent"} 7
freshchat_connector_rows_produced_total{account="default",event="Message-Sent"} 4
freshchat_connector_rows_produced_total{account="globex",event="Message-Sent"} 1
` + helpFresh +
				`freshchat_connector_freshness_seconds{account="acme",event="Message-Sent"} 3600
`,
		},
		{
			name:     "up and build_info",
			drive:    func(*metrics.Metrics, *clock) {},
			families: []string{"freshchat_connector_up", "freshchat_connector_build_info"},
			want: `# HELP freshchat_connector_up 1 while the connector process runs.
# TYPE freshchat_connector_up gauge
freshchat_connector_up 1
# HELP freshchat_connector_build_info Always 1; the labels describe the build.
# TYPE freshchat_connector_build_info gauge
freshchat_connector_build_info{commit="0123abc",goversion="` + runtime.Version() + `",version="v1.2.3"} 1
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock(t0)
			m := metrics.New(metrics.Options{Version: "v1.2.3", Commit: "0123abc", Now: c.Now})
			tt.drive(m, c)
			require.NoError(t, testutil.ScrapeAndCompare(scrape(t, m), strings.NewReader(tt.want), tt.families...))
		})
	}
}

func TestFreshnessIsComputedAtScrapeTime(t *testing.T) {
	c := newClock(t0)
	m := metrics.New(metrics.Options{Now: c.Now})
	url := scrape(t, m)
	m.WindowCommitted("Message-Sent", t0)
	for _, later := range []time.Duration{0, time.Minute, time.Hour} {
		c.Set(t0.Add(later))
		want := helpFresh + `freshchat_connector_freshness_seconds{account="default",event="Message-Sent"} ` + strconv.FormatFloat(later.Seconds(), 'f', -1, 64) + "\n"
		assert.NoError(t, testutil.ScrapeAndCompare(url, strings.NewReader(want), "freshchat_connector_freshness_seconds"), "after %s", later)
	}
}

func TestOpenMetricsOnRequest(t *testing.T) {
	m := metrics.New(metrics.Options{})
	m.ChunkCommitted("Message-Sent", 1, 1, 0)
	req, err := http.NewRequest(http.MethodGet, scrape(t, m), nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Content-Type"), "application/openmetrics-text")
	assert.Contains(t, string(body), `freshchat_connector_rows_produced_total{account="default",event="Message-Sent"} 1`)
	assert.True(t, strings.HasSuffix(string(body), "# EOF\n"), "OpenMetrics ends with # EOF")
}

func TestRuntimeCollectors(t *testing.T) {
	m := metrics.New(metrics.Options{})
	n, err := testutil.GatherAndCount(m.Registry(), "go_goroutines", "process_start_time_seconds")
	require.NoError(t, err)
	// The process collector exists only where procfs does.
	assert.GreaterOrEqual(t, n, 1)
}

func TestNilMetricsIsANoOp(t *testing.T) {
	var m *metrics.Metrics
	assert.NotPanics(t, func() {
		m.InitEvents("Message-Sent")
		m.ChunkCommitted("Message-Sent", 1, 1, 0)
		m.CheckpointCommitted("Message-Sent")
		m.TransactionAborted("Message-Sent")
		m.WindowCommitted("Message-Sent", t0)
		m.SetCommittedEnd("Message-Sent", t0)
		m.ReportReady("Message-Sent", time.Second)
		m.SetProgress("Message-Sent", t0, t0)
		m.Waiting("Message-Sent", t0)
		m.Done("Message-Sent")
		m.EventFailed("Message-Sent", assert.AnError)
		m.WatchAPI(nil)
		assert.Nil(t, m.Events())
		assert.NoError(t, m.WatchSource(nil))
		assert.Nil(t, m.Registry())
		assert.NotNil(t, m.KafkaHooks())
	})
	ts := httptest.NewServer(metrics.NewServer(":0", nil, nil, nil).Handler())
	defer ts.Close()
	for path, code := range map[string]int{"/metrics": http.StatusNotFound, "/healthz": http.StatusOK, "/readyz": http.StatusOK} {
		resp, err := http.Get(ts.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, code, resp.StatusCode, path)
	}
}

func TestPerChunkCallsDoNotAllocate(t *testing.T) {
	var r metrics.Readiness
	m := metrics.New(metrics.Options{Readiness: &r})
	m.InitEvents("Message-Sent")
	allocs := testing.AllocsPerRun(200, func() {
		m.ChunkCommitted("Message-Sent", 100, 99, 1)
		m.CheckpointCommitted("Message-Sent")
		m.TransactionAborted("Message-Sent")
		m.WindowCommitted("Message-Sent", t0)
		m.ReportReady("Message-Sent", time.Minute)
		m.SetProgress("Message-Sent", t0, t0)
		m.Waiting("Message-Sent", t0)
	})
	assert.Zero(t, allocs)
}

func TestConcurrentUse(t *testing.T) {
	m := metrics.New(metrics.Options{})
	url := scrape(t, m)
	var wg sync.WaitGroup
	for _, ev := range []string{"A", "B", "C", "D"} {
		wg.Go(func() {
			for i := range 200 {
				m.ChunkCommitted(ev, 2, 1, 1)
				m.WindowCommitted(ev, t0.Add(time.Duration(i)*time.Minute))
				m.SetProgress(ev, t0, t0.Add(time.Hour))
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			resp, err := http.Get(url)
			if assert.NoError(t, err) {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	})
	wg.Wait()
	want := helpProduced
	for _, ev := range []string{"A", "B", "C", "D"} {
		want += `freshchat_connector_rows_produced_total{account="default",event="` + ev + `"} 200` + "\n"
	}
	require.NoError(t, testutil.ScrapeAndCompare(url, strings.NewReader(want), "freshchat_connector_rows_produced_total"))
}

func TestBackfillETA(t *testing.T) {
	m := metrics.New(metrics.Options{})
	m.SetBackfillETA("Message-Sent", 90*time.Minute)
	m.SetBackfillETA("acme/CSAT-Score", -time.Second)
	m.InitEvents("Agent-Activity") // no estimate yet: no series
	var b strings.Builder
	families, err := m.Registry().Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == "freshchat_connector_backfill_eta_seconds" {
			for _, s := range f.GetMetric() {
				labels := map[string]string{}
				for _, l := range s.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				fmt.Fprintf(&b, "%s/%s=%g\n", labels["account"], labels["event"], s.GetGauge().GetValue())
			}
		}
	}
	assert.Equal(t, "acme/CSAT-Score=0\ndefault/Message-Sent=5400\n", b.String())
}
