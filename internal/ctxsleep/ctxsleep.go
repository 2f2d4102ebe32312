// Package ctxsleep is a sleep that a context can end early.
package ctxsleep

import (
	"context"
	"time"
)

// For sleeps for d, or until ctx ends, whichever comes first. It returns
// nil after a full sleep (at once when d is not positive) and ctx.Err()
// when ctx ended first; a caller that wants the cancellation's cause asks
// context.Cause(ctx).
func For(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
