package metrics_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/metrics"
)

const (
	helpOwned      = "# HELP freshchat_connector_units_owned Units of work (account, event) this instance owns: the group assigns each unit to one live instance; 0 on a standby.\n# TYPE freshchat_connector_units_owned gauge\n"
	helpAccountUp  = "# HELP freshchat_connector_account_up 1 while the account's units work, 0 once its Freshchat API refused the token (401, 403): its units stop, the other accounts' go on.\n# TYPE freshchat_connector_account_up gauge\n"
	helpRebalances = "# HELP freshchat_connector_rebalances_total Rebalances of the group this instance took part in, whether or not its units changed.\n# TYPE freshchat_connector_rebalances_total counter\n"
	helpMoved      = "# HELP freshchat_connector_units_moved_total Units this instance gained or lost in rebalances, by direction (gained, lost).\n# TYPE freshchat_connector_units_moved_total counter\n"
	helpState      = "# HELP freshchat_connector_event_state 1 for the state the event is in, 0 for the others: backfill (catching up), live (following new windows), waiting (for the next window to settle), failed (its last window failed; retried from the last commit), done (bounded range extracted).\n# TYPE freshchat_connector_event_state gauge\n"
)

func TestUnitsOwned(t *testing.T) {
	m := metrics.New(metrics.Options{})
	want := func(n string) string { return helpOwned + "freshchat_connector_units_owned " + n + "\n" }
	require.NoError(t, testutil.GatherAndCompare(m.Registry(), strings.NewReader(want("0")), "freshchat_connector_units_owned"),
		"exported before the first rebalance")
	m.SetUnitsOwned(5)
	assert.NoError(t, testutil.GatherAndCompare(m.Registry(), strings.NewReader(want("5")), "freshchat_connector_units_owned"))
	m.SetUnitsOwned(-1)
	assert.NoError(t, testutil.GatherAndCompare(m.Registry(), strings.NewReader(want("0")), "freshchat_connector_units_owned"))
	m.SetUnits([]string{"Message-Sent", "acme/Message-Sent", "acme/Message-Sent"})
	assert.NoError(t, testutil.GatherAndCompare(m.Registry(), strings.NewReader(want("2")), "freshchat_connector_units_owned"),
		"SetUnits counts distinct units")
}

// SetUnits after a rebalance: the gained units start, the lost ones stop
// reporting their gauges and status, the counters stay.
func TestSetUnitsFollowsTheRebalance(t *testing.T) {
	c := newClock(t0)
	var r metrics.Readiness
	r.SetConnected(true)
	m := metrics.New(metrics.Options{Readiness: &r, Now: c.Now})
	m.InitEvents("Message-Sent", "acme/Message-Sent")
	m.WindowCommitted("Message-Sent", t0.Add(-time.Hour))
	m.WindowCommitted("acme/Message-Sent", t0.Add(-2*time.Hour))
	m.EventFailed("Message-Sent", errors.New("kafka: broker down"))

	// A rebalance takes Message-Sent away and gives acme/CSAT-Score.
	c.Set(t0.Add(10 * time.Minute))
	m.SetUnits([]string{"acme/Message-Sent", "acme/CSAT-Score"})
	want := helpFresh + `freshchat_connector_freshness_seconds{account="acme",event="Message-Sent"} 7800
` + helpWindows + `freshchat_connector_windows_committed_total{account="acme",event="CSAT-Score"} 0
freshchat_connector_windows_committed_total{account="acme",event="Message-Sent"} 1
freshchat_connector_windows_committed_total{account="default",event="Message-Sent"} 1
`
	assert.NoError(t, testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"freshchat_connector_freshness_seconds", "freshchat_connector_windows_committed_total"),
		"the lost unit's freshness is its new owner's to report; its counter stays; the gained unit's series exist at zero")
	assert.Equal(t, map[string]metrics.EventStatus{
		"acme/Message-Sent": {State: metrics.StateBackfill},
		"acme/CSAT-Score":   {State: metrics.StateBackfill},
	}, m.Events())
	assert.NoError(t, r.Check(t0.Add(30*time.Minute), 30*time.Minute),
		"the gained unit's stuck clock starts at the rebalance, the lost unit's is gone")
	assert.EqualError(t, r.Check(t0.Add(41*time.Minute), 30*time.Minute),
		"stuck: acme/CSAT-Score no progress for 31m0s; acme/Message-Sent no progress for 41m0s")

	// Message-Sent comes back: it starts afresh, not in the failed state
	// it left in, and with the freshness of its last commit here.
	m.SetUnits([]string{"Message-Sent"})
	assert.Equal(t, metrics.StateBackfill, m.Events()["Message-Sent"].State)
	assert.Equal(t, "kafka: broker down", m.Events()["Message-Sent"].LastError, "the last error stays")
	assert.Equal(t, metrics.StateBackfill, stateOf(t, m, "Message-Sent"))
	n, err := testutil.GatherAndCount(m.Registry(), "freshchat_connector_event_state")
	require.NoError(t, err)
	assert.Equal(t, len(metrics.States), n, "event_state only for the owned unit")

	// A standby owns nothing and exports no unit gauge.
	m.SetUnits(nil)
	assert.Empty(t, m.Events())
	n, err = testutil.GatherAndCount(m.Registry(), "freshchat_connector_freshness_seconds", "freshchat_connector_event_state")
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.NoError(t, r.Check(t0.Add(24*time.Hour), 30*time.Minute), "a standby is ready")
}

func TestRebalanced(t *testing.T) {
	m := metrics.New(metrics.Options{})
	m.Rebalanced(3, 0)
	m.Rebalanced(0, 0)
	m.Rebalanced(1, 2)
	m.Rebalanced(-1, -1)
	want := helpRebalances + "freshchat_connector_rebalances_total 4\n" +
		helpMoved + `freshchat_connector_units_moved_total{direction="gained"} 4
freshchat_connector_units_moved_total{direction="lost"} 2
`
	assert.NoError(t, testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"freshchat_connector_rebalances_total", "freshchat_connector_units_moved_total"))
}

func TestAccountUp(t *testing.T) {
	c := newClock(t0)
	m := metrics.New(metrics.Options{Now: c.Now})
	m.InitEvents("Message-Sent", "acme/Message-Sent", "acme/CSAT-Score")
	want := helpAccountUp + `freshchat_connector_account_up{account="acme"} 1
freshchat_connector_account_up{account="default"} 1
`
	require.NoError(t, testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "freshchat_connector_account_up"),
		"every account of the units starts up")

	c.Set(t0.Add(time.Minute))
	m.AccountFailed("acme", errors.New("freshchat API refuses the token (401 Unauthorized): invalid token"))
	m.InitEvents("acme/Agent-Activity") // a later unit of a failed account does not bring it back
	m.AccountFailed("globex", nil)
	want = helpAccountUp + `freshchat_connector_account_up{account="acme"} 0
freshchat_connector_account_up{account="default"} 1
freshchat_connector_account_up{account="globex"} 0
`
	require.NoError(t, testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "freshchat_connector_account_up"))
	at := t0.Add(time.Minute)
	assert.Equal(t, map[string]metrics.AccountStatus{
		"acme":    {Up: false, LastError: "freshchat API refuses the token (401 Unauthorized): invalid token", FailedAt: &at},
		"default": {Up: true},
		"globex":  {Up: false, LastError: "unknown error", FailedAt: &at},
	}, m.Accounts())

	m.AccountOK("acme")
	want = helpAccountUp + `freshchat_connector_account_up{account="acme"} 1
freshchat_connector_account_up{account="default"} 1
freshchat_connector_account_up{account="globex"} 0
`
	assert.NoError(t, testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "freshchat_connector_account_up"))
	assert.Equal(t, metrics.AccountStatus{Up: true}, m.Accounts()["acme"])
}

func TestNilMetricsUnitsAreNoOps(t *testing.T) {
	var m *metrics.Metrics
	assert.NotPanics(t, func() {
		m.SetUnitsOwned(1)
		m.SetUnits([]string{"Message-Sent"})
		m.Rebalanced(1, 1)
		m.AccountFailed("acme", assert.AnError)
		m.AccountOK("acme")
		assert.Nil(t, m.Accounts())
	})
}

// The per-unit calls stay allocation-free for another account's unit.
func TestPerChunkCallsDoNotAllocateForAccounts(t *testing.T) {
	var r metrics.Readiness
	m := metrics.New(metrics.Options{Readiness: &r})
	m.SetUnits([]string{"acme/Message-Sent"})
	allocs := testing.AllocsPerRun(200, func() {
		m.ChunkCommitted("acme/Message-Sent", 100, 99, 1)
		m.WindowCommitted("acme/Message-Sent", t0)
	})
	assert.Zero(t, allocs)
}
