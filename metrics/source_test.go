package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/metrics"
	"github.com/freshstream/freshchat-kafka/source"
)

const sourceHelp = `# HELP freshchat_connector_api_requests_total Freshchat HTTP requests sent, by endpoint (submit, get, download) and status code (0: no answer, such as a network error or a stall).
# TYPE freshchat_connector_api_requests_total counter
`

var sourceFamilies = []string{
	"freshchat_connector_api_requests_total", "freshchat_connector_api_retries_total",
	"freshchat_connector_api_throttled_total", "freshchat_connector_api_throttle_wait_seconds_total",
	"freshchat_connector_budget_waits_total", "freshchat_connector_budget_wait_seconds_total",
	"freshchat_connector_download_bytes_total",
}

func sourceScalars(retries, throttled, throttleWait, budgetWaits, budgetWait, bytes string) string {
	return `# HELP freshchat_connector_api_retries_total Freshchat request attempts that followed a failed one (API and downloads).
# TYPE freshchat_connector_api_retries_total counter
freshchat_connector_api_retries_total{account="default"} ` + retries + `
# HELP freshchat_connector_api_throttled_total Freshchat answers with status 429 (API and downloads).
# TYPE freshchat_connector_api_throttled_total counter
freshchat_connector_api_throttled_total{account="default"} ` + throttled + `
# HELP freshchat_connector_api_throttle_wait_seconds_total Time requests spent waiting out 429 answers, summed over requests.
# TYPE freshchat_connector_api_throttle_wait_seconds_total counter
freshchat_connector_api_throttle_wait_seconds_total{account="default"} ` + throttleWait + `
# HELP freshchat_connector_budget_waits_total API requests that waited for the request budget (freshchat.requests_per_minute, freshchat.requests_per_day).
# TYPE freshchat_connector_budget_waits_total counter
freshchat_connector_budget_waits_total{account="default"} ` + budgetWaits + `
# HELP freshchat_connector_budget_wait_seconds_total Time API requests spent waiting for the request budget, summed over requests.
# TYPE freshchat_connector_budget_wait_seconds_total counter
freshchat_connector_budget_wait_seconds_total{account="default"} ` + budgetWait + `
# HELP freshchat_connector_download_bytes_total Bytes of report links downloaded.
# TYPE freshchat_connector_download_bytes_total counter
freshchat_connector_download_bytes_total{account="default"} ` + bytes + `
`
}

func TestSourceCollectorExposesCumulativeSnapshots(t *testing.T) {
	var mu sync.Mutex
	snap := source.Stats{}
	stats := func() source.Stats {
		mu.Lock()
		defer mu.Unlock()
		return snap
	}
	m := metrics.New(metrics.Options{})
	require.NoError(t, m.WatchSource(stats))
	url := scrape(t, m)

	tests := []struct {
		name  string
		stats source.Stats
		want  string
	}{
		{
			name:  "a client that sent nothing",
			stats: source.Stats{},
			want:  sourceScalars("0", "0", "0", "0", "0", "0"),
		},
		{
			name: "requests by endpoint and code, waits in seconds",
			stats: source.Stats{
				Requests: map[source.RequestKey]int64{
					{Endpoint: source.EndpointSubmit, Code: 202}:   3,
					{Endpoint: source.EndpointGet, Code: 200}:      7,
					{Endpoint: source.EndpointGet, Code: 429}:      2,
					{Endpoint: source.EndpointDownload, Code: 0}:   1,
					{Endpoint: source.EndpointDownload, Code: 206}: 4,
				},
				Retries: 3, Throttled: 2, ThrottleWait: 90 * time.Second,
				BudgetWaits: 5, BudgetWait: 2500 * time.Millisecond, BytesDownloaded: 1 << 20,
			},
			want: sourceHelp + `freshchat_connector_api_requests_total{account="default",code="0",endpoint="download"} 1
freshchat_connector_api_requests_total{account="default",code="200",endpoint="get"} 7
freshchat_connector_api_requests_total{account="default",code="202",endpoint="submit"} 3
freshchat_connector_api_requests_total{account="default",code="206",endpoint="download"} 4
freshchat_connector_api_requests_total{account="default",code="429",endpoint="get"} 2
` + sourceScalars("3", "2", "90", "5", "2.5", "1048576"),
		},
		{
			name: "later snapshots replace the values: they are cumulative",
			stats: source.Stats{
				Requests: map[source.RequestKey]int64{
					{Endpoint: source.EndpointSubmit, Code: 202}: 4,
					{Endpoint: source.EndpointGet, Code: 200}:    9,
				},
				Retries: 3, Throttled: 2, ThrottleWait: 90 * time.Second,
				BudgetWaits: 6, BudgetWait: 3 * time.Second, BytesDownloaded: 3 << 20,
			},
			want: sourceHelp + `freshchat_connector_api_requests_total{account="default",code="200",endpoint="get"} 9
freshchat_connector_api_requests_total{account="default",code="202",endpoint="submit"} 4
` + sourceScalars("3", "2", "90", "6", "3", "3145728"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			snap = tt.stats
			mu.Unlock()
			require.NoError(t, testutil.ScrapeAndCompare(url, strings.NewReader(tt.want), sourceFamilies...))
		})
	}
}

func TestWatchSourceOnce(t *testing.T) {
	m := metrics.New(metrics.Options{})
	require.NoError(t, m.WatchSource(func() source.Stats { return source.Stats{} }))
	assert.Error(t, m.WatchSource(func() source.Stats { return source.Stats{} }), "a second source would duplicate the families")
}

func TestSourceCollectorWithoutStats(t *testing.T) {
	assert.Zero(t, testutil.CollectAndCount(metrics.SourceCollector(nil)))
}

func TestSourceCollectorReadsARealClient(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"id":"r-1"}`)
	}))
	defer api.Close()
	base, err := url.Parse(api.URL + "/v2")
	require.NoError(t, err)
	cl, err := source.NewClient(source.ClientConfig{BaseURL: base, Token: "t"})
	require.NoError(t, err)
	m := metrics.New(metrics.Options{})
	require.NoError(t, m.WatchSource(cl.Stats))

	w := source.Window{Start: t0, End: t0.Add(time.Hour)}
	for range 2 {
		_, err := cl.Submit(context.Background(), "Message-Sent", w)
		require.NoError(t, err)
	}
	want := sourceHelp + `freshchat_connector_api_requests_total{account="default",code="202",endpoint="submit"} 2
` + sourceScalars("0", "0", "0", "0", "0", "0")
	require.NoError(t, testutil.ScrapeAndCompare(scrape(t, m), strings.NewReader(want), sourceFamilies...))
}

func TestWatchSourcesLabelsEachAccount(t *testing.T) {
	m := metrics.New(metrics.Options{})
	stats := func(n int64) func() source.Stats {
		return func() source.Stats { return source.Stats{BytesDownloaded: n} }
	}
	require.NoError(t, m.WatchSources(map[string]func() source.Stats{"acme": stats(10), "globex": stats(20)}))
	want := `# HELP freshchat_connector_download_bytes_total Bytes of report links downloaded.
# TYPE freshchat_connector_download_bytes_total counter
freshchat_connector_download_bytes_total{account="acme"} 10
freshchat_connector_download_bytes_total{account="globex"} 20
`
	assert.NoError(t, testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "freshchat_connector_download_bytes_total"))
}

func TestBestHealthIsOrderFree(t *testing.T) {
	now := time.Now()
	ok := source.APIHealth{}
	refused := source.APIHealth{FailingSince: now.Add(-time.Minute), LastStatus: 401, LastError: "no"}
	down := source.APIHealth{FailingSince: now.Add(-time.Hour), LastError: "dial"}
	downLater := source.APIHealth{FailingSince: now.Add(-time.Minute), LastError: "dial"}
	of := func(h source.APIHealth) func() source.APIHealth { return func() source.APIHealth { return h } }
	for _, tc := range []struct {
		name string
		hs   []source.APIHealth
		want source.APIHealth
	}{
		{"one works", []source.APIHealth{refused, ok}, ok},
		{"one works, other order", []source.APIHealth{ok, refused}, ok},
		{"failing beats refused", []source.APIHealth{refused, down}, down},
		{"the shortest failure", []source.APIHealth{down, downLater}, downLater},
		{"the shortest failure, other order", []source.APIHealth{downLater, down}, downLater},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := make([]func() source.APIHealth, len(tc.hs))
			for i, h := range tc.hs {
				fs[i] = of(h)
			}
			assert.Equal(t, tc.want, metrics.BestHealth(fs...)())
		})
	}
}
