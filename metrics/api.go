package metrics

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/freshstream/freshchat-kafka/source"
)

// DefaultAPIGrace is how long Freshchat API requests may fail (no answer,
// 5xx) before the API counts as not ready: long enough for the client's own
// retries of a short outage, short enough to tell an operator within
// minutes.
const DefaultAPIGrace = 2 * time.Minute

// APIProblem says why the API described by h is not ready at now, or nil:
// at once when the last request was refused with 401 or 403 (the token),
// and when requests have failed without an accepted answer in between for
// longer than grace. A health with no request yet is ready.
func APIProblem(h source.APIHealth, now time.Time, grace time.Duration) error {
	if !h.Failing() {
		return nil
	}
	if h.TokenRefused() {
		return fmt.Errorf("freshchat API refuses the token (%d %s): %s", h.LastStatus, http.StatusText(h.LastStatus), h.LastError)
	}
	failing := max(now.Sub(h.FailingSince), 0)
	if failing <= grace {
		return nil
	}
	what := "unreachable"
	if h.LastStatus != 0 {
		what = fmt.Sprintf("failing (%d %s)", h.LastStatus, http.StatusText(h.LastStatus))
	}
	return fmt.Errorf("freshchat API %s for %s (last error: %s)", what, failing.Round(time.Second), h.LastError)
}

// apiWatch holds the API health function that api_ready and the Readiness
// judge; it may be replaced (a probe client's at start, the pipeline's
// client's once it runs).
type apiWatch struct {
	mu     sync.RWMutex
	health func() source.APIHealth
}

func (w *apiWatch) set(h func() source.APIHealth) {
	w.mu.Lock()
	w.health = h
	w.mu.Unlock()
}

func (w *apiWatch) get() func() source.APIHealth {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.health
}

// WatchAPI makes api_ready, and the Readiness given to New, follow health
// (such as the APIHealth of a source client's Stats), judged by APIProblem
// with Options.APIGrace. A later call replaces the function. WatchSource
// calls it with the watched client's health.
func (m *Metrics) WatchAPI(health func() source.APIHealth) {
	if m == nil {
		return
	}
	m.api.set(health)
	m.ready.WatchAPI(health, m.apiGrace)
}

var apiReadyDesc = prometheus.NewDesc(Namespace+"_api_ready",
	"1 while the Freshchat API answers and accepts the token; 0 once it refused the token (401, 403) or failed (no answer, 5xx) for longer than a grace of a few minutes, until its next accepted answer.",
	nil, nil)

// apiCollector computes api_ready at scrape time; nothing before WatchAPI.
type apiCollector struct{ m *Metrics }

func (apiCollector) Describe(ch chan<- *prometheus.Desc) { ch <- apiReadyDesc }

func (c apiCollector) Collect(ch chan<- prometheus.Metric) {
	health := c.m.api.get()
	if health == nil {
		return
	}
	v := 1.0
	if APIProblem(health(), c.m.now(), c.m.apiGrace) != nil {
		v = 0
	}
	ch <- prometheus.MustNewConstMetric(apiReadyDesc, prometheus.GaugeValue, v)
}

// APIProblem is the watched API's problem now (see the function
// APIProblem), and whether an API is watched at all (WatchAPI).
func (m *Metrics) APIProblem() (problem error, watched bool) {
	if m == nil {
		return nil, false
	}
	health := m.api.get()
	if health == nil {
		return nil, false
	}
	return APIProblem(health(), m.now(), m.apiGrace), true
}
