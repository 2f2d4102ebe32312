package status_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/instance"
	"github.com/freshstream/freshchat-kafka/status"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func TestNew(t *testing.T) {
	cfg := config.Defaults(t0)
	cfg.Events = []string{"Message-Sent", "CSAT-Score", "Agent-Activity"}
	now := t0.Add(3 * time.Hour)
	positions := map[string]checkpoint.Position{
		"Message-Sent": {Event: "Message-Sent", WindowStart: t0, WindowEnd: t0.Add(time.Hour), Done: true},
		"CSAT-Score":   {Event: "CSAT-Score", WindowStart: t0.Add(time.Hour), WindowEnd: t0.Add(2 * time.Hour), ReportID: "r-1", Rows: 12},
	}
	holders := []instance.Holder{{InstanceID: "a", Host: "h1", MemberID: "m1", Units: []string{"CSAT-Score"}}}

	rep := status.New(&cfg, positions, holders, nil, now)
	require.Len(t, rep.Events, 3)
	done, inFlight, none := rep.Events[0], rep.Events[1], rep.Events[2]

	assert.Equal(t, t0.Add(time.Hour), *done.CompleteUpTo, "a done window is complete up to its end")
	assert.Equal(t, (2 * time.Hour).Seconds(), *done.FreshnessSeconds)
	assert.Equal(t, t0.Add(time.Hour), done.Next)
	assert.Empty(t, done.InFlightReportID)
	assert.Nil(t, done.Owner)

	assert.Equal(t, t0.Add(time.Hour), *inFlight.CompleteUpTo, "a window in flight is complete up to its start")
	assert.Equal(t, "r-1", inFlight.InFlightReportID)
	assert.Equal(t, "a@h1", inFlight.Owner.String())

	assert.Nil(t, none.Checkpoint)
	assert.Nil(t, none.CompleteUpTo)
	assert.Equal(t, cfg.Start, none.Next, "without a checkpoint the next run starts at the configured start")

	var b strings.Builder
	require.NoError(t, rep.WriteTable(&b))
	assert.Contains(t, b.String(), "[2026-03-01T00:00:00Z, 2026-03-01T01:00:00Z) done")
	assert.Contains(t, b.String(), "12 rows committed")
	assert.Contains(t, b.String(), "none yet: starts at")
	assert.Contains(t, b.String(), "a on h1 (member m1) owns 1 unit: CSAT-Score")
}

func TestNewWithoutHolders(t *testing.T) {
	cfg := config.Defaults(t0)
	rep := status.New(&cfg, nil, nil, errors.New("coordinator unavailable"), t0)
	assert.NotNil(t, rep.Holders, "JSON shows an empty list, not null")
	assert.Equal(t, "coordinator unavailable", rep.HoldersError)
	var b strings.Builder
	require.NoError(t, rep.WriteTable(&b))
	assert.Contains(t, b.String(), "holders unknown: coordinator unavailable")
}
