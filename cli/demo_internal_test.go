package cli

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/freshstream/freshchat-kafka/checkpoint"
)

func TestBackfillWindows(t *testing.T) {
	start := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	to := start.Add(72 * time.Hour)
	events := []string{"A", "B", "C"}
	at := func(h int) time.Time { return start.Add(time.Duration(h) * time.Hour) }

	total, resumed := backfillWindows(nil, events, start, to, 6*time.Hour)
	assert.Equal(t, int64(36), total, "12 windows per event from the start")
	assert.False(t, resumed)

	positions := map[string]checkpoint.Position{
		"A": {Event: "A", WindowStart: at(60), WindowEnd: at(66), Done: true}, // 1 left
		"B": {Event: "B", WindowStart: at(60), WindowEnd: at(66)},             // in progress: 2 left
		"C": {Event: "C", WindowStart: at(72), WindowEnd: at(78), Done: true}, // past to: none
	}
	total, resumed = backfillWindows(positions, events, start, to, 6*time.Hour)
	assert.Equal(t, int64(3), total)
	assert.True(t, resumed)
}
