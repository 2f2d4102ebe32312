package source

import (
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"
)

// HistoryMonths is how far back the API serves raw reports: a submit whose
// start is more than 15 months before the API's now is refused (400).
const HistoryMonths = 15

// Earliest is the earliest start the API accepts at now: 15 calendar months
// before it. Where that day does not exist (31 May minus 15 months),
// AddDate carries it into the next month, the later of the two readings,
// so a start at or after Earliest is accepted under either.
func Earliest(now time.Time) time.Time { return now.UTC().AddDate(0, -HistoryMonths, 0) }

// Submission is a report to submit: see [Client.SubmitReport].
type Submission struct {
	Event  string
	Window Window
	// Ahead marks a report submitted before it is needed (the window after
	// the one being read): it waits for the submit budget behind every
	// submit that is needed now.
	Ahead bool
	// Promote, when closed while an Ahead submit waits for the budget,
	// makes it wait as one needed now: its window's turn came.
	Promote <-chan struct{}
	// Trim lets the window's start move forward to the earliest instant the
	// API still serves at the moment the request is sent (see
	// [Client.Earliest]): a window near the 15-month limit that waited for
	// the submit budget is then not refused. Without Trim the window is
	// requested as it is.
	Trim bool
}

// Submitted is a submitted report.
type Submitted struct {
	ID string
	// Window is the window requested: the submission's, or with Trim the
	// part of it the API still served when the request was sent.
	Window Window
	// Trimmed is the part of the submission's window left out because the
	// API no longer serves it (the 15-month limit moved past it); zero when
	// nothing was left out. Its rows cannot be extracted any more.
	Trimmed Window
}

// HistoryError means no part of a window can be requested any more: it
// ends before the earliest instant the API serves.
type HistoryError struct {
	Event    string
	Window   Window
	Earliest time.Time
}

func (e *HistoryError) Error() string {
	return fmt.Sprintf("event %s window %s: Freshchat no longer serves it (raw reports reach back %d months, to %s now); its rows cannot be extracted",
		e.Event, e.Window, HistoryMonths, e.Earliest.UTC().Format(timeLayout))
}

func (e *HistoryError) retryable() bool { return false }

// Earliest is the earliest window start this client requests now: the
// API's limit (see [Earliest]) plus HistoryMargin, which covers the clocks
// of the two sides disagreeing and the time a request takes.
func (c *Client) Earliest() time.Time { return c.EarliestAt(c.cfg.Now()) }

// EarliestAt is what [Client.Earliest] answers when the clock reads now.
func (c *Client) EarliestAt(now time.Time) time.Time {
	return Earliest(now).Add(c.cfg.HistoryMargin).Truncate(time.Second).Add(time.Second)
}

// SubmitReport asks the API to extract the report of s.Event for s.Window:
// POST {base}/reports/raw with {"start": "<Start>", "end": "<End-1ms>",
// "event": s.Event, "format": "csv"}, times in UTC with milliseconds.
//
// It first waits for the client's submit budget (SubmitsPerMinute, shared
// by every event of the client), which admits the submits needed now
// before those made ahead (s.Ahead), and among each the earliest window
// first; then for the request budget like any API request. With s.Trim the
// start is moved forward, at each attempt, to [Client.Earliest] when it
// lies before it: the answer says which part was left out, and a window
// that lies wholly before it fails with a [*HistoryError].
//
// Any 2xx answer (the API sends 202) must carry the report id. Transient
// failures are retried, so a lost answer may leave an orphan report behind
// on the server. A 400 answer is an [*APIError] wrapped in an error that
// names the event and the window.
func (c *Client) SubmitReport(ctx context.Context, s Submission) (Submitted, error) {
	log := c.log.With("event", s.Event, "window", s.Window.String())
	if strings.TrimSpace(s.Event) == "" {
		return Submitted{}, errors.New("freshchat submit: event name is empty")
	}
	if err := s.Window.Validate(); err != nil {
		return Submitted{}, fmt.Errorf("freshchat submit %s: %w", s.Event, err)
	}
	if s.Trim {
		if _, err := c.trim(s); err != nil {
			return Submitted{}, err
		}
	}
	waited, err := c.subs.wait(ctx, s.Ahead, s.Window.Start, s.Promote)
	if waited > 0 {
		c.meter.submitWait(waited)
	}
	if err != nil {
		return Submitted{}, fmt.Errorf("freshchat submit %s: waiting for the submit budget: %w", s.Event, err)
	}
	var got Submitted
	const op = "POST /reports/raw"
	data, err := c.callWith(ctx, log, EndpointSubmit, op, http.MethodPost, c.base.JoinPath("reports", "raw"), func() ([]byte, error) {
		got = Submitted{Window: s.Window}
		if s.Trim {
			w, err := c.trim(s)
			if err != nil {
				return nil, err
			}
			if !w.Start.Equal(s.Window.Start) {
				got.Window, got.Trimmed = w, Window{Start: s.Window.Start, End: w.Start}
			}
		}
		return json.Marshal(submitRequest{Start: got.Window.apiStart(), End: got.Window.apiEnd(), Event: s.Event, Format: "csv"})
	})
	var ae *APIError
	if errors.As(err, &ae) && ae.StatusCode == http.StatusBadRequest {
		return Submitted{}, fmt.Errorf("freshchat refused the report of event %s for window %s: %w", s.Event, got.Window, err)
	}
	if err != nil {
		return Submitted{}, err
	}
	var ans struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(data, &ans); err != nil {
		return Submitted{}, fmt.Errorf("freshchat API %s: malformed answer %s: %w", op, c.snippet(data), err)
	}
	if ans.ID == "" {
		return Submitted{}, fmt.Errorf("freshchat API %s: answer has no report id: %s", op, c.snippet(data))
	}
	got.ID = ans.ID
	attrs := []any{"report", ans.ID}
	if !got.Trimmed.Start.IsZero() {
		attrs = append(attrs, "requested_window", got.Window.String(), "trimmed", got.Trimmed.String())
	}
	if s.Ahead {
		attrs = append(attrs, "ahead", true)
	}
	log.Info("submitted freshchat report", attrs...)
	return got, nil
}

// trim is s.Window from [Client.Earliest] on, when it starts before.
func (c *Client) trim(s Submission) (Window, error) {
	w := s.Window
	earliest := c.Earliest()
	if !w.Start.Before(earliest) {
		return w, nil
	}
	if !w.End.After(earliest) {
		return w, &HistoryError{Event: s.Event, Window: w, Earliest: earliest}
	}
	w.Start = earliest
	return w, nil
}

// Budgets are what paces a client's API requests.
type Budgets struct {
	Requests BudgetConfig
	// SubmitEvery is the pace of submits (0: only the request budget).
	SubmitEvery time.Duration
	// PollInterval and PollMaxInterval shape the polls of a pending report.
	PollInterval, PollMaxInterval time.Duration
}

// SubmitEvery is the pace of perMinute submits a minute (0: none).
func SubmitEvery(perMinute int) time.Duration {
	if perMinute <= 0 {
		return 0
	}
	return (time.Minute + time.Duration(perMinute) - 1) / time.Duration(perMinute)
}

// Budgets returns the client's budgets, as ShareBudget shares them now,
// and its poll schedule, for estimates.
func (c *Client) Budgets() Budgets {
	return Budgets{
		Requests:        c.Budget(),
		SubmitEvery:     c.subs.every(),
		PollInterval:    c.cfg.PollInterval,
		PollMaxInterval: c.cfg.PollMaxInterval,
	}
}

// PollsWithin is how many GETs Await sends for a report submitted fresh that
// completes latency after its submit: the first waits interval, each
// further wait is 1.5 times the previous one up to maxInterval, and the
// poll at or after latency finds it completed.
func PollsWithin(latency, interval, maxInterval time.Duration) int {
	if interval <= 0 {
		return 1
	}
	n, at, d := 1, interval, interval
	for at < latency {
		d = min(time.Duration(float64(d)*1.5), max(maxInterval, interval))
		at += d
		n++
	}
	return n
}

// submitQueue admits the submits of one client, at most one every
// interval, the most urgent first: submits needed now before those made
// ahead, then the earliest window start, then the first come. It is safe
// for concurrent use; a zero interval admits every submit at once.
//
// The pace is kept here (one instant, next) rather than by a rate.Limiter
// as the request budget is: a Limiter hands out its slots in the order the
// reservations are made and cannot give the next slot to a more urgent
// submit that arrived later, which is this queue's whole point.
type submitQueue struct {
	full time.Duration // the configured pace
	now  func() time.Time

	interval time.Duration // the pace now (see share); under mu

	mu      sync.Mutex
	next    time.Time // no admission before this instant
	waiting waiters
	seq     uint64
}

func newSubmitQueue(perMinute int, now func() time.Time) *submitQueue {
	every := SubmitEvery(perMinute)
	return &submitQueue{now: now, full: every, interval: every}
}

// share paces the queue to the fraction f (0 < f <= 1) of its configured
// budget: one submit every full/f.
func (q *submitQueue) share(f float64) {
	if f <= 0 || f > 1 {
		f = 1
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.interval = time.Duration(math.Ceil(float64(q.full) / f))
}

// every is the queue's pace now.
func (q *submitQueue) every() time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.interval
}

type waiter struct {
	ahead bool
	start time.Time
	seq   uint64
	index int
	wake  chan struct{}
}

// waiters is a heap of waiters, the most urgent on top.
type waiters []*waiter

func (h waiters) Len() int { return len(h) }
func (h waiters) Less(i, j int) bool {
	a, b := h[i], h[j]
	switch {
	case a.ahead != b.ahead:
		return !a.ahead
	case !a.start.Equal(b.start):
		return a.start.Before(b.start)
	}
	return a.seq < b.seq
}
func (h waiters) Swap(i, j int) { h[i], h[j] = h[j], h[i]; h[i].index = i; h[j].index = j }
func (h *waiters) Push(x any)   { w := x.(*waiter); w.index = len(*h); *h = append(*h, w) }
func (h *waiters) Pop() any     { old := *h; w := old[len(old)-1]; *h = old[:len(old)-1]; return w }
func (h waiters) top() *waiter  { return h[0] }
func (w *waiter) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}
func (q *submitQueue) wakeTop() {
	if len(q.waiting) > 0 {
		q.waiting.top().signal()
	}
}
func (q *submitQueue) remove(w *waiter) {
	heap.Remove(&q.waiting, w.index)
	q.wakeTop()
}

// wait blocks until the submit may be sent and returns how long it waited.
// Only ctx ends the wait early. When promote is closed, an ahead submit
// waits as one needed now from then on.
func (q *submitQueue) wait(ctx context.Context, ahead bool, start time.Time, promote <-chan struct{}) (time.Duration, error) {
	if q.full <= 0 {
		return 0, nil
	}
	began := q.now()
	q.mu.Lock()
	q.seq++
	w := &waiter{ahead: ahead, start: start, seq: q.seq, wake: make(chan struct{}, 1)}
	heap.Push(&q.waiting, w)
	q.mu.Unlock()
	for {
		q.mu.Lock()
		now := q.now()
		var timer *time.Timer
		var fired <-chan time.Time
		if q.waiting.top() == w {
			if !now.Before(q.next) {
				q.next = now.Add(q.interval)
				q.remove(w)
				q.mu.Unlock()
				return now.Sub(began), nil
			}
			timer = time.NewTimer(q.next.Sub(now))
			fired = timer.C
		}
		q.mu.Unlock()
		if !ahead {
			promote = nil
		}
		var err error
		select {
		case <-fired:
		case <-w.wake:
		case <-promote:
			ahead = false
			q.mu.Lock()
			w.ahead = false
			heap.Fix(&q.waiting, w.index)
			q.wakeTop()
			q.mu.Unlock()
		case <-ctx.Done():
			err = context.Cause(ctx)
		}
		if timer != nil {
			timer.Stop()
		}
		if err != nil {
			q.mu.Lock()
			q.remove(w)
			q.mu.Unlock()
			return q.now().Sub(began), err
		}
	}
}
