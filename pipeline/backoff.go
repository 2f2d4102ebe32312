package pipeline

import (
	"math/rand/v2"
	"time"
)

// Backoff is an exponential delay with jitter: Base doubled per failure,
// capped at Max, each delay drawn from [d/2, d].
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

// delay is the pause before the retry after the n-th consecutive failure.
func (b Backoff) delay(n int) time.Duration {
	d := b.Base
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	return d/2 + rand.N(d/2+1)
}
