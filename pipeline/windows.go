package pipeline

import (
	"math"
	"time"

	"github.com/freshstream/freshchat-kafka/source"
)

// Planner decides the windows an event walks through.
//
// Windows are half-open [start, end) at millisecond precision; each one
// starts where the previous ended, so they neither overlap nor leave a gap.
//
// With TargetRows set, windows adapt to the event: each is as long as the
// event's row density (see Density) says holds TargetRows rows, at most
// MaxWindow and never more than a calendar month (the API's limit). An
// event whose density is not known yet starts with a window of Window.
// Without TargetRows every window is Window long: the fixed plan.
type Planner struct {
	// Window is the first window of an event whose density is not known
	// yet, and every window when TargetRows is 0.
	Window time.Duration
	// MaxWindow is the longest adaptive window (0: Window). No window ends
	// more than a calendar month after its start, whatever it is.
	MaxWindow time.Duration
	// TargetRows is how many rows an adaptive window aims to hold; 0 turns
	// adaptive windows off.
	TargetRows int64
	// MinWindow is, in live mode, the shortest window worth extracting.
	MinWindow time.Duration
	// Settle is, in live mode, how long after a window's end the connector
	// waits before extracting it, so late rows are in the report.
	Settle time.Duration
	// To, when not zero, bounds the walk: no window reaches past it, and the
	// walk is over once the cursor reaches it.
	To time.Time
	// Earliest, when set, is the earliest window start the API accepts when
	// the clock reads now (source.Client.EarliestAt): a cursor before it
	// plans a window that starts there, and the span in between is lost.
	Earliest func(now time.Time) time.Time
}

// Planned is the next window of a walk.
type Planned struct {
	Window source.Window
	// Ready is, in live mode, when Window can be extracted: until then it
	// has not settled. Not after now when it can be extracted now.
	Ready time.Time
	// Done is true when a bounded walk is over (Window is then zero).
	Done bool
	// Lost is the span from the cursor to Window.Start that the API no
	// longer serves (the 15-month limit passed it); zero when none.
	Lost source.Window
}

// minAdaptiveWindow is the shortest window density makes: a denser event
// gets reports over TargetRows.
const minAdaptiveWindow = time.Minute

// end is where a bounded range ends, at the millisecond precision of
// windows (and so of checkpoints).
func (p Planner) end() time.Time { return p.To.UTC().Truncate(time.Millisecond) }

// Reached reports whether a bounded walk whose cursor is at cursor has
// reached the end of its range.
func (p Planner) Reached(cursor time.Time) bool {
	return !p.To.IsZero() && !cursor.UTC().Truncate(time.Millisecond).Before(p.end())
}

// Plan returns the next window starting at cursor for an event whose
// density is not known. done is true when a bounded walk is over. In live
// mode a window that cannot be extracted yet has ready set to the moment it
// can.
func (p Planner) Plan(cursor, now time.Time) (w source.Window, ready time.Time, done bool) {
	n := p.Next(cursor, now, Density{})
	return n.Window, n.Ready, n.Done
}

// Next returns the next window starting at cursor, sized for density d.
func (p Planner) Next(cursor, now time.Time, d Density) Planned {
	cursor = cursor.UTC().Truncate(time.Millisecond)
	var lost source.Window
	if p.Earliest != nil {
		if earliest := p.Earliest(now).UTC().Truncate(time.Millisecond); cursor.Before(earliest) {
			lost = source.Window{Start: cursor, End: earliest}
			cursor = earliest
		}
	}
	size := p.size(d)
	end := cursor.Add(size)
	if size < p.longest() {
		end = roundDown(cursor, end)
	}
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
			if lost.End.After(to) {
				lost.End = to
			}
			return Planned{Done: true, Lost: lost}
		}
		if end.After(to) {
			end = to
		}
		return Planned{Window: source.Window{Start: cursor, End: end}, Ready: cursor, Lost: lost}
	}
	// Live windows end on whole seconds: easier to read, and no less exact.
	limit := now.Add(-p.Settle).UTC().Truncate(time.Second)
	full := end
	if end.After(limit) {
		end = limit
	}
	if end.Equal(full) || end.Sub(cursor) >= p.MinWindow {
		return Planned{Window: source.Window{Start: cursor, End: end}, Ready: now, Lost: lost}
	}
	// Too short yet: extractable once MinWindow of settled time exists.
	return Planned{
		Window: source.Window{Start: cursor, End: cursor.Add(p.MinWindow)},
		Ready:  cursor.Add(p.MinWindow).Add(p.Settle),
		Lost:   lost,
	}
}

// adaptive says whether windows follow the density.
func (p Planner) adaptive() bool { return p.TargetRows > 0 }

// longest is the longest window the planner makes.
func (p Planner) longest() time.Duration {
	if p.adaptive() && p.MaxWindow > 0 {
		return p.MaxWindow
	}
	return p.Window
}

// size is the length of the next window for density d.
func (p Planner) size(d Density) time.Duration {
	if !p.adaptive() {
		return p.Window
	}
	longest := p.longest()
	if !d.Known {
		return min(p.Window, longest)
	}
	if d.PerHour <= 0 {
		return longest
	}
	hours := float64(p.TargetRows) / d.PerHour
	if hours >= longest.Hours() || hours >= math.MaxInt64/float64(time.Hour) {
		return longest
	}
	return max(time.Duration(hours*float64(time.Hour)), min(minAdaptiveWindow, longest))
}

// roundDown moves an adaptive window's end back to a whole hour (or, for
// windows under two hours, a whole minute), so that windows are easy to
// read; it never takes more than half of the window.
func roundDown(start, end time.Time) time.Time {
	unit := time.Hour
	if end.Sub(start) < 2*time.Hour {
		unit = time.Minute
	}
	if r := end.Truncate(unit); r.Sub(start) > end.Sub(start)/2 {
		return r
	}
	return end
}

// minSplitWindow is the shortest window split when its report is too large.
const minSplitWindow = time.Hour

// Split halves w, whose report was too large (refused, or failed again and
// again): first is its first part, ending on a whole hour (or minute) when
// that keeps it more than a quarter of w, rest the remainder. ok is false
// when w is an hour or shorter: it is not split.
func Split(w source.Window) (first, rest source.Window, ok bool) {
	span := w.End.Sub(w.Start)
	if span <= minSplitWindow {
		return w, source.Window{}, false
	}
	mid := roundDown(w.Start, w.Start.Add(span/2).Truncate(time.Millisecond))
	return source.Window{Start: w.Start, End: mid}, source.Window{Start: mid, End: w.End}, true
}

// Windows returns the windows of a walk from from to to for density d,
// at most limit of them (the last one then ends before to). Live settling
// and the history limit do not apply: it is an estimate. With adaptive
// windows and an unknown density, the windows after the first are assumed
// to be as long as they can (max_window): sparse enough for that.
func (p Planner) Windows(from, to time.Time, d Density, limit int) []source.Window {
	q := p
	q.To, q.Earliest = to, nil
	var out []source.Window
	for cursor := from; len(out) < limit; {
		n := q.Next(cursor, to, d)
		if n.Done {
			break
		}
		out = append(out, n.Window)
		cursor = n.Window.End
		if !d.Known {
			d = Density{Known: true}
		}
	}
	return out
}

// Count estimates how many windows a walk from from to to takes for
// density d. Long walks of short windows are extrapolated from their first
// thousand windows.
func (p Planner) Count(from, to time.Time, d Density) int {
	const sample = 1000
	ws := p.Windows(from, to, d, sample)
	if len(ws) < sample {
		return len(ws)
	}
	walked := ws[len(ws)-1].End.Sub(from)
	left := to.Sub(ws[len(ws)-1].End)
	return len(ws) + int(math.Ceil(float64(len(ws))*float64(left)/float64(walked)))
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
