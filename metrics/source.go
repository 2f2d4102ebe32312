package metrics

import (
	"maps"
	"slices"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/source"
)

var (
	apiRequestsDesc = prometheus.NewDesc(Namespace+"_api_requests_total",
		"Freshchat HTTP requests sent, by endpoint (submit, get, download) and status code (0: no answer, such as a network error or a stall).",
		[]string{"account", "endpoint", "code"}, nil)
	apiRetriesDesc = prometheus.NewDesc(Namespace+"_api_retries_total",
		"Freshchat request attempts that followed a failed one (API and downloads).", []string{"account"}, nil)
	apiThrottledDesc = prometheus.NewDesc(Namespace+"_api_throttled_total",
		"Freshchat answers with status 429 (API and downloads).", []string{"account"}, nil)
	apiThrottleWaitDesc = prometheus.NewDesc(Namespace+"_api_throttle_wait_seconds_total",
		"Time requests spent waiting out 429 answers, summed over requests.", []string{"account"}, nil)
	budgetWaitsDesc = prometheus.NewDesc(Namespace+"_budget_waits_total",
		"API requests that waited for the request budget (freshchat.requests_per_minute, freshchat.requests_per_day).", []string{"account"}, nil)
	budgetWaitDesc = prometheus.NewDesc(Namespace+"_budget_wait_seconds_total",
		"Time API requests spent waiting for the request budget, summed over requests.", []string{"account"}, nil)
	downloadBytesDesc = prometheus.NewDesc(Namespace+"_download_bytes_total",
		"Bytes of report links downloaded.", []string{"account"}, nil)
)

// SourceCollector returns a collector that calls stats at every scrape and
// exposes the snapshot's cumulative values as counters: api_requests_total,
// api_retries_total, api_throttled_total, api_throttle_wait_seconds_total,
// budget_waits_total, budget_wait_seconds_total and download_bytes_total.
// stats must be cheap and safe to call from any goroutine, such as
// (*source.Client).Stats. A nil stats collects nothing.
// Every family is labelled account, DefaultAccount here (see
// SourcesCollector).
func SourceCollector(stats func() source.Stats) prometheus.Collector {
	if stats == nil {
		return sourceCollector{}
	}
	return sourceCollector{map[string]func() source.Stats{checkpoint.DefaultAccount: stats}}
}

// SourcesCollector is SourceCollector for several accounts' sources, by
// account name: each family is labelled with the account.
func SourcesCollector(stats map[string]func() source.Stats) prometheus.Collector {
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
	if stats != nil {
		m.WatchAPI(func() source.APIHealth { return stats().API })
	}
	return nil
}

// WatchSources is WatchSource for the sources of several accounts, by
// account name. api_ready and the Readiness follow the best of their APIs
// (see BestHealth): the instance is not ready only when no account's API
// works; an account whose token is refused shows in account_up.
func (m *Metrics) WatchSources(stats map[string]func() source.Stats) error {
	if m == nil {
		return nil
	}
	if err := m.reg.Register(SourcesCollector(stats)); err != nil {
		return err
	}
	healths := make([]func() source.APIHealth, 0, len(stats))
	for _, name := range slices.Sorted(maps.Keys(stats)) {
		f := stats[name]
		healths = append(healths, func() source.APIHealth { return f().API })
	}
	if len(healths) > 0 {
		m.WatchAPI(BestHealth(healths...))
	}
	return nil
}

// BestHealth is the health of the best-off of several APIs, whatever their
// order: one that is not failing, else one whose token is not refused and
// that has failed for the shortest time, else the first.
func BestHealth(hs ...func() source.APIHealth) func() source.APIHealth {
	return func() source.APIHealth {
		var best source.APIHealth
		for i, h := range hs {
			cur := h()
			switch {
			case !cur.Failing():
				return cur
			case i == 0,
				best.TokenRefused() && !cur.TokenRefused(),
				best.TokenRefused() == cur.TokenRefused() && cur.FailingSince.After(best.FailingSince):
				best = cur
			}
		}
		return best
	}
}

type sourceCollector struct {
	stats map[string]func() source.Stats
}

func (sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{apiRequestsDesc, apiRetriesDesc, apiThrottledDesc, apiThrottleWaitDesc,
		budgetWaitsDesc, budgetWaitDesc, downloadBytesDesc} {
		ch <- d
	}
}

func (c sourceCollector) Collect(ch chan<- prometheus.Metric) {
	for account, stats := range c.stats {
		collectSource(ch, account, stats())
	}
}

func collectSource(ch chan<- prometheus.Metric, account string, s source.Stats) {
	for k, n := range s.Requests {
		ch <- prometheus.MustNewConstMetric(apiRequestsDesc, prometheus.CounterValue, float64(n), account, k.Endpoint, strconv.Itoa(k.Code))
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, account)
	}
	counter(apiRetriesDesc, float64(s.Retries))
	counter(apiThrottledDesc, float64(s.Throttled))
	counter(apiThrottleWaitDesc, s.ThrottleWait.Seconds())
	counter(budgetWaitsDesc, float64(s.BudgetWaits))
	counter(budgetWaitDesc, s.BudgetWait.Seconds())
	counter(downloadBytesDesc, float64(s.BytesDownloaded))
}
