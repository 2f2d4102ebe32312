package e2e_test

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/cli"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

// Six events: string, boolean, int, long and double columns, an unpublished
// report with an extra column, and Agent-Activity, keyed by agent_id because
// it has no interaction_id.
var crashEvents = []string{
	"Conversation-Created",
	"Message-Sent",
	"CSAT-Score",
	"Resolution-Time",
	"Conversation-Agent-Assigned",
	"Agent-Activity",
}

// TestCrashAtRandomMomentsIsExactlyOnce kills a bounded run with SIGKILL at
// random moments, restarting it each time, then lets it finish: every row of
// the range must be on its topic exactly once. Windows of 15m and chunks of
// 500 rows make many reports and many transactions to be cut in the middle
// of, and the simulator fails a job, rate-limits, answers 503 and cuts
// downloads along the way. The second case adds the world's timing: reports
// that answer COMPLETED before their links exist or with unfinished links,
// an unknown pending status, an object store that answers later than the
// transaction timeout, and reports that vanish or turn IN_PROGRESS again
// while they are read.
func TestCrashAtRandomMomentsIsExactlyOnce(t *testing.T) {
	tests := []struct {
		name     string
		kills    int
		hours    int
		faults   freshchattest.Faults
		settings map[string]string
	}{
		{name: "hostile API", kills: 6, hours: 5, faults: freshchattest.Faults{
			PendingPolls:     2,
			FailJobs:         1,
			LinksPerReport:   2,
			FilesPerZip:      2,
			CutDownloadEvery: 7,
			ServerErrorEvery: 11,
			RateLimitEvery:   13,
			RetryAfter:       time.Second,
		}, settings: map[string]string{"FRESHCHAT_WINDOW": "15m", "KAFKA_CHUNK_ROWS": "500"}},
		{name: "real-world timing", kills: 10, hours: 2, faults: freshchattest.Faults{
			PendingPolls:         1,
			PendingStatus:        "QUEUED",
			EmptyLinksPolls:      2,
			LinksInProgressPolls: 1,
			LinksPerReport:       2,
			FilesPerZip:          2,
			DownloadDelay:        1200 * time.Millisecond,
			VanishJobs:           3,
			RelapseJobs:          6,
			ExpireDownloadEvery:  6,
			CutDownloadEvery:     9,
			ServerErrorEvery:     11,
			RateLimitEvery:       13,
			RetryAfter:           time.Second,
		}, settings: map[string]string{
			"FRESHCHAT_WINDOW": "30m", "KAFKA_CHUNK_ROWS": "100000",
			// Every link takes longer than a transaction may stay open.
			"KAFKA_TRANSACTION_TIMEOUT": "1s",
			"FRESHCHAT_MAX_SUBMITS":     "8",
			// A report left unreadable is submitted again soon.
			"FRESHCHAT_PENDING_TIMEOUT": "20s",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seed := testSeed(t)
			rng := rand.New(rand.NewPCG(seed, seed))

			to := rangeEnd()
			from := to.Add(-time.Duration(tt.hours) * time.Hour)
			h := newHarness(t, freshchattest.Options{RowsPerHour: 12000, Faults: tt.faults}, crashEvents, tt.settings)
			t.Logf("range [%s, %s), %d events", from.Format(time.RFC3339), to.Format(time.RFC3339), len(crashEvents))

			for i := 1; i <= tt.kills; i++ {
				// Every restart is the same instance (one pod restarted in
				// place): static membership gives it its units back at once.
				run := h.startAs(fmt.Sprintf("run-%02d", i), "run", runArgs(from, to)...)
				after := 100*time.Millisecond + time.Duration(rng.Int64N(int64(1400*time.Millisecond)))
				select {
				case <-run.exited():
					t.Fatalf("run %d exited with code %d before its kill after %s: the range is too small to crash the connector %d times (seed %d)",
						i, run.state.ExitCode(), after, tt.kills, seed)
				case <-time.After(after):
				}
				require.True(t, run.kill(t), "run %d finished before its kill after %s (exit code %d): the range is too small to crash the connector %d times (seed %d)",
					i, after, run.state.ExitCode(), tt.kills, seed)
				t.Logf("run %d: SIGKILL after %s; %d checkpoint records committed so far", i, after, len(h.checkpoints()))
			}

			final := h.startAs("run-final", "run", runArgs(from, to)...)
			require.Equal(t, cli.ExitOK, h.wait(final), "exit code of the run after %d kills (seed %d)", tt.kills, seed)

			for _, ev := range crashEvents {
				h.assertExactlyOnce(ev, from, to)
			}
			h.assertFinished(to)
			h.assertNoOpenTransaction(h.allTopics()...)
			// The downloads the killed runs left behind were removed by
			// the next run: a crash loop does not fill the disk.
			var left []string
			require.NoError(t, filepath.WalkDir(h.tempDir, func(path string, d fs.DirEntry, err error) error {
				if err == nil && strings.HasSuffix(path, ".download") {
					left = append(left, path)
				}
				return err
			}))
			assert.Empty(t, left, "downloads left in FRESHCHAT_TEMP_DIR after the final run")

			st := h.sim.Stats()
			t.Logf("simulator: %d submits, %d polls, %d downloads (%d cut), statuses %v", st.Submits, st.Gets, st.Downloads, st.CutDownloads, st.Status)
			assert.Positive(t, st.CutDownloads, "no download was cut")
			assert.Positive(t, st.Status[429], "no request was rate-limited")
			assert.Positive(t, st.Status[503], "no request failed with 503")
			if tt.faults.VanishJobs > 0 {
				assert.Positive(t, st.Status[404], "no report vanished")
			}
			if t.Failed() {
				t.Logf("seed %d: rerun with E2E_SEED=%d", seed, seed)
			}
		})
	}
}

// TestTwoInstancesStartedTogetherShareTheWork starts two connectors with the
// same configuration at the same instant: they join one group and share the
// units, neither fences the other (exit 3 was the old outcome), and the
// range ends exactly once.
func TestTwoInstancesStartedTogetherShareTheWork(t *testing.T) {
	events := []string{"Message-Sent", "Conversation-Resolved", "Agent-Activity", "CSAT-Score"}
	to := rangeEnd()
	from := to.Add(-4 * time.Hour)
	h := newHarness(t, freshchattest.Options{
		RowsPerHour: 6000,
		Faults:      freshchattest.Faults{PendingPolls: 1, LinksPerReport: 2},
	}, events, map[string]string{
		"FRESHCHAT_WINDOW":       "30m",
		"KAFKA_TRANSACTIONAL_ID": "e2e-together",
	})
	args := runArgs(from, to)
	a := h.start("instance-a", args...)
	b := h.start("instance-b", args...)
	require.Equal(t, cli.ExitOK, h.wait(a), "exit code of instance A")
	require.Equal(t, cli.ExitOK, h.wait(b), "exit code of instance B")
	for _, c := range []*connector{a, b} {
		log := c.log(t)
		assert.NotContains(t, log, "fenced")
		assert.Contains(t, log, "every unit of the bounded range is committed")
	}
	assert.True(t, strings.Contains(a.log(t), "unit taken over") && strings.Contains(b.log(t), "unit taken over"),
		"both instances extracted units")
	for _, ev := range events {
		h.assertExactlyOnce(ev, from, to)
	}
	h.assertFinished(to)
	h.assertNoOpenTransaction(h.allTopics()...)
}

// testSeed is E2E_SEED when set, otherwise a fresh seed; it is logged so
// that a failure can be replayed.
func testSeed(t *testing.T) uint64 {
	t.Helper()
	if s := os.Getenv("E2E_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "E2E_SEED")
		t.Logf("seed %d (from E2E_SEED)", seed)
		return seed
	}
	seed := rand.Uint64()
	t.Logf("seed %d (replay with E2E_SEED=%d)", seed, seed)
	return seed
}
