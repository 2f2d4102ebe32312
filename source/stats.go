package source

import (
	"maps"
	"sync"
	"time"
)

// Endpoints of [RequestKey]: the API's submit and get, and the object store's
// downloads. Report ids are not part of the key, so the set stays small.
const (
	EndpointSubmit   = "submit"   // POST {base}/reports/raw
	EndpointGet      = "get"      // GET {base}/reports/raw/{id}
	EndpointDownload = "download" // GET of a pre-signed link
)

// RequestKey identifies a kind of request in [Stats.Requests].
type RequestKey struct {
	Endpoint string // EndpointSubmit, EndpointGet or EndpointDownload
	Code     int    // HTTP status code; 0 when no answer came (network error, stall)
}

// Stats is a snapshot of a [Client]'s counters since it was built. Waits are
// summed over requests: two requests that each wait 10s add 20s.
type Stats struct {
	// Requests counts HTTP requests sent, by endpoint and answer.
	Requests map[RequestKey]int64
	// Retries counts attempts that followed a failed one (API and downloads).
	Retries int64
	// Throttled counts 429 answers (API and downloads); ThrottleWait is the
	// time requests spent waiting them out. A 429 from the API pauses every
	// API request of the client until its Retry-After has passed.
	Throttled    int64
	ThrottleWait time.Duration
	// BudgetWaits counts API requests that waited for the request budget
	// (BudgetConfig), BudgetWait their total wait.
	BudgetWaits int64
	BudgetWait  time.Duration
	// SubmitWaits counts submits that waited for the submit budget
	// (ClientConfig.SubmitsPerMinute), SubmitWait their total wait.
	SubmitWaits int64
	SubmitWait  time.Duration
	// BytesDownloaded counts bytes of report links spooled to temp files.
	BytesDownloaded int64
	// API is what the answers of the API requests (submit, get; not
	// downloads) say about the API's health.
	API APIHealth
}

// APIHealth is what the last API requests tell about the Freshchat API. A
// request fails when it gets no answer (a network error, a stall), a 5xx,
// or a 401 or 403 (the token is refused); any other answer, 404 and 400
// included, shows a reachable API that accepted the token. A 429 says
// nothing either way. Attempts are counted one by one, retries included;
// requests ended by the caller's own cancellation are not counted.
type APIHealth struct {
	// LastOK is when the last request that did not fail was answered;
	// zero before the first.
	LastOK time.Time
	// FailingSince is when the first failed request since LastOK ended;
	// zero when the last request did not fail.
	FailingSince time.Time
	// LastStatus is the HTTP status of the last failed request (0: no
	// answer) and LastError its error text (without the token), while
	// FailingSince is set.
	LastStatus int
	LastError  string
}

// Failing reports whether the last API request failed.
func (h APIHealth) Failing() bool { return !h.FailingSince.IsZero() }

// TokenRefused reports whether the last API request was refused with 401
// or 403.
func (h APIHealth) TokenRefused() bool {
	return h.Failing() && (h.LastStatus == 401 || h.LastStatus == 403)
}

// meter holds a client's counters; every method is safe for concurrent use.
type meter struct {
	mu sync.Mutex
	s  Stats
}

func newMeter() *meter { return &meter{s: Stats{Requests: map[RequestKey]int64{}}} }

// apiAnswer records the outcome of one API request attempt at at: its
// status (0: no answer) and, when it failed, its error. See APIHealth.
func (m *meter) apiAnswer(at time.Time, code int, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := &m.s.API
	switch {
	case code == 429:
		// Throttled: the API is there, the token unknown; no change.
	case code == 0 || code >= 500 || code == 401 || code == 403:
		if h.FailingSince.IsZero() {
			h.FailingSince = at
		}
		h.LastStatus = code
		h.LastError = ""
		if err != nil {
			h.LastError = err.Error()
		}
	default:
		*h = APIHealth{LastOK: at}
	}
}

func (m *meter) request(endpoint string, code int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.s.Requests[RequestKey{endpoint, code}]++
	if code == 429 {
		m.s.Throttled++
	}
}

func (m *meter) retry() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.s.Retries++
}

func (m *meter) throttleWait(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.s.ThrottleWait += d
}

func (m *meter) budgetWait(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.s.BudgetWaits++
	m.s.BudgetWait += d
}

func (m *meter) submitWait(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.s.SubmitWaits++
	m.s.SubmitWait += d
}

func (m *meter) downloaded(n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.s.BytesDownloaded += n
}

// waits returns the counters a pace report shows.
func (m *meter) waits() (throttled int64, throttleWait, budgetWait time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.s.Throttled, m.s.ThrottleWait, m.s.BudgetWait
}

// snapshot returns a copy of the counters that the caller owns.
func (m *meter) snapshot() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.s
	s.Requests = maps.Clone(m.s.Requests)
	return s
}

// Stats returns a snapshot of the client's counters. It is cheap and safe to
// call at any time, from any goroutine.
func (c *Client) Stats() Stats { return c.meter.snapshot() }
