package sink

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/twmb/franz-go/pkg/kerr"
)

// TestClassifyTellsTimeoutFromFencing: an epoch error on a transaction
// open at least the transaction timeout is the broker's timeout abort
// (TimeoutError, not fencing, the writer usable again after a reopen);
// on a younger transaction it is fencing.
func TestClassifyTellsTimeoutFromFencing(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		open      time.Duration
		err       error
		wantFence bool
		wantTO    bool
	}{
		{"epoch error on a young transaction", 500 * time.Millisecond, kerr.InvalidProducerEpoch, true, false},
		{"producer fenced on a young transaction", 0, kerr.ProducerFenced, true, false},
		{"epoch error after the timeout", time.Second, kerr.InvalidProducerEpoch, false, true},
		{"fenced answer after the timeout", 3 * time.Second, kerr.ProducerFenced, false, true},
		{"other error", 3 * time.Second, kerr.UnknownServerError, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0
			w := &Writer{id: "tx-A", logger: slog.New(slog.DiscardHandler), timeout: time.Second, now: func() time.Time { return now }}
			w.inTxn, w.begun = true, t0
			now = t0.Add(tt.open)
			err := w.classify(tt.err)
			assert.Equal(t, tt.wantFence, IsFenced(err), "IsFenced(%v)", err)
			assert.Equal(t, tt.wantFence, w.fenced)
			var te *TimeoutError
			assert.Equal(t, tt.wantTO, errors.As(err, &te), "%v", err)
			if tt.wantTO {
				assert.Equal(t, tt.open, te.Open)
				assert.ErrorIs(t, err, tt.err)
				assert.Contains(t, err.Error(), "longer than the transaction timeout")
			}
		})
	}
}
