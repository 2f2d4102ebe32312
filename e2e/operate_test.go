package e2e_test

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/cli"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

// TestOperatorCommandsSeeTheRunningInstance runs the operator commands, as
// separate processes, against a connector process that is running: status
// names it as the holder of the transactional identity, reset refuses to
// move a checkpoint under it, and once it has stopped on SIGTERM, reset
// rewinds and a second run produces the rows again from that instant.
func TestOperatorCommandsSeeTheRunningInstance(t *testing.T) {
	events := []string{"CSAT-Score"}
	to := rangeEnd()
	from := to.Add(-2 * time.Hour)
	h := newHarness(t, freshchattest.Options{
		RowsPerHour: 3000,
		// Each report stays pending a while, so the run is still going when
		// the commands below look at it.
		Faults: freshchattest.Faults{PendingPolls: 20},
	}, events, map[string]string{
		"FRESHCHAT_WINDOW":       "30m",
		"KAFKA_TRANSACTIONAL_ID": "e2e-operate",
	})
	run := h.start("run", runArgs(from, to)...)
	h.waitForCheckpoints(0, run)
	require.Eventually(t, func() bool { return strings.Contains(run.log(t), "units assigned to this instance") },
		30*time.Second, 50*time.Millisecond, "the group never assigned the run its unit")

	status := h.start("status", "status")
	require.Equal(t, cli.ExitOK, h.wait(status), status.log(t))
	out := status.log(t)
	assert.Contains(t, out, "CSAT-Score")
	assert.Contains(t, out, "run on ", "the running instance is named by its group.instance_id and host")
	assert.Contains(t, out, "owns 1 unit: CSAT-Score")

	reset := h.start("reset-refused", "reset", "--event", "CSAT-Score", "--to", from.Format(time.RFC3339), "--yes")
	require.Equal(t, cli.ExitError, h.wait(reset), reset.log(t))
	assert.Contains(t, strings.ToLower(reset.log(t)), "running")

	run.signal(t, syscall.SIGTERM)
	require.Equal(t, cli.ExitOK, h.wait(run))
	h.sim.SetFaults(freshchattest.Faults{}) // reports submitted from now on are ready at once

	// Finish the range, then rewind one hour and run again: exactly the
	// rows from that hour on are produced a second time.
	finish := h.start("finish", runArgs(from, to)...)
	require.Equal(t, cli.ExitOK, h.wait(finish), finish.log(t))
	h.assertExactlyOnce("CSAT-Score", from, to)

	rewindTo := to.Add(-time.Hour)
	reset = h.start("reset", "reset", "--event", "CSAT-Score", "--to", rewindTo.Format(time.RFC3339), "--yes")
	require.Equal(t, cli.ExitOK, h.wait(reset), reset.log(t))
	again := h.start("again", runArgs(from, to)...)
	require.Equal(t, cli.ExitOK, h.wait(again), again.log(t))

	recs := h.readEvent("CSAT-Score")
	seen := map[string]int{}
	for _, r := range recs {
		seen[r.createdAt]++
	}
	require.NotEmpty(t, seen)
	for created, n := range seen {
		ts, err := time.Parse(time.RFC3339Nano, created)
		require.NoError(t, err)
		want := 1
		if !ts.Before(rewindTo) {
			want = 2
		}
		require.Equal(t, want, n, "row created at %s", created)
	}
}
