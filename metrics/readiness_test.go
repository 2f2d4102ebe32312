package metrics_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/metrics"
)

func TestReadiness(t *testing.T) {
	const stuckAfter = 30 * time.Minute
	type step struct {
		do   func(r *metrics.Readiness)
		at   time.Duration // Check at t0 + at
		want string        // "" means ready
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{
			name: "not ready until connected",
			steps: []step{
				{do: func(*metrics.Readiness) {}, want: "not connected to Kafka"},
				{do: func(r *metrics.Readiness) { r.SetConnected(true) }, want: ""},
				{do: func(r *metrics.Readiness) { r.SetConnected(false) }, want: "not connected to Kafka"},
			},
		},
		{
			name: "unreachable says for how long and why, until connected again",
			steps: []step{
				{do: func(r *metrics.Readiness) { r.SetConnected(true) }, want: ""},
				{do: func(r *metrics.Readiness) {
					r.SetUnreachable(t0, errors.New("127.0.0.1:9092: dial tcp 127.0.0.1:9092: connect: connection refused"))
				}, at: 90 * time.Second, want: "not connected to Kafka: brokers unreachable for 1m30s (last error: 127.0.0.1:9092: dial tcp 127.0.0.1:9092: connect: connection refused)"},
				{do: func(r *metrics.Readiness) { r.SetConnected(true) }, at: 2 * time.Minute, want: ""},
				{do: func(r *metrics.Readiness) { r.SetConnected(false) }, want: "not connected to Kafka"},
			},
		},
		{
			name: "an event without progress is stuck, progress clears it",
			steps: []step{
				{do: func(r *metrics.Readiness) { r.SetConnected(true); r.Progressed("Message-Sent", t0) }, at: 30 * time.Minute, want: ""},
				{do: func(*metrics.Readiness) {}, at: 45 * time.Minute, want: "stuck: Message-Sent no progress for 45m0s"},
				{do: func(r *metrics.Readiness) { r.Progressed("Message-Sent", t0.Add(44*time.Minute)) }, at: 45 * time.Minute, want: ""},
			},
		},
		{
			name: "an event waiting for its next window is not stuck until it overstays",
			steps: []step{
				{do: func(r *metrics.Readiness) {
					r.SetConnected(true)
					r.Progressed("CSAT-Score", t0)
					r.Waiting("CSAT-Score", t0.Add(2*time.Hour))
				}, at: 2 * time.Hour, want: ""},
				{do: func(*metrics.Readiness) {}, at: 2*time.Hour + 30*time.Minute, want: ""},
				{do: func(*metrics.Readiness) {}, at: 2*time.Hour + 31*time.Minute, want: "stuck: CSAT-Score no progress for 31m0s"},
			},
		},
		{
			name: "every stuck event is named, in order; done events never are",
			steps: []step{
				{do: func(r *metrics.Readiness) {
					r.SetConnected(true)
					for _, ev := range []string{"Message-Sent", "Agent-Activity", "CSAT-Score"} {
						r.Progressed(ev, t0)
					}
					r.Done("CSAT-Score")
				}, at: time.Hour, want: "stuck: Agent-Activity no progress for 1h0m0s; Message-Sent no progress for 1h0m0s"},
			},
		},
		{
			name: "a standby that owns no unit is ready once connected",
			steps: []step{
				{do: func(r *metrics.Readiness) { r.SetUnits(nil) }, want: "not connected to Kafka"},
				{do: func(r *metrics.Readiness) { r.SetConnected(true) }, at: 10 * time.Hour, want: ""},
			},
		},
		{
			name: "only owned units are judged stuck; a unit given up is forgotten",
			steps: []step{
				{do: func(r *metrics.Readiness) {
					r.SetConnected(true)
					for _, key := range []string{"Message-Sent", "acme/Message-Sent", "acme/CSAT-Score"} {
						r.Progressed(key, t0)
					}
				}, at: time.Hour, want: "stuck: Message-Sent no progress for 1h0m0s; acme/CSAT-Score no progress for 1h0m0s; acme/Message-Sent no progress for 1h0m0s"},
				// A rebalance leaves this instance one unit.
				{do: func(r *metrics.Readiness) { r.SetUnits([]string{"acme/CSAT-Score"}) },
					at: time.Hour, want: "stuck: acme/CSAT-Score no progress for 1h0m0s"},
				// A revoked unit's last call after the rebalance is not judged.
				{do: func(r *metrics.Readiness) {
					r.Progressed("Message-Sent", t0)
					r.Progressed("acme/CSAT-Score", t0.Add(time.Hour))
				},
					at: time.Hour, want: ""},
				// Given back, acme/Message-Sent was forgotten: its clock
				// starts with its next call (Metrics.SetUnits makes one).
				{do: func(r *metrics.Readiness) { r.SetUnits([]string{"acme/CSAT-Score", "acme/Message-Sent"}) },
					at: time.Hour, want: ""},
				{do: func(r *metrics.Readiness) {
					r.SetUnits([]string{"acme/CSAT-Score", "Message-Sent"})
					r.Progressed("Message-Sent", t0.Add(70*time.Minute))
				}, at: 80 * time.Minute, want: ""},
				{do: func(*metrics.Readiness) {}, at: 3 * time.Hour, want: "stuck: Message-Sent no progress for 1h50m0s; acme/CSAT-Score no progress for 2h0m0s"},
				// Now a standby.
				{do: func(r *metrics.Readiness) { r.SetUnits([]string{}) }, at: 3 * time.Hour, want: ""},
			},
		},
		{
			name: "fencing is final and comes first",
			steps: []step{
				{do: func(r *metrics.Readiness) {
					r.SetConnected(true)
					r.SetFenced(errors.New("transactional ID freshchat-connector-Message-Sent"))
				}, want: "fenced by another instance: transactional ID freshchat-connector-Message-Sent"},
				{do: func(r *metrics.Readiness) { r.SetFenced(nil); r.SetConnected(true) },
					want: "fenced by another instance: transactional ID freshchat-connector-Message-Sent"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r metrics.Readiness
			for i, s := range tt.steps {
				s.do(&r)
				err := r.Check(t0.Add(s.at), stuckAfter)
				if s.want == "" {
					assert.NoError(t, err, "step %d", i)
				} else {
					assert.EqualError(t, err, s.want, "step %d", i)
				}
			}
		})
	}
}

func TestReadinessErrorsAreTyped(t *testing.T) {
	var r metrics.Readiness
	require.ErrorIs(t, r.Check(t0, time.Minute), metrics.ErrNotConnected)
	r.SetUnreachable(t0, errors.New("refused"))
	require.ErrorIs(t, r.Check(t0, time.Minute), metrics.ErrNotConnected)

	r.SetConnected(true)
	r.Progressed("Message-Sent", t0)
	var stuck *metrics.StuckError
	require.ErrorAs(t, r.Check(t0.Add(time.Hour), time.Minute), &stuck)
	assert.Equal(t, map[string]time.Duration{"Message-Sent": time.Hour}, stuck.Since)
	assert.NoError(t, r.Check(t0.Add(time.Hour), 0), "stuckAfter 0 disables the stuck check")

	fence := errors.New("fenced")
	r.SetFenced(fence)
	assert.ErrorIs(t, r.Check(t0, time.Minute), fence)
}

func TestNilReadinessIsAlwaysReady(t *testing.T) {
	var r *metrics.Readiness
	assert.NotPanics(t, func() {
		r.SetConnected(false)
		r.SetUnreachable(t0, errors.New("x"))
		r.SetFenced(errors.New("x"))
		r.Progressed("Message-Sent", t0)
		r.Waiting("Message-Sent", t0)
		r.Done("Message-Sent")
		r.SetUnits([]string{"Message-Sent"})
	})
	assert.NoError(t, r.Check(t0, time.Second))
	assert.NoError(t, r.Probe(time.Second)())
}

func TestMetricsFeedReadiness(t *testing.T) {
	c := newClock(t0)
	var r metrics.Readiness
	r.SetConnected(true)
	m := metrics.New(metrics.Options{Readiness: &r, Now: c.Now})
	m.InitEvents("Message-Sent", "CSAT-Score")
	assert.EqualError(t, r.Check(t0.Add(time.Hour), time.Minute), "stuck: CSAT-Score no progress for 1h0m0s; Message-Sent no progress for 1h0m0s")

	tests := []struct {
		name string
		call func(event string, now time.Time)
	}{
		{"chunk", func(ev string, now time.Time) { m.ChunkCommitted(ev, 1, 1, 0) }},
		{"checkpoint", func(ev string, now time.Time) { m.CheckpointCommitted(ev) }},
		{"window", func(ev string, now time.Time) { m.WindowCommitted(ev, now) }},
		{"report", func(ev string, now time.Time) { m.ReportReady(ev, time.Minute) }},
		{"waiting", func(ev string, now time.Time) { m.Waiting(ev, now.Add(2*time.Hour)) }},
		{"done", func(ev string, now time.Time) { m.Done(ev) }},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0.Add(time.Duration(i+1) * time.Hour)
			c.Set(now)
			m.CheckpointCommitted("CSAT-Score")
			tt.call("Message-Sent", now)
			assert.NoError(t, r.Check(now.Add(time.Minute), time.Minute))
		})
	}
	m.TransactionAborted("CSAT-Score") // an abort is no progress
	assert.EqualError(t, r.Check(c.Now().Add(time.Hour), time.Minute), "stuck: CSAT-Score no progress for 1h0m0s")
}

func TestFailedAccountsUnitsAreNeverStuck(t *testing.T) {
	c := newClock(t0)
	var r metrics.Readiness
	r.SetConnected(true)
	m := metrics.New(metrics.Options{Readiness: &r, Now: c.Now})
	m.InitEvents("acme/Message-Sent", "globex/Message-Sent")
	m.AccountFailed("acme", errors.New("freshchat API refuses the token (401 Unauthorized)"))
	assert.EqualError(t, r.Check(t0.Add(time.Hour), time.Minute), "stuck: globex/Message-Sent no progress for 1h0m0s",
		"acme's units are stopped, and account_up says why")
	m.AccountOK("acme")
	assert.EqualError(t, r.Check(t0.Add(time.Hour), time.Minute), "stuck: acme/Message-Sent no progress for 1h0m0s; globex/Message-Sent no progress for 1h0m0s")
}
