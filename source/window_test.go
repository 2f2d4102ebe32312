package source_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/freshstream/freshchat-kafka/source"
)

func TestWindowString(t *testing.T) {
	t.Parallel()
	w := source.Window{
		Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		End:   time.Date(2024, 1, 2, 1, 0, 0, 0, time.FixedZone("CET", 3600)),
	}
	assert.Equal(t, "2024-01-01T00:00:00.000Z/2024-01-02T00:00:00.000Z", w.String())
}

func TestWindowValidate(t *testing.T) {
	t.Parallel()
	day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		w       source.Window
		wantErr string
	}{
		{"valid", source.Window{Start: day, End: day.Add(time.Hour)}, ""},
		{"one millisecond", source.Window{Start: day, End: day.Add(time.Millisecond)}, ""},
		{"zero", source.Window{}, "start and end must both be set"},
		{"empty", source.Window{Start: day, End: day}, "end must be after start"},
		{"reversed", source.Window{Start: day.Add(time.Hour), End: day}, "end must be after start"},
		{"sub-millisecond", source.Window{Start: day.Add(time.Microsecond), End: day.Add(time.Hour)}, "whole milliseconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.w.Validate()
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.wantErr)
		})
	}
}
