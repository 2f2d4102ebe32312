package metrics

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/freshstream/freshchat-kafka/source"
)

// ErrNotConnected is Check's answer until SetConnected(true).
var ErrNotConnected = errors.New("not connected to Kafka")

// Readiness tracks whether the connector does its job: it is connected to
// Kafka, not fenced by another instance, and no event with work pending is
// stuck. The zero Readiness is ready for use (and not connected); a nil
// *Readiness ignores every call and is always ready.
//
// Events are units of work, named by their unit key (checkpoint.UnitKey).
// An event is tracked from its first Progressed or Waiting call. It is stuck
// when it made no progress for longer than stuckAfter, counting from its
// last progress or from the end of its last wait, whichever is later: an
// event idle until its next live window settles is not stuck, and one that
// has not resumed stuckAfter past that moment is. An event marked Done is
// never stuck, nor is one of an account whose token was refused
// (Metrics.AccountFailed: it is stopped, and account_up says why).
//
// In a group, only the units the instance owns count (SetUnits): a standby
// that owns none is ready once connected.
type Readiness struct {
	mu        sync.Mutex
	connected bool
	lost      time.Time // since when Kafka is unreachable (SetUnreachable); zero otherwise
	lostCause error     // the last failure to reach it
	fenced    error
	events    map[string]*eventReadiness
	units     map[string]bool         // the owned units (SetUnits); nil: every tracked one
	down      map[string]bool         // accounts whose token was refused
	api       func() source.APIHealth // the Freshchat API's health (WatchAPI); nil: not judged
	apiGrace  time.Duration
}

type eventReadiness struct {
	progressed, waitUntil time.Time
	done                  bool
}

// StuckError is Check's answer when events are stuck.
type StuckError struct {
	// Since is, for every stuck event, how long it has made no progress.
	Since map[string]time.Duration
}

func (e *StuckError) Error() string {
	events := make([]string, 0, len(e.Since))
	for ev := range e.Since {
		events = append(events, ev)
	}
	slices.Sort(events)
	parts := make([]string, len(events))
	for i, ev := range events {
		parts[i] = fmt.Sprintf("%s no progress for %s", ev, e.Since[ev].Round(time.Second))
	}
	return "stuck: " + strings.Join(parts, "; ")
}

// SetConnected records whether the connector is connected to Kafka: true
// once its producers are initialised (a standby, which has none: once it
// joined the group), false while it cannot reach Kafka
// (SetUnreachable says so with the cause). Either call clears what
// SetUnreachable recorded.
func (r *Readiness) SetConnected(ok bool) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.connected = ok
	r.lost, r.lostCause = time.Time{}, nil
	r.mu.Unlock()
}

// SetUnreachable records that the connector has been unable to reach Kafka
// since since, cause being the last failure: Check answers ErrNotConnected
// wrapped with how long and why, until SetConnected(true).
func (r *Readiness) SetUnreachable(since time.Time, cause error) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.connected = false
	r.lost, r.lostCause = since, cause
	r.mu.Unlock()
}

// SetFenced records that another instance took over (err says how); a nil
// err is ignored, since fencing is final.
func (r *Readiness) SetFenced(err error) {
	if r == nil || err == nil {
		return
	}
	r.mu.Lock()
	if r.fenced == nil {
		r.fenced = err
	}
	r.mu.Unlock()
}

// WatchAPI makes Check fail while health describes a Freshchat API that is
// not ready (see APIProblem with grace): one that refuses the token, or has
// failed for longer than grace. A later call replaces the function; nil
// stops judging the API. health is called at every Check, outside r's lock.
func (r *Readiness) WatchAPI(health func() source.APIHealth, grace time.Duration) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.api, r.apiGrace = health, grace
	r.mu.Unlock()
}

// SetUnits says which units (unit keys) this instance owns now, replacing
// what an earlier call said: Check judges only these stuck, and the units
// not among them are forgotten (their clocks start again if they come
// back). A unit's clock starts with its first Progressed or Waiting, which
// Metrics.InitEvents and Metrics.SetUnits call. No keys: a standby, which
// has no unit to be stuck. Before the first call every tracked unit counts.
func (r *Readiness) SetUnits(keys []string) {
	if r == nil {
		return
	}
	units := make(map[string]bool, len(keys))
	for _, k := range keys {
		units[k] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.units = units
	for name := range r.events {
		if !units[name] {
			delete(r.events, name)
		}
	}
}

// accountDown records whether account's token was refused: its units are
// never stuck while it is.
func (r *Readiness) accountDown(account string, down bool) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !down {
		delete(r.down, account)
		return
	}
	if r.down == nil {
		r.down = map[string]bool{}
	}
	r.down[account] = true
}

// Progressed records that the event moved forward at at (a commit, a
// submitted or completed report). The event is no longer Done.
func (r *Readiness) Progressed(event string, at time.Time) {
	if r == nil {
		return
	}
	r.mu.Lock()
	e := r.event(event)
	e.progressed = later(e.progressed, at)
	e.done = false
	r.mu.Unlock()
}

// Waiting records that the event is idle, by design, until until (its next
// live window settles then).
func (r *Readiness) Waiting(event string, until time.Time) {
	if r == nil {
		return
	}
	r.mu.Lock()
	e := r.event(event)
	e.waitUntil = until
	e.done = false
	r.mu.Unlock()
}

// Done records that the event has no work left (its bounded range is
// extracted): it is never stuck until it progresses again.
func (r *Readiness) Done(event string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.event(event).done = true
	r.mu.Unlock()
}

func (r *Readiness) event(name string) *eventReadiness {
	if r.events == nil {
		r.events = map[string]*eventReadiness{}
	}
	e := r.events[name]
	if e == nil {
		e = &eventReadiness{}
		r.events[name] = e
	}
	return e
}

// Check returns nil when the connector is ready at now, otherwise why not:
// the fencing error wrapped ("fenced by another instance: ..."),
// the Freshchat API's problem (see WatchAPI and APIProblem),
// ErrNotConnected (wrapped with how long and why after SetUnreachable), or a
// *StuckError naming every owned event (SetUnits) that made no progress
// for longer than stuckAfter. stuckAfter <= 0 disables the stuck check.
func (r *Readiness) Check(now time.Time, stuckAfter time.Duration) error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	health, grace := r.api, r.apiGrace
	r.mu.Unlock()
	var apiErr error
	if health != nil {
		apiErr = APIProblem(health(), now, grace)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fenced != nil {
		return fmt.Errorf("fenced by another instance: %w", r.fenced)
	}
	if apiErr != nil {
		// Before Kafka's state: at start the API is checked first, and
		// its problem is the one to fix.
		return apiErr
	}
	if !r.connected {
		if !r.lost.IsZero() {
			return fmt.Errorf("%w: brokers unreachable for %s (last error: %v)", ErrNotConnected, max(now.Sub(r.lost), 0).Round(time.Second), r.lostCause)
		}
		return ErrNotConnected
	}
	if stuckAfter <= 0 {
		return nil
	}
	var stuck map[string]time.Duration
	for name, e := range r.events {
		if e.done || r.units != nil && !r.units[name] || r.down[accountOf(name)] {
			continue
		}
		if idle := now.Sub(later(e.progressed, e.waitUntil)); idle > stuckAfter {
			if stuck == nil {
				stuck = map[string]time.Duration{}
			}
			stuck[name] = idle
		}
	}
	if stuck != nil {
		return &StuckError{Since: stuck}
	}
	return nil
}

// Probe returns a readiness function for NewServer: Check at the current
// time with stuckAfter.
func (r *Readiness) Probe(stuckAfter time.Duration) func() error {
	return func() error { return r.Check(time.Now(), stuckAfter) }
}
