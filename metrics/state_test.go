package metrics_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/metrics"
)

// stateOf reads the event's state from event_state, checking that exactly
// one state is 1.
func stateOf(t *testing.T, m *metrics.Metrics, event string) string {
	t.Helper()
	families, err := m.Registry().Gather()
	require.NoError(t, err)
	var on []string
	seen := 0
	for _, f := range families {
		if f.GetName() != "freshchat_connector_event_state" {
			continue
		}
		for _, mt := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range mt.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["event"] != event {
				continue
			}
			seen++
			if mt.GetGauge().GetValue() == 1 {
				on = append(on, labels["state"])
			}
		}
	}
	require.Equal(t, len(metrics.States), seen, "one series per state")
	require.Len(t, on, 1, "exactly one state is 1: %v", on)
	return on[0]
}

func TestEventStateFollowsThePipeline(t *testing.T) {
	c := newClock(t0)
	m := metrics.New(metrics.Options{Now: c.Now})
	const ev = "Message-Sent"
	m.InitEvents(ev)
	steps := []struct {
		do   func()
		want string
	}{
		{func() {}, metrics.StateBackfill},
		{func() { m.ChunkCommitted(ev, 10, 10, 0) }, metrics.StateBackfill},
		{func() { m.EventFailed(ev, errors.New("kafka: broker down")) }, metrics.StateFailed},
		{func() { m.TransactionAborted(ev) }, metrics.StateFailed}, // an abort is no progress
		{func() { m.CheckpointCommitted(ev) }, metrics.StateBackfill},
		{func() { m.Waiting(ev, t0.Add(time.Hour)) }, metrics.StateWaiting},
		{func() { c.Set(t0.Add(time.Hour)) }, metrics.StateLive}, // the wait is over: the next window is extracted
		{func() { m.Waiting(ev, t0.Add(2*time.Hour)) }, metrics.StateWaiting},
		{func() { m.ReportReady(ev, time.Minute) }, metrics.StateLive},
		{func() { m.EventFailed(ev, errors.New("freshchat API: 503")) }, metrics.StateFailed},
		{func() { m.WindowCommitted(ev, t0) }, metrics.StateLive},
		{func() { m.Done(ev) }, metrics.StateDone},
	}
	for i, st := range steps {
		st.do()
		assert.Equal(t, st.want, stateOf(t, m, ev), "step %d", i)
	}

	got := m.Events()[ev]
	assert.Equal(t, metrics.StateDone, got.State)
	assert.Equal(t, "freshchat API: 503", got.LastError, "the last error stays after recovery")
	require.NotNil(t, got.LastErrorAt)
	assert.Equal(t, t0.Add(time.Hour), *got.LastErrorAt)

	want := "# HELP freshchat_connector_event_failures_total Windows of the event that failed: each is retried from the last commit, or ends the run when retrying cannot help.\n# TYPE freshchat_connector_event_failures_total counter\n" +
		fmt.Sprintf("freshchat_connector_event_failures_total{account=\"default\",event=%q} 2\n", ev)
	assert.NoError(t, testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "freshchat_connector_event_failures_total"))
}

func TestEventsWithoutFailures(t *testing.T) {
	m := metrics.New(metrics.Options{})
	m.InitEvents("CSAT-Score")
	assert.Equal(t, map[string]metrics.EventStatus{"CSAT-Score": {State: metrics.StateBackfill}}, m.Events())
}
