package source_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/internal/logbuf"
	"github.com/freshstream/freshchat-kafka/source"
)

// budgetClient is a client of the API served by h in-process (see
// inProcessClient); mod adjusts the test configuration.
func budgetClient(t *testing.T, h http.Handler, mod func(*source.ClientConfig)) (*source.Client, *logbuf.Buffer) {
	t.Helper()
	return inProcessClient(t, h, mod)
}

// arrivals records when requests reach a server.
type arrivals struct {
	mu    sync.Mutex
	times []time.Time
	paths []string
}

func (a *arrivals) add(r *http.Request) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.times = append(a.times, time.Now())
	a.paths = append(a.paths, r.Method+" "+r.URL.Path)
	return len(a.times)
}

func (a *arrivals) list() []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]time.Time(nil), a.times...)
}

// maxInMinute is the most arrivals within any 60 seconds (half-open).
func maxInMinute(times []time.Time) int {
	most := 0
	for i := range times {
		n := 0
		for _, u := range times[i:] {
			if u.Sub(times[i]) < time.Minute {
				n++
			}
		}
		most = max(most, n)
	}
	return most
}

func pending(w http.ResponseWriter, id string) {
	writeJSON(w, 200, map[string]any{"id": id, "status": "PENDING"})
}

func TestBudgetPacesConcurrentCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got arrivals
		c, logs := budgetClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got.add(r)
			pending(w, "r1")
		}), func(c *source.ClientConfig) { c.Budget = source.BudgetConfig{PerMinute: 30} })
		start := time.Now()

		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() {
				for range 8 {
					_, err := c.Get(context.Background(), "r1")
					assert.NoError(t, err)
				}
			})
		}
		wg.Wait()

		times := got.list()
		require.Len(t, times, 40)
		for i, at := range times {
			// Within a millisecond: the pace keeps a microsecond of margin
			// per request against float rounding (see limiter.setBudget).
			assert.InDelta(t, time.Duration(i)*2*time.Second, at.Sub(start), float64(time.Millisecond), "request %d: one every 2s (30/min)", i)
		}
		assert.Equal(t, 30, maxInMinute(times))
		st := c.Stats()
		assert.Equal(t, map[source.RequestKey]int64{{Endpoint: source.EndpointGet, Code: 200}: 40}, st.Requests)
		assert.EqualValues(t, 39, st.BudgetWaits, "every request but the first waited for its slot")
		assert.Positive(t, st.BudgetWait)
		assert.Zero(t, st.Throttled)

		// One pace report: at the first request a minute after the first.
		out := logs.String()
		assert.Equal(t, 1, strings.Count(out, "freshchat API request pace"), out)
		assert.Contains(t, out, `requests=30 period=1m0s budget="30/min, unlimited/day" throttled=0`)
	})
}

func TestThrottlePausesEveryCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got arrivals
		c, logs := budgetClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if got.add(r) == 1 {
				w.Header().Set("Retry-After", "30")
				writeJSON(w, 429, map[string]any{"code": 429, "status": "TOO_MANY_REQUESTS", "message": "budget spent"})
				return
			}
			pending(w, "r1")
		}), func(c *source.ClientConfig) { c.Retry.MaxAttempts = 1 })
		start := time.Now()

		var wg sync.WaitGroup
		wg.Go(func() { // gets the 429
			_, err := c.Get(context.Background(), "r1")
			assert.NoError(t, err)
		})
		time.Sleep(time.Second)
		for range 3 { // never got a 429, yet wait it out
			wg.Go(func() {
				_, err := c.Get(context.Background(), "r1")
				assert.NoError(t, err)
			})
		}
		wg.Wait()

		times := got.list()
		require.Len(t, times, 5)
		assert.Equal(t, time.Duration(0), times[0].Sub(start))
		for i, at := range times[1:] {
			assert.Equal(t, 30*time.Second, at.Sub(start), "request %d waited for the Retry-After of another", i+1)
		}
		st := c.Stats()
		assert.EqualValues(t, 1, st.Throttled)
		assert.EqualValues(t, 1, st.Retries)
		assert.Equal(t, 30*time.Second+3*29*time.Second, st.ThrottleWait, "summed over the waiting requests")
		assert.Zero(t, st.BudgetWaits, "no budget is set")
		assert.EqualValues(t, 1, st.Requests[source.RequestKey{Endpoint: source.EndpointGet, Code: 429}])
		assert.EqualValues(t, 4, st.Requests[source.RequestKey{Endpoint: source.EndpointGet, Code: 200}])
		assert.Contains(t, logs.String(), "retrying")
	})
}

func TestDailyCapWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got arrivals
		c, logs := budgetClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got.add(r)
			pending(w, "r1")
		}), func(c *source.ClientConfig) { c.Budget = source.BudgetConfig{PerDay: 3} })
		start := time.Now()

		for range 7 {
			_, err := c.Get(context.Background(), "r1")
			require.NoError(t, err)
		}

		var offsets []time.Duration
		for _, at := range got.list() {
			offsets = append(offsets, at.Sub(start))
		}
		day := 24 * time.Hour
		assert.Equal(t, []time.Duration{0, 0, 0, day, day, day, 2 * day}, offsets, "at most 3 in any 24 hours")
		st := c.Stats()
		assert.EqualValues(t, 2, st.BudgetWaits)
		assert.Equal(t, 2*day, st.BudgetWait)

		out := logs.String()
		assert.Equal(t, 2, strings.Count(out, "freshchat daily request budget reached"), out)
		assert.Contains(t, out, "resume_at="+start.Add(day).UTC().Format(time.RFC3339))
		assert.Contains(t, out, "resume_at="+start.Add(2*day).UTC().Format(time.RFC3339))
	})
}

func TestBudgetWaitEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _ := budgetClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { pending(w, "r1") }),
			func(c *source.ClientConfig) { c.Budget = source.BudgetConfig{PerDay: 1} })
		_, err := c.Get(context.Background(), "r1")
		require.NoError(t, err)

		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		start := time.Now()
		_, err = c.Get(ctx, "r1")
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.False(t, source.Retryable(err))
		assert.Equal(t, time.Hour, time.Since(start))
	})
}

func TestDownloadsDoNotCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var api, store arrivals
		body := []byte(hdr + "\ni1,2024-01-01T00:00:00.000Z,Ann\n")
		mux := http.NewServeMux()
		mux.HandleFunc("api.test/", func(w http.ResponseWriter, r *http.Request) {
			api.add(r)
			writeJSON(w, 200, completedJSON("r1", signed("http://store.test", "/a.csv"), signed("http://store.test", "/b.csv"), signed("http://store.test", "/c.csv")))
		})
		mux.HandleFunc("store.test/", func(w http.ResponseWriter, r *http.Request) {
			store.add(r)
			w.Write(body)
		})
		c, _ := budgetClient(t, mux, func(c *source.ClientConfig) { c.Budget = source.BudgetConfig{PerMinute: 1, PerDay: 1} })
		start := time.Now()

		rep, err := c.Get(context.Background(), "r1")
		require.NoError(t, err)
		rows, err := collect(t, c.Open(context.Background(), rep, source.Position{}))
		require.NoError(t, err)
		assert.Len(t, rows, 3)
		for _, at := range store.list() {
			assert.Equal(t, start, at, "downloads wait for no budget")
		}

		st := c.Stats()
		assert.Equal(t, map[source.RequestKey]int64{
			{Endpoint: source.EndpointGet, Code: 200}:      1,
			{Endpoint: source.EndpointDownload, Code: 200}: 3,
		}, st.Requests)
		assert.EqualValues(t, 3*len(body), st.BytesDownloaded)
		assert.Zero(t, st.BudgetWaits)

		// The daily cap of 1 is spent by the GET alone.
		_, err = c.Get(context.Background(), "r1")
		require.NoError(t, err)
		times := api.list()
		require.Len(t, times, 2)
		assert.Equal(t, 24*time.Hour, times[1].Sub(start))
	})
}

// storm is a time, counted from the start of a run, during which the API
// answers 429 to every request (the account's budget spent elsewhere).
type storm struct {
	from, to   time.Duration
	retryAfter string
}

// budgetedAPI is a reports API for a long run: every report is PENDING for
// two polls, then COMPLETED. It answers 429 to every request during its
// storms and to every 7th request otherwise (without Retry-After).
type budgetedAPI struct {
	arrivals
	start  time.Time
	storms []storm
	mu     sync.Mutex
	n      int
	polls  map[string]int
	// throttled counts 429 answers; stormed those of each storm.
	throttled int
	stormed   []int
}

func (a *budgetedAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.add(r)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.n++
	el := time.Since(a.start)
	for i, s := range a.storms {
		if el >= s.from && el < s.to {
			a.throttled++
			a.stormed[i]++
			w.Header().Set("Retry-After", s.retryAfter)
			writeJSON(w, 429, map[string]any{"code": 429, "status": "TOO_MANY_REQUESTS", "message": "budget spent"})
			return
		}
	}
	if a.n%7 == 0 {
		a.throttled++
		w.WriteHeader(429)
		return
	}
	if r.Method == http.MethodPost {
		id := fmt.Sprintf("r%d", a.n)
		a.polls[id] = 0
		writeJSON(w, 202, map[string]any{"id": id})
		return
	}
	id := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	a.polls[id]++
	if a.polls[id] <= 2 {
		pending(w, id)
		return
	}
	writeJSON(w, 200, completedJSON(id, signed("http://store.test", "/"+id+".zip")))
}

// TestLongBudgetedRunSurvives429s backfills 15 monthly windows of 12 events
// under a budget of 12 requests a minute, through a 15-minute storm of 429s
// with Retry-After 90s, a 2-hour storm with Retry-After 5s (each event meets
// more than a hundred 429s in a row) and a 429 on every 7th request: every
// window completes, the budget holds in every minute, and the pace is logged
// about once a minute.
func TestLongBudgetedRunSurvives429s(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := &budgetedAPI{start: time.Now(), polls: map[string]int{}, storms: []storm{
			{20 * time.Minute, 35 * time.Minute, "90"},
			{50 * time.Minute, 170 * time.Minute, "5"},
		}, stormed: make([]int, 2)}
		c, logs := budgetClient(t, api, func(c *source.ClientConfig) {
			c.Budget = source.BudgetConfig{PerMinute: 12}
			c.Retry = source.RetryConfig{Base: time.Second, Max: 30 * time.Second, MaxAttempts: 3} // MaxThrottled: default
			c.PollInterval, c.PollMaxInterval = 15*time.Second, 2*time.Minute
			c.PendingTimeout = 6 * time.Hour
		})
		first := time.Date(1998, 10, 1, 0, 0, 0, 0, time.UTC)

		var wg sync.WaitGroup
		var mu sync.Mutex
		var done int
		for e := range 12 {
			wg.Go(func() {
				for m := range 15 {
					w := source.Window{Start: first.AddDate(0, m, 0), End: first.AddDate(0, m+1, 0)}
					rep, err := c.Prepare(context.Background(), fmt.Sprintf("Event-%d", e), w, "")
					if !assert.NoError(t, err, "event %d window %s", e, w) {
						return
					}
					assert.Len(t, rep.Links, 1)
					mu.Lock()
					done++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(api.start)

		assert.Equal(t, 12*15, done)
		times := api.list()
		assert.LessOrEqual(t, maxInMinute(times), 12, "the budget holds in every minute")
		assert.Positive(t, api.stormed[0])
		assert.Less(t, api.stormed[0], 15, "callers wait out a Retry-After together")
		assert.Greater(t, api.stormed[1], 12*100, "more than a hundred 429s per event")

		st := c.Stats()
		assert.EqualValues(t, api.throttled, st.Throttled)
		assert.EqualValues(t, len(times), st.Requests[source.RequestKey{Endpoint: source.EndpointSubmit, Code: 202}]+
			st.Requests[source.RequestKey{Endpoint: source.EndpointSubmit, Code: 429}]+
			st.Requests[source.RequestKey{Endpoint: source.EndpointGet, Code: 200}]+
			st.Requests[source.RequestKey{Endpoint: source.EndpointGet, Code: 429}])
		assert.EqualValues(t, 12*15, st.Requests[source.RequestKey{Endpoint: source.EndpointSubmit, Code: 202}], "no report was submitted twice")
		assert.Positive(t, st.ThrottleWait)
		assert.Positive(t, st.BudgetWait)

		reports := strings.Count(logs.String(), "freshchat API request pace")
		minutes := int(elapsed / time.Minute)
		assert.Greater(t, reports, minutes/2, "the pace is logged every minute while requests flow (%d minutes)", minutes)
		assert.LessOrEqual(t, reports, minutes, "not per request")
		t.Logf("%d requests (%d throttled) in %s, %d pace reports", len(times), api.throttled, elapsed, reports)
	})
}
