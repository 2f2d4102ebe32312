package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sethvargo/go-retry"

	"github.com/freshstream/freshchat-kafka/internal/ctxsleep"
)

// CheckReportID is the report [Client.Check] asks for: one that never
// exists, so the API answers 404 once it has accepted the token.
const CheckReportID = "00000000-0000-0000-0000-000000000000"

// Check asks the API for a report that does not exist, the cheapest
// authenticated request: a 404 (or, unexpectedly, the report) means the API
// is reachable and accepts the token, and Check returns nil. Otherwise it
// returns the request's error after the client's retries: an [*APIError]
// with status 401 or 403 when the token is refused (see [TokenRefused]),
// a [Retryable] error when the API cannot be reached or fails.
func (c *Client) Check(ctx context.Context) error {
	_, err := c.Get(ctx, CheckReportID)
	if err == nil || errors.Is(err, ErrReportNotFound) {
		return nil
	}
	return err
}

// TokenRefused reports whether err holds an API answer 401 or 403: the
// token is missing, wrong, revoked, or lacks permission.
func TokenRefused(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.StatusCode == 401 || ae.StatusCode == 403)
}

// APIWait says how [Client.WaitForAPI] paces its checks and reports them.
type APIWait struct {
	// Name is how logs and errors name the API, such as its redacted URL.
	Name string
	// Base is the delay before the first retry (it must be positive); each
	// next one is twice as long, up to Max.
	Base, Max time.Duration
	// Logger receives a warning for each check that failed, and a record
	// when the API answers after one did. Default: discard.
	Logger *slog.Logger
	// Explain, when set, turns the error of an answer that retrying cannot
	// change (a refused token, see [TokenRefused], or another) into the one
	// WaitForAPI returns, such as to name the settings to check.
	Explain func(error) error
}

// WaitForAPI calls [Client.Check] until the API answers and accepts the
// token: what the connector's start does before anything touches Kafka. A
// failure that retrying may fix ([Retryable]: the API cannot be reached or
// fails) is logged and checked again after w's delays, until ctx ends; the
// client's own retries apply within each check. It returns nil once the
// API answers; w.Explain(err) for an answer retrying cannot change; and
// when ctx ends first, an error that counts the attempts and wraps
// context.Cause(ctx).
func (c *Client) WaitForAPI(ctx context.Context, w APIWait) error {
	logger := w.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	delays := retry.WithCappedDuration(w.Max, retry.NewExponential(w.Base))
	began := time.Now()
	for attempt := 1; ; attempt++ {
		err := c.Check(ctx)
		switch {
		case err == nil:
			if attempt > 1 {
				logger.Info("freshchat API reachable", "api", w.Name, "attempts", attempt, "waited", time.Since(began).Round(time.Second).String())
			}
			return nil
		case ctx.Err() != nil:
			return fmt.Errorf("freshchat API %s: gave up after %d attempts: %w", w.Name, attempt, context.Cause(ctx))
		case !Retryable(err):
			if w.Explain != nil {
				return w.Explain(err)
			}
			return err
		}
		delay, _ := delays.Next()
		logger.Warn("freshchat API unreachable; retrying", "api", w.Name, "error", err.Error(), "attempt", attempt,
			"retry_in", delay.Round(time.Millisecond).String())
		if ctxsleep.For(ctx, delay) != nil {
			return fmt.Errorf("freshchat API %s unreachable (gave up after %d attempts): %w: last error: %v", w.Name, attempt, context.Cause(ctx), err)
		}
	}
}
