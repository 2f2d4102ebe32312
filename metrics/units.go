package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/freshstream/freshchat-kafka/checkpoint"
)

// Directions of units_moved_total's direction label.
const (
	DirectionGained = "gained"
	DirectionLost   = "lost"
)

// unitMetrics are the families that say which share of the group's work
// an instance has, and whether each account's API accepts its token.
type unitMetrics struct {
	owned      prometheus.Gauge
	accountUp  *prometheus.GaugeVec
	rebalances prometheus.Counter
	moved      *prometheus.CounterVec
	gained     prometheus.Counter
	lost       prometheus.Counter

	mu       sync.Mutex
	accounts map[string]*AccountStatus
}

func newUnitMetrics() *unitMetrics {
	u := &unitMetrics{
		owned: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "units_owned",
			Help: "Units of work (account, event) this instance owns: the group assigns each unit to one live instance; 0 on a standby.",
		}),
		accountUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "account_up",
			Help: "1 while the account's units work, 0 once its Freshchat API refused the token (401, 403): its units stop, the other accounts' go on.",
		}, []string{"account"}),
		rebalances: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "rebalances_total",
			Help: "Rebalances of the group this instance took part in, whether or not its units changed.",
		}),
		moved: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "units_moved_total",
			Help: "Units this instance gained or lost in rebalances, by direction (gained, lost).",
		}, []string{"direction"}),
		accounts: map[string]*AccountStatus{},
	}
	u.gained = u.moved.WithLabelValues(DirectionGained)
	u.lost = u.moved.WithLabelValues(DirectionLost)
	return u
}

// AccountStatus is one account's state as AccountFailed and AccountOK tell
// it.
type AccountStatus struct {
	// Up is false once the account's API refused the token, until
	// AccountOK.
	Up bool `json:"up"`
	// LastError is the error AccountFailed was given, and FailedAt when;
	// empty and nil while the account is up.
	LastError string     `json:"last_error,omitempty"`
	FailedAt  *time.Time `json:"failed_at,omitempty"`
}

// knowAccount exports account_up as 1 for an account not known yet.
func (u *unitMetrics) knowAccount(account string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, ok := u.accounts[account]; !ok {
		u.accounts[account] = &AccountStatus{Up: true}
		u.accountUp.WithLabelValues(account).Set(1)
	}
}

// SetUnitsOwned sets units_owned, the number of units this instance owns.
// SetUnits sets it too; call this one alone where ownership is not
// otherwise tracked.
func (m *Metrics) SetUnitsOwned(n int) {
	if m == nil {
		return
	}
	m.units.owned.Set(float64(max(n, 0)))
}

// SetUnits says which units this instance owns now (unit keys, see
// checkpoint.UnitKey), replacing what an earlier call said: call it after
// every rebalance, with no keys on a standby. It
//   - sets units_owned;
//   - does what InitEvents does for each unit not owned before (its series
//     at zero, its stuck clock started now, its account known);
//   - stops exporting freshness, position, backfill remaining and
//     event_state of units no longer owned, and leaves them out of
//     Events(): they are their new owner's to report. Their counters stay,
//     flat, so that rates across instances add up; a unit gained back
//     starts in StateBackfill;
//   - passes the keys to the Readiness (Readiness.SetUnits), which then
//     judges only these units stuck.
//
// Before the first call every unit the pipeline names is this instance's.
func (m *Metrics) SetUnits(keys []string) {
	if m == nil {
		return
	}
	owned := make(map[string]bool, len(keys))
	for _, k := range keys {
		owned[k] = true
	}
	m.mu.Lock()
	before := m.owned
	if before == nil {
		before = map[string]bool{}
		for k := range m.events {
			before[k] = true
		}
	}
	var gained []string
	for k := range owned {
		if !before[k] {
			gained = append(gained, k)
		}
	}
	for k := range before {
		if s := m.events[k]; s != nil && !owned[k] {
			s.release()
		}
	}
	m.owned = owned
	m.mu.Unlock()

	m.units.owned.Set(float64(len(owned)))
	m.ready.SetUnits(keys)
	m.InitEvents(gained...)
}

// release forgets the state of a unit that moved to another instance.
func (s *eventSeries) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state, s.caughtUp, s.waitUntil = StateBackfill, false, time.Time{}
}

// Rebalanced records one completed rebalance of the group, in which this
// instance gained and lost the given numbers of units (either may be 0):
// rebalances_total counts it, units_moved_total the units. Negative counts
// are ignored.
func (m *Metrics) Rebalanced(gained, lost int) {
	if m == nil {
		return
	}
	m.units.rebalances.Inc()
	add(m.units.gained, int64(gained))
	add(m.units.lost, int64(lost))
}

// AccountFailed records that account's Freshchat API refused its token
// (401, 403), err saying how: account_up is 0, and the Readiness no longer
// judges the account's units stuck (they are stopped, and account_up and
// its alert say why), until AccountOK.
func (m *Metrics) AccountFailed(account string, err error) {
	if m == nil {
		return
	}
	msg := "unknown error"
	if err != nil {
		msg = err.Error()
	}
	at := m.now()
	m.units.mu.Lock()
	m.units.accounts[account] = &AccountStatus{Up: false, LastError: msg, FailedAt: &at}
	m.units.accountUp.WithLabelValues(account).Set(0)
	m.units.mu.Unlock()
	m.ready.accountDown(account, true)
}

// AccountOK records that account works (its token is accepted again, or
// it starts): account_up is 1.
func (m *Metrics) AccountOK(account string) {
	if m == nil {
		return
	}
	m.units.mu.Lock()
	m.units.accounts[account] = &AccountStatus{Up: true}
	m.units.accountUp.WithLabelValues(account).Set(1)
	m.units.mu.Unlock()
	m.ready.accountDown(account, false)
}

// Accounts returns every known account's status, by account name: those
// of the units InitEvents or SetUnits named, and those AccountFailed or
// AccountOK named.
func (m *Metrics) Accounts() map[string]AccountStatus {
	if m == nil {
		return nil
	}
	m.units.mu.Lock()
	defer m.units.mu.Unlock()
	out := make(map[string]AccountStatus, len(m.units.accounts))
	for name, st := range m.units.accounts {
		c := *st
		if c.FailedAt != nil {
			at := *c.FailedAt
			c.FailedAt = &at
		}
		out[name] = c
	}
	return out
}

// accountOf is the account of a unit key.
func accountOf(key string) string {
	account, _ := checkpoint.SplitKey(key)
	return account
}
