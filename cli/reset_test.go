package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/cli"
	"github.com/freshstream/freshchat-kafka/internal/kread"
	"github.com/freshstream/freshchat-kafka/schemas"
)

// createdAts returns the created_at of every committed Message-Sent record,
// in offset order (the topic has one partition).
func (st *stack) createdAts(t *testing.T) []time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	recs, err := kread.ReadCommitted(ctx, st.kafka, "freshchat.message-sent")
	require.NoError(t, err)
	sc, err := schemas.Lookup("Message-Sent")
	require.NoError(t, err)
	out := make([]time.Time, 0, len(recs))
	for _, r := range recs {
		require.Equal(t, []byte{0xC3, 0x01}, r.Value[:2], "single-object encoding")
		var v map[string]any
		require.NoError(t, avro.Unmarshal(sc.Avro, r.Value[10:], &v))
		out = append(out, v["created_at"].(time.Time).UTC())
	}
	return out
}

// next reads where the status says the event's next run starts.
func next(t *testing.T, event string) time.Time {
	t.Helper()
	code, out, errs := runMain(t, "status", "--json")
	require.Equal(t, cli.ExitOK, code, errs)
	var got statusJSON
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	for _, e := range got.Events {
		if e.Event == event {
			return e.Next
		}
	}
	t.Fatalf("no event %s in the status", event)
	return time.Time{}
}

func TestResetThenRunProducesTheRowsFromTheTargetAgain(t *testing.T) {
	st := newStack(t)
	t.Setenv("FRESHCHAT_EVENTS", "Message-Sent")
	t.Setenv("SCHEMA_REGISTRY_URL", "")
	now := time.Now().UTC().Truncate(time.Hour)
	from, to, target := now.Add(-6*time.Hour), now.Add(-2*time.Hour), now.Add(-4*time.Hour)
	run := func() {
		t.Helper()
		code, out, errs := runMain(t, "run", "--from", fmtTime(from), "--to", fmtTime(to))
		require.Equal(t, cli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	}

	run()
	first := st.createdAts(t)
	require.NotEmpty(t, first)
	var fromTarget []time.Time
	for _, c := range first {
		require.False(t, c.Before(from) || !c.Before(to), "row created at %s outside the bounded range", c)
		if !c.Before(target) {
			fromTarget = append(fromTarget, c)
		}
	}
	require.NotEmpty(t, fromTarget)
	require.Less(t, len(fromTarget), len(first))
	assert.True(t, next(t, "Message-Sent").Equal(to))

	// A range after the checkpoint would skip rows: refused, with the way out.
	code, out, errs := runMain(t, "run", "--from", fmtTime(to.Add(time.Hour)), "--to", fmtTime(now))
	require.Equal(t, cli.ExitUsage, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	assert.Contains(t, errs, "Message-Sent is committed up to "+fmtTime(to)+", before --from "+fmtTime(to.Add(time.Hour)))
	assert.Contains(t, errs, "connector reset --event Message-Sent --to "+fmtTime(to.Add(time.Hour)))
	require.Len(t, st.createdAts(t), len(first), "nothing was produced")

	code, out, errs = runMain(t, "reset", "--event", "message-sent", "--to", fmtTime(target), "--yes")
	require.Equal(t, cli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	for _, w := range []string{
		"Event Message-Sent (topic freshchat.message-sent, transactional ID freshchat-connector-Message-Sent)",
		// The last window's start depends on how the planner sized it.
		"old: [", ", " + fmtTime(to) + ") done: the next run starts at " + fmtTime(to),
		"new: [" + fmtTime(target) + ", " + fmtTime(target) + ") done: the next run starts at " + fmtTime(target),
		"rewind: rows created from " + fmtTime(target) + " to " + fmtTime(to) + " will be produced again",
		"Reset Message-Sent: was [", "now [" + fmtTime(target) + ", " + fmtTime(target) + ") done",
	} {
		assert.Contains(t, out, w)
	}
	assert.True(t, next(t, "Message-Sent").Equal(target))

	run()
	second := st.createdAts(t)
	require.Len(t, second, len(first)+len(fromTarget), "the rows from the target are produced once more, no others")
	again := slices.Clone(second[len(first):])
	slices.SortFunc(again, func(a, b time.Time) int { return a.Compare(b) })
	slices.SortFunc(fromTarget, func(a, b time.Time) int { return a.Compare(b) })
	assert.Equal(t, fromTarget, again)
	assert.True(t, next(t, "Message-Sent").Equal(to))
}

func TestResetRefusesWhileAConnectorHoldsTheIdentity(t *testing.T) {
	st := newStack(t)
	end := time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)
	st.commit(t, checkpoint.Position{Event: "Message-Sent", WindowStart: end.Add(-time.Hour), WindowEnd: end, Done: true})
	st.hold(t, "connector-0", "Message-Sent")

	code, out, errs := runMain(t, "reset", "--event", "Message-Sent", "--to", "-2d", "--yes")
	assert.Equal(t, cli.ExitError, code)
	assert.Contains(t, out, "A connector with transactional ID prefix freshchat-connector is running: connector-0 on host-a")
	assert.Contains(t, errs, "refusing to reset Message-Sent while a connector holds transactional identity freshchat-connector")
	assert.Contains(t, errs, "stop every instance first")
	assert.True(t, next(t, "Message-Sent").Equal(end), "the checkpoint did not move")
}

func TestResetWithoutTerminalNeedsYes(t *testing.T) {
	st := newStack(t)
	end := time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)
	st.commit(t, checkpoint.Position{Event: "Message-Sent", WindowStart: end.Add(-time.Hour), WindowEnd: end, Done: true})
	r, w, err := os.Pipe()
	require.NoError(t, err)
	require.NoError(t, w.Close())
	defer r.Close()
	stdin := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = stdin }()

	code, out, errs := runMain(t, "reset", "--event", "Message-Sent", "--to", "-2d")
	assert.Equal(t, cli.ExitUsage, code)
	assert.Contains(t, out, "old: [", "the plan is shown before refusing")
	assert.Contains(t, errs, "pass --yes")
	assert.True(t, next(t, "Message-Sent").Equal(end), "the checkpoint did not move")
}

func TestResetCommandLine(t *testing.T) {
	cases := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		wantErr  []string
		notErr   []string
	}{
		{name: "help", args: []string{"--help"}, wantCode: cli.ExitOK, wantErr: []string{"--event", "--to", "--yes", "--config", "Exit codes"}},
		{name: "no event", args: []string{"--to", "-1d"}, wantCode: cli.ExitUsage, wantErr: []string{"needs --event and --to"}},
		{name: "no time", args: []string{"--event", "Message-Sent"}, wantCode: cli.ExitUsage, wantErr: []string{"needs --event and --to"}},
		{name: "bad time", args: []string{"--event", "Message-Sent", "--to", "yesterday-ish"}, wantCode: cli.ExitUsage,
			wantErr: []string{`--to "yesterday-ish"`, "not a time"}, notErr: []string{"--from"}},
		{name: "too old", args: []string{"--event", "Message-Sent", "--to", "2020-01-01"}, wantCode: cli.ExitUsage,
			wantErr: []string{`--to "2020-01-01"`, "earlier than the earliest allowed"}},
		{name: "future", args: []string{"--event", "Message-Sent", "--to", "+1d"}, wantCode: cli.ExitUsage,
			wantErr: []string{`--to "+1d"`, "in the future"}},
		{name: "unknown event", args: []string{"--event", "Nope", "--to", "-1d"}, wantCode: cli.ExitUsage,
			wantErr: []string{`--event "Nope" is neither configured nor a known event`}},
		{name: "no brokers", env: map[string]string{"KAFKA_BROKERS": ""}, args: []string{"--event", "Message-Sent", "--to", "-1d"},
			wantCode: cli.ExitUsage, wantErr: []string{"KAFKA_BROKERS"}},
		{name: "brokers down", env: map[string]string{"KAFKA_BROKERS": "127.0.0.1:1"}, args: []string{"--event", "Message-Sent", "--to", "-1d", "--yes"},
			wantCode: cli.ExitError, wantErr: []string{"cannot tell whether a connector is running, so nothing was reset", "127.0.0.1:1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			newStack(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			code, _, errs := runMain(t, append([]string{"reset"}, tc.args...)...)
			assert.Equal(t, tc.wantCode, code, errs)
			for _, w := range tc.wantErr {
				assert.Contains(t, errs, w)
			}
			for _, w := range tc.notErr {
				assert.NotContains(t, errs, w)
			}
		})
	}
}
