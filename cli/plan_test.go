package cli_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/cli"
	"github.com/freshstream/freshchat-kafka/source"
)

// planTotal reads the windows and reports of the plan's total line.
func planTotal(t *testing.T, out string) (windows, reports int) {
	t.Helper()
	m := regexp.MustCompile(`(?m)^total\s+([\d,]+)\s+([\d,]+)\s+[\d,]+\s+\S+$`).FindStringSubmatch(out)
	require.NotNil(t, m, "no total line in:\n%s", out)
	atoi := func(s string) int {
		n, err := strconv.Atoi(strings.ReplaceAll(s, ",", ""))
		require.NoError(t, err)
		return n
	}
	return atoi(m[1]), atoi(m[2])
}

func TestPlanFromTheConfiguration(t *testing.T) {
	clearEnv(t)
	from := source.Earliest(time.Now()).Add(time.Hour).Format(time.RFC3339)
	code, out, errs := runMain(t, "plan", "--from", from)
	require.Equal(t, cli.ExitOK, code, errs)
	windows, reports := planTotal(t, out)
	assert.Equal(t, windows, reports, "nothing is submitted yet")
	assert.InDelta(t, 192, windows, 12, "15 months of 12 events: a first day, then a report a calendar month:\n%s", out)
	assert.Contains(t, out, "Checkpoints: none read: kafka.brokers is not set")
	assert.Contains(t, out, "1 submit(s)/min, requests 60/min")
	assert.Regexp(t, `With fixed windows of 1d, one report at a time .* it would take 5,4\d\d reports`, out)
	assert.Contains(t, out, "Near the 15-month limit an event starts where Freshchat still serves rows",
		"a plan from 15 months ago says what the moving limit takes")
	assert.Regexp(t, `(?m)^Agent-Activity\s+\S+\s+unknown\s+1[5-7]\s+1[5-7]\s+`, out)

	// A known density makes windows smaller: 2,000,000 rows a day is a
	// window of half a day for a million rows a report.
	code, out, errs = runMain(t, "plan", "--from", "-10d", "--events", "Message-Sent", "--rows-per-day", "2000000")
	require.Equal(t, cli.ExitOK, code, errs)
	windows, _ = planTotal(t, out)
	assert.InDelta(t, 20, windows, 1, out)
	assert.Contains(t, out, "2,000,000")
}

func TestPlanFromCheckpoints(t *testing.T) {
	st := newStack(t)
	now := time.Now().UTC().Truncate(time.Hour)
	st.commit(t, checkpoint.Position{Event: "Message-Sent", WindowStart: now.Add(-49 * time.Hour), WindowEnd: now.Add(-48 * time.Hour),
		ReportID: "rep-1", Rows: 100, Produced: 100, Done: true, CommittedAt: now,
		Ahead: []checkpoint.Ahead{{WindowStart: now.Add(-48 * time.Hour), WindowEnd: now.Add(-24 * time.Hour), ReportID: "rep-2", Submits: 1}}})
	code, out, errs := runMain(t, "plan", "--to", now.Format(time.RFC3339))
	require.Equal(t, cli.ExitOK, code, errs)
	assert.Contains(t, out, "Checkpoints: read from freshchat.checkpoints (1)")
	assert.Regexp(t, `(?m)^Message-Sent\s+`+regexp.QuoteMeta(now.Add(-48*time.Hour).Format("2006-01-02T15:04:05Z"))+`\s+2,400\s+2\s+1\s+`, out,
		"planned from the checkpoint at its density (100 rows an hour): the window ahead, whose report is submitted, then one to --to")
	assert.Contains(t, out, "Message-Sent: from its checkpoint")
	assert.Regexp(t, `(?m)^CSAT-Score\s+\S+\s+unknown\s+`, out, "an event without a checkpoint from start")
}

func TestPlanWithoutReachableKafkaPlansFromTheConfiguration(t *testing.T) {
	clearEnv(t)
	t.Setenv("KAFKA_BROKERS", "127.0.0.1:1")
	code, out, errs := runMain(t, "plan", "--events", "CSAT-Score", "--timeout", "300ms")
	require.Equal(t, cli.ExitOK, code, errs)
	assert.Contains(t, errs, "connector plan: reading the checkpoints")
	assert.Contains(t, out, "Checkpoints: none read (see above)")
	windows, _ := planTotal(t, out)
	assert.Positive(t, windows)
}
