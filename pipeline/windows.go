package pipeline

import (
	"time"

	"github.com/freshstream/freshchat-kafka/source"
)

// Planner decides the windows an event walks through.
//
// Windows are half-open [start, end) at millisecond precision; each one
// starts where the previous ended, so they neither overlap nor leave a gap.
type Planner struct {
	// Window is the largest window extracted at once.
	Window time.Duration
	// MinWindow is, in live mode, the shortest window worth extracting.
	MinWindow time.Duration
	// Settle is, in live mode, how long after a window's end the connector
	// waits before extracting it, so late rows are in the report.
	Settle time.Duration
	// To, when not zero, bounds the walk: no window reaches past it, and the
	// walk is over once the cursor reaches it.
	To time.Time
}

// Plan returns the next window starting at cursor. done is true when a
// bounded walk is over. In live mode a window that cannot be extracted yet
// has ready set to the moment it can.
func (p Planner) Plan(cursor, now time.Time) (w source.Window, ready time.Time, done bool) {
	cursor = cursor.UTC().Truncate(time.Millisecond)
	end := cursor.Add(p.Window)
	// The API refuses an (inclusive) end more than a calendar month after
	// the start; a 31-day window from 1 February would be one.
	if limit := cursor.AddDate(0, 1, 0); end.After(limit) {
		end = limit
	}
	if !p.To.IsZero() {
		to := p.To.UTC().Truncate(time.Millisecond)
		if !cursor.Before(to) {
			return source.Window{}, time.Time{}, true
		}
		if end.After(to) {
			end = to
		}
		return source.Window{Start: cursor, End: end}, cursor, false
	}
	// Live windows end on whole seconds: easier to read, and no less exact.
	limit := now.Add(-p.Settle).UTC().Truncate(time.Second)
	if end.After(limit) {
		end = limit
	}
	full := end.Equal(cursor.Add(p.Window)) || end.Equal(cursor.AddDate(0, 1, 0))
	if full || end.Sub(cursor) >= p.MinWindow {
		return source.Window{Start: cursor, End: end}, now, false
	}
	// Too short yet: extractable once MinWindow of settled time exists.
	ready = cursor.Add(p.MinWindow).Add(p.Settle)
	return source.Window{Start: cursor, End: cursor.Add(p.MinWindow)}, ready, false
}
