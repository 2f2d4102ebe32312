package pipeline

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBackoffGrowsJitteredAndCapped(t *testing.T) {
	b := Backoff{Base: 100 * time.Millisecond, Max: time.Second}
	for range 50 {
		for n, base := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond} {
			d := b.delay(n)
			assert.GreaterOrEqual(t, d, base/2, "failure %d", n)
			assert.LessOrEqual(t, d, base*3/2, "failure %d", n)
		}
		assert.LessOrEqual(t, b.delay(20), time.Second, "capped")
		assert.GreaterOrEqual(t, b.delay(20), 500*time.Millisecond, "still large after many failures")
	}
	assert.Equal(t, Backoff{Base: time.Second, Max: time.Minute}, Backoff{}.withDefaults())
}
