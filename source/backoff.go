package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/freshstream/freshchat-kafka/internal/ctxsleep"
	"github.com/sethvargo/go-retry"
)

// retrier runs one request through go-retry. Transient failures cost one of
// Retry.MaxAttempts and wait an exponential, capped, fully jittered delay (or
// longer, if the server sent Retry-After); 429 answers wait Retry-After when
// given (else the same kind of backoff) and cost one of Retry.MaxThrottled
// when that bound is set. For API requests (lim set) a 429 pauses the whole
// limiter: the wait happens in limiter.wait, for every API request alike.
type retrier struct {
	cfg       RetryConfig
	log       *slog.Logger
	op        string
	lim       *limiter // nil: not an API request (a download)
	meter     *meter
	now       func() time.Time
	transient retry.Backoff
	throttled retry.Backoff
	last      error
	attempts  int
}

func (c *Client) newRetrier(log *slog.Logger, op string, lim *limiter) *retrier {
	r := &retrier{cfg: c.cfg.Retry, log: log, op: op, lim: lim, meter: c.meter, now: c.cfg.Now}
	r.transient = r.newBackoff(c.cfg.Retry.MaxAttempts - 1)
	r.throttled = r.backoff() // MaxThrottled 0: no bound
	if n := c.cfg.Retry.MaxThrottled; n > 0 {
		r.throttled = r.newBackoff(n)
	}
	return r
}

func (r *retrier) backoff() retry.Backoff {
	return retry.WithFullJitter(retry.WithCappedDuration(r.cfg.Max, retry.NewExponential(r.cfg.Base)))
}

func (r *retrier) newBackoff(retries int) retry.Backoff {
	return retry.WithMaxRetries(uint64(max(retries, 0)), r.backoff())
}

// progressed resets the transient budget: a download that moved forward
// since its last failure starts counting failures afresh.
func (r *retrier) progressed() { r.transient = r.newBackoff(r.cfg.MaxAttempts - 1) }

// next implements retry.Backoff for the failure in r.last.
func (r *retrier) next() (time.Duration, bool) {
	var ra interface{ retryAfter() time.Duration }
	var wait time.Duration
	if errors.As(r.last, &ra) {
		wait = ra.retryAfter()
	}
	throttled := isThrottle(r.last)
	b := r.transient
	if throttled {
		b = r.throttled
	}
	d, stop := b.Next()
	if stop {
		return 0, true
	}
	if throttled && wait > 0 {
		d = wait
	}
	d = max(d, wait)
	r.meter.retry()
	if throttled {
		// Not a failure: the server asked for a pause, and 429s do not
		// count against the attempts.
		r.log.Warn("freshchat rate limited (429): waiting as the server asked, then retrying", "op", r.op, "wait", d)
	} else {
		r.log.Warn("freshchat request failed, retrying", "op", r.op, "attempt", r.attempts, "delay", d, "error", r.last)
	}
	switch {
	case throttled && r.lim != nil:
		r.lim.pause(r.now().Add(d))
		return 0, false
	case throttled:
		r.meter.throttleWait(d)
	}
	return d, false
}

func isThrottle(err error) bool {
	var ae *APIError
	var de *DownloadError
	return (errors.As(err, &ae) && ae.StatusCode == http.StatusTooManyRequests) ||
		(errors.As(err, &de) && de.StatusCode == http.StatusTooManyRequests)
}

// do calls f until it succeeds, fails for good, ctx ends or the budget is
// spent. Only errors that [Retryable] accepts are retried.
func (r *retrier) do(ctx context.Context, f func(ctx context.Context) error) error {
	err := retry.Do(ctx, retry.BackoffFunc(r.next), func(ctx context.Context) error {
		r.attempts++
		err := f(ctx)
		if err == nil {
			return nil
		}
		r.last = err
		if ctx.Err() == nil && Retryable(err) {
			return retry.RetryableError(err)
		}
		return err
	})
	if err != nil && ctx.Err() == nil && Retryable(err) {
		return fmt.Errorf("%w (gave up after %s)", err, plural(r.attempts, "attempt"))
	}
	return err
}

// parseRetryAfter reads a Retry-After header: whole seconds or an HTTP date.
func parseRetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if s, err := strconv.ParseInt(h, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// wait sleeps for d or until ctx ends; then it returns the cause.
func wait(ctx context.Context, d time.Duration) error {
	if ctxsleep.For(ctx, d) != nil {
		return context.Cause(ctx)
	}
	return nil
}

// plural formats a count with its noun: "1 attempt", "4 attempts".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
