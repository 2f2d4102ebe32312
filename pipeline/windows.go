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

// end is where a bounded range ends, at the millisecond precision of
// windows (and so of checkpoints).
func (p Planner) end() time.Time { return p.To.UTC().Truncate(time.Millisecond) }

// Reached reports whether a bounded walk whose cursor is at cursor has
// reached the end of its range.
func (p Planner) Reached(cursor time.Time) bool {
	return !p.To.IsZero() && !cursor.UTC().Truncate(time.Millisecond).Before(p.end())
}

// Plan returns the next window starting at cursor. done is true when a
// bounded walk is over. In live mode a window that cannot be extracted yet
// has ready set to the moment it can.
func (p Planner) Plan(cursor, now time.Time) (w source.Window, ready time.Time, done bool) {
	cursor = cursor.UTC().Truncate(time.Millisecond)
	end := cursor.Add(p.Window)
	// The API refuses an (inclusive) end more than a calendar month after
	// the start; a 31-day window from 1 February would be one, and so would
	// one from 31 January (see monthAfter).
	month := monthAfter(cursor)
	if end.After(month) {
		end = month
	}
	if !p.To.IsZero() {
		to := p.end()
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
	full := end.Equal(cursor.Add(p.Window)) || end.Equal(month)
	if full || end.Sub(cursor) >= p.MinWindow {
		return source.Window{Start: cursor, End: end}, now, false
	}
	// Too short yet: extractable once MinWindow of settled time exists.
	ready = cursor.Add(p.MinWindow).Add(p.Settle)
	return source.Window{Start: cursor, End: cursor.Add(p.MinWindow)}, ready, false
}

// monthAfter returns t one calendar month later: the same time of day on
// the same day of the next month, or on that month's last day when it is
// shorter. 31 January gives 28 February (29 in a leap year), 31 March gives
// 30 April, where t.AddDate(0, 1, 0) would give 3 March and 1 May: a window
// from 31 January to 3 March is more than a calendar month long.
func monthAfter(t time.Time) time.Time {
	next := t.AddDate(0, 1, 0)
	if next.Day() != t.Day() {
		// AddDate carried a day the next month lacks into the month after:
		// step back to the last day of the next month.
		next = next.AddDate(0, 0, -next.Day())
	}
	return next
}
