package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/freshstream/freshchat-kafka/source"
)

var (
	apiRequestsDesc = prometheus.NewDesc(Namespace+"_api_requests_total",
		"Freshchat HTTP requests sent, by endpoint (submit, get, download) and status code (0: no answer, such as a network error or a stall).",
		[]string{"endpoint", "code"}, nil)
	apiRetriesDesc = prometheus.NewDesc(Namespace+"_api_retries_total",
		"Freshchat request attempts that followed a failed one (API and downloads).", nil, nil)
	apiThrottledDesc = prometheus.NewDesc(Namespace+"_api_throttled_total",
		"Freshchat answers with status 429 (API and downloads).", nil, nil)
	apiThrottleWaitDesc = prometheus.NewDesc(Namespace+"_api_throttle_wait_seconds_total",
		"Time requests spent waiting out 429 answers, summed over requests.", nil, nil)
	budgetWaitsDesc = prometheus.NewDesc(Namespace+"_budget_waits_total",
		"API requests that waited for the request budget (freshchat.requests_per_minute, freshchat.requests_per_day).", nil, nil)
	budgetWaitDesc = prometheus.NewDesc(Namespace+"_budget_wait_seconds_total",
		"Time API requests spent waiting for the request budget, summed over requests.", nil, nil)
	downloadBytesDesc = prometheus.NewDesc(Namespace+"_download_bytes_total",
		"Bytes of report links downloaded.", nil, nil)
)

// SourceCollector returns a collector that calls stats at every scrape and
// exposes the snapshot's cumulative values as counters: api_requests_total,
// api_retries_total, api_throttled_total, api_throttle_wait_seconds_total,
// budget_waits_total, budget_wait_seconds_total and download_bytes_total.
// stats must be cheap and safe to call from any goroutine, such as
// (*source.Client).Stats. A nil stats collects nothing.
func SourceCollector(stats func() source.Stats) prometheus.Collector {
	return sourceCollector{stats}
}

// WatchSource registers SourceCollector(stats) on m's registry and makes
// api_ready and the Readiness follow the snapshot's APIHealth (WatchAPI).
// It fails if a source is already watched: the families exist once per
// registry.
func (m *Metrics) WatchSource(stats func() source.Stats) error {
	if m == nil {
		return nil
	}
	if err := m.reg.Register(SourceCollector(stats)); err != nil {
		return err
	}
	m.WatchAPI(func() source.APIHealth { return stats().API })
	return nil
}

type sourceCollector struct{ stats func() source.Stats }

func (sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{apiRequestsDesc, apiRetriesDesc, apiThrottledDesc, apiThrottleWaitDesc,
		budgetWaitsDesc, budgetWaitDesc, downloadBytesDesc} {
		ch <- d
	}
}

func (c sourceCollector) Collect(ch chan<- prometheus.Metric) {
	if c.stats == nil {
		return
	}
	s := c.stats()
	for k, n := range s.Requests {
		ch <- prometheus.MustNewConstMetric(apiRequestsDesc, prometheus.CounterValue, float64(n), k.Endpoint, strconv.Itoa(k.Code))
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	counter(apiRetriesDesc, float64(s.Retries))
	counter(apiThrottledDesc, float64(s.Throttled))
	counter(apiThrottleWaitDesc, s.ThrottleWait.Seconds())
	counter(budgetWaitsDesc, float64(s.BudgetWaits))
	counter(budgetWaitDesc, s.BudgetWait.Seconds())
	counter(downloadBytesDesc, float64(s.BytesDownloaded))
}
