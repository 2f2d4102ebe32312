package pipeline

import (
	"time"

	"github.com/sethvargo/go-retry"
)

// Backoff paces the retries of a failing window: go-retry's exponential
// backoff from Base, doubled per failure, each delay jittered by up to half
// of it, and capped at Max (the source's request retries use the same
// library).
type Backoff struct {
	Base, Max time.Duration
}

// backoff is the internal name used by the event runner.
type backoff = Backoff

func (b Backoff) withDefaults() Backoff {
	if b.Base <= 0 {
		b.Base = time.Second
	}
	if b.Max <= 0 {
		b.Max = time.Minute
	}
	return b
}

// delay is the pause before the retry after the n-th consecutive failure
// (n >= 1).
func (b Backoff) delay(n int) time.Duration {
	bo := retry.WithCappedDuration(b.Max, retry.WithJitterPercent(50, retry.NewExponential(b.Base)))
	var d time.Duration
	for range max(n, 1) {
		next, stop := bo.Next()
		if stop {
			break
		}
		d = next
	}
	return d
}
