package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSmallRun runs the whole benchmark at a small size: both children are
// built and run, and their topics checked.
func TestSmallRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the connector and the baseline")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out strings.Builder
	err := run(ctx, options{rows: 2400, event: "Message-Sent", baseline: true, json: true}, &out)
	require.NoError(t, err)
	s := out.String()
	require.Contains(t, s, "BenchmarkE2E/connector/rows=2400 1 ")
	require.Contains(t, s, "BenchmarkE2E/baseline/rows=2400 1 ")
	require.Contains(t, s, "connector / baseline:")
	require.Contains(t, s, `"connector_vs_baseline"`)
}
