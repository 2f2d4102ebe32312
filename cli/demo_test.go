package cli_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/cli"
)

// watchWriter collects output and reports when a marker was written.
type watchWriter struct {
	mu     sync.Mutex
	b      strings.Builder
	marker string
	seen   chan struct{}
	once   sync.Once
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	if strings.Contains(w.b.String(), w.marker) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestDemoShowsTheWholeFlow runs the demo as a new user would, until the
// first live window is committed, then interrupts it; a second demo on the
// same data folder resumes instead of extracting everything again.
func TestDemoShowsTheWholeFlow(t *testing.T) {
	dir := t.TempDir()
	runDemo := func(marker string) (int, string) {
		out := &watchWriter{marker: marker, seen: make(chan struct{})}
		var errb strings.Builder
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan int, 1)
		go func() {
			done <- cli.Main(ctx, []string{"demo", "--data-dir", dir, "--days", "1", "--kafka-port", "0"}, cli.Streams{Out: out, Err: &errb})
		}()
		select {
		case <-out.seen:
			cancel()
		case code := <-done:
			t.Fatalf("demo exited early with %d:\n%s\n%s", code, out.String(), errb.String())
		case <-time.After(2 * time.Minute):
			t.Fatalf("demo did not show %q:\n%s", marker, out.String())
		}
		return <-done, out.String()
	}

	code, out := runDemo("→ freshchat.") // a live window committed
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
	code, out = runDemo("Tailing live windows")
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
