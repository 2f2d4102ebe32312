package source

import (
	"context"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// BudgetConfig is a client's API request budget. It is shared by every API
// request of the client (submits and polls of all events, link refreshes);
// downloads from the object store are not API requests and do not count.
// Requests wait for the budget: it never makes one fail.
type BudgetConfig struct {
	// PerMinute paces API requests evenly, one every minute/PerMinute (no
	// bursts), so no 60 seconds hold more than PerMinute requests. 0 means
	// no pacing.
	PerMinute int
	// PerDay caps API requests in any 24 hours (a rolling window). Once the
	// cap is reached, requests wait until the oldest request of the window
	// is 24 hours old; the wait is logged with the time of resumption. 0
	// means no cap.
	PerDay int
}

// String reads like "60/min, 10000/day" or "unlimited".
func (b BudgetConfig) String() string {
	per := func(n int, unit string) string {
		if n <= 0 {
			return "unlimited/" + unit
		}
		return strconv.Itoa(n) + "/" + unit
	}
	if b.PerMinute <= 0 && b.PerDay <= 0 {
		return "unlimited"
	}
	return per(b.PerMinute, "min") + ", " + per(b.PerDay, "day")
}

const (
	budgetWindow    = 24 * time.Hour
	paceReportEvery = time.Minute
)

// limiter admits the API requests of one client: it enforces the budget and
// the shared pause that a 429 answer starts, and logs the pace once a minute.
// It is safe for concurrent use.
type limiter struct {
	now      func() time.Time
	log      *slog.Logger
	meter    *meter
	full     BudgetConfig  // the configured budget
	budget   BudgetConfig  // this client's share of it (see share)
	interval time.Duration // between two paced requests; 0: no pacing
	pace     *rate.Limiter // one request every interval, no bursts; nil: no pacing (under mu)

	mu        sync.Mutex
	notBefore time.Time // no API request before this instant (after a 429)
	day       []int64   // send times (Unix ns) of the last PerDay requests, a ring
	oldest    int       // index of the oldest entry of day once it is full
	capLogged time.Time // resumption instant the last daily-cap log line named
	sent      int64     // requests admitted
	mark      paceMark  // counters at the last pace report
}

// paceMark is the state of the counters at a pace report.
type paceMark struct {
	at                       time.Time
	sent, throttled          int64
	throttleWait, budgetWait time.Duration
}

func newLimiter(b BudgetConfig, now func() time.Time, log *slog.Logger, m *meter) *limiter {
	l := &limiter{now: now, log: log, meter: m, full: b}
	l.setBudget(b)
	return l
}

// setBudget makes b the budget. l.mu is held (or l is new).
func (l *limiter) setBudget(b BudgetConfig) {
	l.budget, l.interval = b, 0
	if b.PerMinute > 0 {
		// Rounded up: PerMinute intervals never fit in less than a minute.
		l.interval = (time.Minute + time.Duration(b.PerMinute) - 1) / time.Duration(b.PerMinute)
		// rate counts tokens in float64 seconds, so its delays are off by
		// nanoseconds either way: a microsecond more per interval keeps
		// PerMinute+1 requests from ever fitting in a minute.
		every := rate.Every(l.interval + time.Microsecond)
		if l.pace == nil {
			l.pace = rate.NewLimiter(every, 1)
		} else {
			l.pace.SetLimitAt(l.now(), every)
		}
	} else {
		l.pace = nil
	}
	if b.PerDay > 0 && len(l.day) > b.PerDay {
		// Keep the newest requests of the window, oldest first.
		ordered := append(append([]int64{}, l.day[l.oldest:]...), l.day[:l.oldest]...)
		l.day, l.oldest = ordered[len(ordered)-b.PerDay:], 0
	} else if len(l.day) > 0 && l.oldest > 0 {
		l.day, l.oldest = append(append([]int64{}, l.day[l.oldest:]...), l.day[:l.oldest]...), 0
	}
}

// share paces the client at the fraction f (0 < f <= 1) of the configured
// budget, rounded up: when several instances each run part of an account's
// work, each takes its part of the account's budget, so that together they
// stay within what Freshchat allows the account.
func (l *limiter) share(f float64) {
	if f <= 0 || f > 1 {
		f = 1
	}
	part := func(n int) int {
		if n <= 0 {
			return n
		}
		return max(1, int(math.Ceil(float64(n)*f)))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.setBudget(BudgetConfig{PerMinute: part(l.full.PerMinute), PerDay: part(l.full.PerDay)})
}

// wait blocks until the next API request may be sent, then counts it as
// sent. A request waits for a pause started by a 429 to end, for the daily
// cap to free a request, and for its slot in the pace, in that order; a pause
// or a full day that comes while it waits for its slot voids the slot, and the
// request takes a new one once it may go again. Only ctx ends the wait.
func (l *limiter) wait(ctx context.Context) error {
	// The reserved pace slot (zero: none). A voided slot is not given back
	// (no rate.Reservation.Cancel): the requests around a pause stay an
	// interval apart, so no 60 seconds hold more than PerMinute.
	var slot time.Time
	var res *rate.Reservation
	var budgetWaited time.Duration
	defer func() {
		if budgetWaited > 0 {
			l.meter.budgetWait(budgetWaited)
		}
	}()
	for {
		l.mu.Lock()
		now := l.now()
		var until time.Time
		throttled, logCap := false, false
		switch free := l.dayFree(); {
		case now.Before(l.notBefore):
			until, throttled = l.notBefore, true
			slot, res = time.Time{}, nil
		case now.Before(free):
			until = free
			slot, res = time.Time{}, nil
			if logCap = !free.Equal(l.capLogged); logCap {
				l.capLogged = free
			}
		default:
			if res == nil && l.pace != nil {
				// Burst 1, one token: the reservation always succeeds.
				res = l.pace.ReserveN(now, 1)
				slot = now.Add(res.DelayFrom(now))
			}
			until = slot
		}
		if !now.Before(until) {
			report := l.admit(now)
			l.mu.Unlock()
			if report != nil {
				l.log.Info("freshchat API request pace", report...)
			}
			return nil
		}
		l.mu.Unlock()

		if logCap {
			l.log.Warn("freshchat daily request budget reached; API requests wait until the window frees",
				"budget", l.budget.String(), "resume_at", until.UTC().Format(time.RFC3339), "wait", until.Sub(now).Round(time.Second))
		}
		err := wait(ctx, until.Sub(now))
		waited := l.now().Sub(now)
		if throttled {
			l.meter.throttleWait(waited)
		} else {
			budgetWaited += waited
		}
		if err != nil {
			return err
		}
	}
}

// pause holds every API request until at least until.
func (l *limiter) pause(until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until.After(l.notBefore) {
		l.notBefore = until
	}
}

// dayFree is the earliest instant the daily cap admits a request (the zero
// time when the cap is not reached). l.mu is held.
func (l *limiter) dayFree() time.Time {
	if l.budget.PerDay <= 0 || len(l.day) < l.budget.PerDay {
		return time.Time{}
	}
	return time.Unix(0, l.day[l.oldest]).Add(budgetWindow)
}

// admit counts a request sent at now and returns the fields of a pace report
// when one is due. l.mu is held.
func (l *limiter) admit(now time.Time) []any {
	l.sent++
	if n := l.budget.PerDay; n > 0 {
		if len(l.day) < n {
			l.day = append(l.day, now.UnixNano())
		} else {
			l.day[l.oldest] = now.UnixNano()
			l.oldest = (l.oldest + 1) % n
		}
	}
	prev := l.mark
	if !prev.at.IsZero() && now.Sub(prev.at) < paceReportEvery {
		return nil
	}
	l.mark = paceMark{at: now, sent: l.sent}
	l.mark.throttled, l.mark.throttleWait, l.mark.budgetWait = l.meter.waits()
	if prev.at.IsZero() {
		return nil // the first request starts the first period
	}
	fields := []any{
		"requests", l.mark.sent - prev.sent,
		"period", now.Sub(prev.at).Round(time.Second),
		"budget", l.budget.String(),
		"throttled", l.mark.throttled - prev.throttled,
		"budget_wait", (l.mark.budgetWait - prev.budgetWait).Round(time.Millisecond),
		"throttle_wait", (l.mark.throttleWait - prev.throttleWait).Round(time.Millisecond),
	}
	if l.budget.PerDay > 0 {
		fields = append(fields, "requests_24h", l.sentSince(now.Add(-budgetWindow)))
	}
	return fields
}

// sentSince counts the requests of the daily window sent after t. l.mu is
// held.
func (l *limiter) sentSince(t time.Time) int {
	n, after := 0, t.UnixNano()
	for _, s := range l.day {
		if s > after {
			n++
		}
	}
	return n
}
