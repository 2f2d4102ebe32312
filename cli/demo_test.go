package cli_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/cli"
	"github.com/freshstream/freshchat-kafka/internal/logbuf"
)

// TestDemoShowsTheWholeFlow runs the demo as a new user would, until the
// first live window is committed, then interrupts it; a second demo on the
// same data folder resumes instead of extracting everything again.
func TestDemoShowsTheWholeFlow(t *testing.T) {
	dir := t.TempDir()
	runDemo := func(marker string, whileRunning func(out string)) (int, string) {
		out := &logbuf.Buffer{}
		seen := out.Written(marker)
		var errb strings.Builder
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan int, 1)
		go func() {
			done <- cli.Main(ctx, []string{"demo", "--data-dir", dir, "--days", "1", "--kafka-port", "0"}, cli.Streams{Out: out, Err: &errb})
		}()
		select {
		case <-seen:
			if whileRunning != nil {
				whileRunning(out.String())
			}
			cancel()
		case code := <-done:
			t.Fatalf("demo exited early with %d:\n%s\n%s", code, out.String(), errb.String())
		case <-time.After(2 * time.Minute):
			t.Fatalf("demo did not show %q:\n%s", marker, out.String())
		}
		return <-done, out.String()
	}

	code, out := runDemo("→ freshchat.", nil) // a live window committed
	require.Equal(t, cli.ExitOK, code, out)
	for _, want := range []string{
		"Backfilling 12 events", "100%", "freshchat.message-sent", "total",
		"decoded with schema ID", `"created_at"`, "header  freshchat.report_id",
		"kcat -b", "Tailing live windows", "Stopped.",
	} {
		assert.Contains(t, out, want)
	}

	// The broker's data folder survives: the second demo finds the backfill
	// committed and resumes.
	first := total(t, out)
	code, out = runDemo("Tailing live windows", func(out string) {
		// The demo serves /status as a run does.
		_, rest, ok := strings.Cut(out, "Metrics          http://")
		require.True(t, ok, "the demo prints its metrics address:\n%s", out)
		addr, _, _ := strings.Cut(rest, "/")
		resp, err := http.Get("http://" + addr + "/status")
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		assert.Contains(t, string(body), `"checkpoint_topic": "freshchat.checkpoints"`)
	})
	require.Equal(t, cli.ExitOK, code, out)
	second := total(t, out)
	assert.GreaterOrEqual(t, second, first)
	assert.Less(t, second, first+first/2, "the second demo resumed instead of extracting the day again")
}

// total reads the summary's "total N" line.
func total(t *testing.T, out string) int {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "total" {
			n, err := strconv.Atoi(f[1])
			require.NoError(t, err)
			return n
		}
	}
	t.Fatalf("no total line in:\n%s", out)
	return 0
}
