package source_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/source"
)

// submitServer accepts every submit and records its body, in order.
type submitServer struct {
	mu     sync.Mutex
	bodies []map[string]string
	times  []time.Time
}

func (s *submitServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		pending(w, "rep-a")
		return
	}
	var body map[string]string
	_ = json.NewDecoder(r.Body).Decode(&body)
	s.mu.Lock()
	s.bodies = append(s.bodies, body)
	s.times = append(s.times, time.Now())
	n := len(s.bodies)
	s.mu.Unlock()
	writeJSON(w, 202, map[string]any{"id": "rep-" + string(rune('a'+n-1))})
}

func (s *submitServer) starts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, b := range s.bodies {
		out = append(out, b["event"]+"@"+b["start"])
	}
	return out
}

func jan(d int) time.Time { return time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC) }

func TestSubmitBudgetPacesSubmitsAloneMostUrgentFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &submitServer{}
		c, _ := budgetClient(t, srv, func(c *source.ClientConfig) { c.SubmitsPerMinute = 2 })
		start := time.Now()
		// The first submit goes at once and takes the slot; the others
		// queue up behind it in this order, but are admitted by urgency.
		_, err := c.SubmitReport(context.Background(), source.Submission{Event: "first", Window: source.Window{Start: jan(20), End: jan(21)}})
		require.NoError(t, err)

		var wg sync.WaitGroup
		queue := []source.Submission{
			{Event: "ahead-late", Window: source.Window{Start: jan(9), End: jan(10)}, Ahead: true},
			{Event: "now-late", Window: source.Window{Start: jan(5), End: jan(6)}},
			{Event: "ahead-early", Window: source.Window{Start: jan(2), End: jan(3)}, Ahead: true},
			{Event: "now-early", Window: source.Window{Start: jan(3), End: jan(4)}},
		}
		for _, s := range queue {
			wg.Go(func() {
				_, err := c.SubmitReport(context.Background(), s)
				assert.NoError(t, err)
			})
			synctest.Wait() // queued before the next one comes
		}
		// Polls are not submits: they do not wait for the submit budget.
		_, err = c.Get(context.Background(), "rep-a")
		require.NoError(t, err)
		assert.Equal(t, time.Duration(0), time.Since(start), "a GET waits for no submit")
		wg.Wait()

		assert.Equal(t, []string{
			"first@2026-01-20T00:00:00.000Z",
			"now-early@2026-01-03T00:00:00.000Z", "now-late@2026-01-05T00:00:00.000Z",
			"ahead-early@2026-01-02T00:00:00.000Z", "ahead-late@2026-01-09T00:00:00.000Z",
		}, srv.starts(), "submits needed now first, then the earliest window")
		for i, at := range srv.times {
			assert.Equal(t, time.Duration(i)*30*time.Second, at.Sub(start), "submit %d: one every 30s (2/min)", i)
		}
		st := c.Stats()
		assert.EqualValues(t, 4, st.SubmitWaits)
		assert.Equal(t, (30+60+90+120)*time.Second, st.SubmitWait)
	})
}

func TestSubmitBudgetWaitEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &submitServer{}
		c, _ := budgetClient(t, srv, func(c *source.ClientConfig) { c.SubmitsPerMinute = 1 })
		w := source.Window{Start: jan(1), End: jan(2)}
		_, err := c.Submit(context.Background(), "E", w)
		require.NoError(t, err)

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = c.Submit(ctx, "E", w)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "waiting for the submit budget")

		// The queue is not left blocked by the cancelled waiter.
		start := time.Now()
		_, err = c.Submit(context.Background(), "E", w)
		require.NoError(t, err)
		assert.Equal(t, 50*time.Second, time.Since(start), "the next slot, a minute after the first submit")
	})
}

func TestSubmitTrimsAWindowTheHistoryLimitPassed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &submitServer{}
		c, _ := budgetClient(t, srv, func(c *source.ClientConfig) {
			c.SubmitsPerMinute = 1
			c.HistoryMargin = time.Minute
		})
		now := time.Now().UTC()
		limit := source.Earliest(now)
		// The second submit waits a minute for the budget: meanwhile the
		// limit moves past the start that was valid when it was planned.
		w := source.Window{Start: limit.Add(90 * time.Second).Truncate(time.Second), End: limit.Add(24 * time.Hour)}
		_, err := c.Submit(context.Background(), "other", source.Window{Start: jan(1), End: jan(2)})
		require.NoError(t, err)

		got, err := c.SubmitReport(context.Background(), source.Submission{Event: "E", Window: w, Trim: true})
		require.NoError(t, err)
		sent := source.Earliest(time.Now()).Add(time.Minute).Truncate(time.Second).Add(time.Second)
		assert.Equal(t, sent, got.Window.Start, "the limit at the submit, plus the margin, rounded up to a second")
		assert.Equal(t, w.End, got.Window.End)
		assert.Equal(t, source.Window{Start: w.Start, End: sent}, got.Trimmed)
		assert.Equal(t, sent.Format("2006-01-02T15:04:05.000Z"), srv.bodies[1]["start"])

		// A window inside the served history is sent as it is.
		inside := source.Window{Start: now.Add(-24 * time.Hour).Truncate(time.Hour), End: now.Truncate(time.Hour)}
		got, err = c.SubmitReport(context.Background(), source.Submission{Event: "E", Window: inside, Trim: true})
		require.NoError(t, err)
		assert.Equal(t, inside, got.Window)
		assert.Zero(t, got.Trimmed)

		// A window wholly before the limit cannot be requested at all.
		gone := source.Window{Start: limit.Add(-48 * time.Hour), End: limit.Add(-24 * time.Hour)}
		_, err = c.SubmitReport(context.Background(), source.Submission{Event: "E", Window: gone, Trim: true})
		var he *source.HistoryError
		require.ErrorAs(t, err, &he)
		assert.False(t, source.Retryable(err))
		assert.Contains(t, err.Error(), "no longer serves it")
		assert.Len(t, srv.bodies, 3, "nothing sent for it")
	})
}

func TestEarliestUsesTheLaterReadingOfAMissingDay(t *testing.T) {
	// 15 months before 31 May 2026 is "31 February 2025": 3 March, not 28 February.
	assert.Equal(t, time.Date(2025, 3, 3, 12, 0, 0, 0, time.UTC), source.Earliest(time.Date(2026, 5, 31, 12, 0, 0, 0, time.UTC)))
	assert.Equal(t, time.Date(2024, 11, 24, 0, 0, 0, 0, time.UTC), source.Earliest(time.Date(2026, 2, 24, 0, 0, 0, 0, time.UTC)))
}

func TestPollsWithin(t *testing.T) {
	for _, tc := range []struct {
		latency time.Duration
		want    int
	}{
		{0, 1}, {2 * time.Second, 1}, {3 * time.Second, 2}, {5 * time.Second, 2}, {6 * time.Second, 3},
		// Waits of 2, 3, 4.5, 6.75, 10.1, 15.2 and 22.8s, then 30s each: 64.3s after 7 polls.
		{time.Minute, 7}, {2 * time.Minute, 9},
	} {
		assert.Equal(t, tc.want, source.PollsWithin(tc.latency, 2*time.Second, 30*time.Second), "latency %s", tc.latency)
	}
}

func TestSubmitRefusalNamesTheWindow(t *testing.T) {
	c, _ := budgetClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 400, map[string]any{"code": 400, "status": "BAD_REQUEST", "message": "end must not be later than a month from start"})
	}), nil)
	w := source.Window{Start: jan(1), End: jan(2)}
	_, err := c.SubmitReport(context.Background(), source.Submission{Event: "E", Window: w})
	var ae *source.APIError
	require.True(t, errors.As(err, &ae))
	assert.Equal(t, 400, ae.StatusCode)
	assert.Contains(t, err.Error(), "window "+w.String())
}

func TestPromotedSubmitWaitsAsOneNeededNow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &submitServer{}
		c, _ := budgetClient(t, srv, func(c *source.ClientConfig) { c.SubmitsPerMinute = 1 })
		_, err := c.Submit(context.Background(), "first", source.Window{Start: jan(1), End: jan(2)})
		require.NoError(t, err)

		promote := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			_, err := c.SubmitReport(context.Background(), source.Submission{Event: "promoted", Window: source.Window{Start: jan(9), End: jan(10)}, Ahead: true, Promote: promote})
			assert.NoError(t, err)
		})
		synctest.Wait()
		wg.Go(func() {
			_, err := c.SubmitReport(context.Background(), source.Submission{Event: "now", Window: source.Window{Start: jan(20), End: jan(21)}})
			assert.NoError(t, err)
		})
		synctest.Wait()
		close(promote) // its window's turn came: it goes before later windows needed now
		wg.Wait()
		assert.Equal(t, []string{"first@2026-01-01T00:00:00.000Z", "promoted@2026-01-09T00:00:00.000Z", "now@2026-01-20T00:00:00.000Z"}, srv.starts())
	})
}

func TestShareBudgetSharesTheSubmitBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &submitServer{}
		c, _ := budgetClient(t, srv, func(c *source.ClientConfig) { c.SubmitsPerMinute = 1 })
		c.ShareBudget(1.0 / 3) // three instances share the account
		assert.Equal(t, 3*time.Minute, c.Budgets().SubmitEvery, "a submit every three minutes, not one a minute rounded up")
		start := time.Now()
		for range 3 {
			_, err := c.Submit(context.Background(), "E", source.Window{Start: jan(1), End: jan(2)})
			require.NoError(t, err)
		}
		assert.Equal(t, 6*time.Minute, time.Since(start))
	})
}
