package cli_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/cli"
	"github.com/freshstream/freshchat-kafka/instance"
	"github.com/freshstream/freshchat-kafka/instance/instancetest"
	"github.com/freshstream/freshchat-kafka/sink"
)

// commit writes positions to the checkpoint topic as the connector does:
// in a transaction of the event's producer.
func (st *stack) commit(t *testing.T, positions ...checkpoint.Position) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st.createTopic(t, "freshchat.checkpoints", "compact")
	store := checkpoint.NewStore("freshchat.checkpoints", nil, st.kafka...)
	for _, p := range positions {
		w, err := sink.NewWriter(ctx, sink.WriterConfig{TransactionalID: "freshchat-connector-" + p.Event, TransactionTimeout: 30 * time.Second}, st.kafka...)
		require.NoError(t, err)
		rec, err := store.Record(p)
		require.NoError(t, err)
		require.NoError(t, w.Begin())
		require.NoError(t, w.Commit(ctx, rec))
		require.NoError(t, w.Close(ctx))
	}
}

// hold makes the stack look like a connector instance is running: a member
// of the connector's group owning the units given.
func (st *stack) hold(t *testing.T, instanceID string, units ...string) *instance.Member {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st.createTopic(t, "freshchat.checkpoints", "compact")
	return instancetest.Hold(t, ctx, instance.Config{Group: "freshchat-connector", Topic: "freshchat.checkpoints.units", InstanceID: instanceID, Host: "host-a",
		SessionTimeout: 10 * time.Second, Manifest: instance.Manifest{CheckpointTopic: "freshchat.checkpoints", Units: units}}, st.kafka...)
}

type statusJSON struct {
	CheckpointTopic string `json:"checkpoint_topic"`
	TransactionalID string `json:"transactional_id"`
	Events          []struct {
		Unit    string `json:"unit"`
		Account string `json:"account"`
		Owner   *struct {
			InstanceID string `json:"instance_id"`
			Host       string `json:"host"`
		} `json:"owner"`
		Event            string               `json:"event"`
		Topic            string               `json:"topic"`
		Checkpoint       *checkpoint.Position `json:"checkpoint"`
		Next             time.Time            `json:"next"`
		CompleteUpTo     *time.Time           `json:"complete_up_to"`
		FreshnessSeconds *float64             `json:"freshness_seconds"`
		InFlightReportID string               `json:"in_flight_report_id"`
	} `json:"events"`
	Holders []instance.Holder `json:"holders"`
}

func TestStatus(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Hour)
	done := checkpoint.Position{Event: "Message-Sent", WindowStart: now.Add(-3 * time.Hour), WindowEnd: now.Add(-2 * time.Hour),
		ReportID: "rep-done", Rows: 60, Produced: 60, Done: true, CoveredFrom: now.Add(-9 * time.Hour), CommittedAt: now}
	inFlight := checkpoint.Position{Event: "CSAT-Score", WindowStart: now.Add(-5 * time.Hour), WindowEnd: now.Add(-4 * time.Hour),
		ReportID: "rep-in-flight", Rows: 12, Produced: 11, DeadLettered: 1, CommittedAt: now}

	t.Run("no checkpoint yet, nobody running, no token needed", func(t *testing.T) {
		newStack(t)
		t.Setenv("FRESHCHAT_API_TOKEN", "")
		t.Setenv("FRESHCHAT_API_URL", "")
		code, out, errs := runMain(t, "status")
		require.Equal(t, cli.ExitOK, code, errs)
		assert.Contains(t, out, "Message-Sent")
		assert.Contains(t, out, "none yet: starts at")
		assert.Contains(t, out, "Transactional identity freshchat-connector: not held (no running connector)")
	})

	t.Run("table", func(t *testing.T) {
		st := newStack(t)
		st.commit(t, done, inFlight)
		st.hold(t, "connector-0", "CSAT-Score", "Message-Sent")
		code, out, errs := runMain(t, "status")
		require.Equal(t, cli.ExitOK, code, errs)
		for _, w := range []string{
			"EVENT", "EXTRACTED FROM", "COMMITTED POSITION", "FRESHNESS", "IN-FLIGHT REPORT", "DEAD-LETTERED",
			fmtTime(done.CoveredFrom) + "  [" + fmtTime(done.WindowStart) + ", " + fmtTime(done.WindowEnd) + ") done",
			"[" + fmtTime(inFlight.WindowStart) + ", " + fmtTime(inFlight.WindowEnd) + ") 12 rows committed",
			"rep-in-flight", "held by connector-0 on host-a", "OWNER", "connector-0@host-a",
			"connector-0 on host-a (member connector-0-", "owns 2 units: CSAT-Score, Message-Sent",
		} {
			assert.Contains(t, out, w)
		}
		assert.NotContains(t, out, "rep-done", "a done window has no report in flight")
	})

	t.Run("json", func(t *testing.T) {
		st := newStack(t)
		st.commit(t, done, inFlight)
		st.hold(t, "connector-0", "CSAT-Score", "Message-Sent")
		code, out, errs := runMain(t, "status", "--json")
		require.Equal(t, cli.ExitOK, code, errs)
		var got statusJSON
		require.NoError(t, json.Unmarshal([]byte(out), &got), out)
		assert.Equal(t, "freshchat.checkpoints", got.CheckpointTopic)
		assert.Equal(t, "freshchat-connector", got.TransactionalID)
		require.Len(t, got.Events, 2)
		ms, csat := got.Events[0], got.Events[1]
		assert.Equal(t, "Message-Sent", ms.Event)
		assert.Equal(t, "Message-Sent", ms.Unit)
		assert.Equal(t, "default", ms.Account)
		require.NotNil(t, ms.Owner)
		assert.Equal(t, "connector-0", ms.Owner.InstanceID)
		assert.Equal(t, "freshchat.message-sent", ms.Topic)
		require.NotNil(t, ms.Checkpoint)
		assert.True(t, ms.Checkpoint.Done)
		assert.Equal(t, int64(60), ms.Checkpoint.Produced)
		assert.True(t, ms.Next.Equal(done.WindowEnd))
		assert.True(t, ms.CompleteUpTo.Equal(done.WindowEnd))
		assert.InDelta(t, time.Since(done.WindowEnd).Seconds(), *ms.FreshnessSeconds, 60)
		assert.Empty(t, ms.InFlightReportID)

		assert.Equal(t, "rep-in-flight", csat.InFlightReportID)
		assert.Equal(t, int64(12), csat.Checkpoint.Rows)
		assert.Equal(t, int64(1), csat.Checkpoint.DeadLettered)
		assert.True(t, csat.CompleteUpTo.Equal(inFlight.WindowStart), "an unfinished window is complete up to its start")
		require.Len(t, got.Holders, 1)
		assert.Equal(t, "connector-0", got.Holders[0].InstanceID)
		assert.Equal(t, []string{"CSAT-Score", "Message-Sent"}, got.Holders[0].Units)
		assert.NotEmpty(t, got.Holders[0].MemberID)
	})

	t.Run("json without checkpoints", func(t *testing.T) {
		newStack(t)
		code, out, errs := runMain(t, "status", "--json")
		require.Equal(t, cli.ExitOK, code, errs)
		var got statusJSON
		require.NoError(t, json.Unmarshal([]byte(out), &got), out)
		require.Len(t, got.Events, 2)
		assert.Nil(t, got.Events[0].Checkpoint)
		assert.Nil(t, got.Events[0].FreshnessSeconds)
		assert.NotNil(t, got.Holders, "holders is an empty list, not null")
		assert.Contains(t, out, `"holders": []`)
	})
}

func TestStatusFailures(t *testing.T) {
	cases := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		wantErr  []string
	}{
		{name: "brokers down", env: map[string]string{"KAFKA_BROKERS": "127.0.0.1:1"}, args: []string{"--timeout", "1s"},
			wantCode: cli.ExitError, wantErr: []string{"reading the checkpoints", "KAFKA_BROKERS=127.0.0.1:1"}},
		{name: "no brokers configured", env: map[string]string{"KAFKA_BROKERS": ""},
			wantCode: cli.ExitUsage, wantErr: []string{"KAFKA_BROKERS"}},
		{name: "help", args: []string{"--help"}, wantCode: cli.ExitOK, wantErr: []string{"--json", "--config", "--timeout", "Exit codes"}},
		{name: "bad timeout", args: []string{"--timeout", "-1s"}, wantCode: cli.ExitUsage, wantErr: []string{"--timeout must be positive"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			newStack(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			code, _, errs := runMain(t, append([]string{"status"}, tc.args...)...)
			assert.Equal(t, tc.wantCode, code, errs)
			for _, w := range tc.wantErr {
				assert.Contains(t, errs, w)
			}
		})
	}
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.999Z07:00") }
