package metrics

import "time"

// Event states, the values of event_state's state label.
const (
	// StateBackfill: the event is catching up, window after window, and
	// has not yet waited for a live window (a bounded run stays in it).
	StateBackfill = "backfill"
	// StateLive: the event caught up once and extracts a live window.
	StateLive = "live"
	// StateWaiting: the event waits for its next live window to settle.
	StateWaiting = "waiting"
	// StateFailed: the event's last window failed (EventFailed); it is
	// retried from the last commit, and the next progress ends the state.
	StateFailed = "failed"
	// StateDone: the bounded range is extracted.
	StateDone = "done"
)

// States lists every event state, in event_state's order.
var States = []string{StateBackfill, StateLive, StateWaiting, StateFailed, StateDone}

// EventStatus is one event's state as the pipeline's calls tell it.
type EventStatus struct {
	// State is one of States.
	State string `json:"state"`
	// LastError is the error of the event's last failed window, and
	// LastErrorAt when it failed; empty and nil when none failed since
	// the process started. They stay after the event recovers.
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
}

// EventFailed records that a window of event failed with err: the event is
// in StateFailed until its next progress, err is its last error, and
// event_failures_total counts it. The pipeline calls it whether the window
// is retried or the failure ends the run.
func (m *Metrics) EventFailed(event string, err error) {
	if m == nil {
		return
	}
	s := m.series(event)
	s.failures.Inc()
	msg := "unknown error"
	if err != nil {
		msg = err.Error()
	}
	s.mu.Lock()
	s.state, s.lastError, s.lastErrorAt = StateFailed, msg, m.now()
	s.mu.Unlock()
}

// Events returns the status at now of every unit this instance owns (see
// SetUnits; before it, every unit it knows), by unit key.
func (m *Metrics) Events() map[string]EventStatus {
	if m == nil {
		return nil
	}
	now := m.now()
	events := m.ownedSeries()
	out := make(map[string]EventStatus, len(events))
	for ev, s := range events {
		s.mu.Lock()
		st := EventStatus{State: s.stateAt(now), LastError: s.lastError}
		if !s.lastErrorAt.IsZero() {
			at := s.lastErrorAt
			st.LastErrorAt = &at
		}
		s.mu.Unlock()
		out[ev] = st
	}
	return out
}

// progressed ends a failed or waiting state (and done: an event that moves
// again has work): the event is live once it has caught up, else it
// backfills.
func (s *eventSeries) progressed() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.caughtUp {
		s.state = StateLive
	} else {
		s.state = StateBackfill
	}
}

// stateAt is the state at now: a wait whose end has passed is live work
// (the next window is being submitted). s.mu must be held.
func (s *eventSeries) stateAt(now time.Time) string {
	if s.state == StateWaiting && !now.Before(s.waitUntil) {
		return StateLive
	}
	return s.state
}
