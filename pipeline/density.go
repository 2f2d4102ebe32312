package pipeline

import (
	"time"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/source"
)

// Density estimates how many rows an event has per hour, from the windows
// read so far: what sizes its adaptive windows (see Planner).
type Density struct {
	PerHour float64
	// Known is false until a window was read.
	Known bool
}

// Observe returns the estimate updated with a window of w that held rows.
//
// The estimate leans towards the dense side, so that a window sized by it
// seldom holds much more than the planner's target: after a denser window
// it is that window's density, after a sparser one it comes down halfway
// (an average weighted 1:1 with the estimate before).
func (d Density) Observe(rows int64, w source.Window) Density {
	hours := w.End.Sub(w.Start).Hours()
	if hours <= 0 || rows < 0 {
		return d
	}
	seen := float64(rows) / hours
	if !d.Known {
		return Density{PerHour: seen, Known: true}
	}
	return Density{PerHour: max(seen, (d.PerHour+seen)/2), Known: true}
}

// DensityOf is the density a committed position shows: that of its
// window, when it is done.
func DensityOf(p checkpoint.Position) Density {
	if !p.Done || !p.WindowEnd.After(p.WindowStart) {
		return Density{}
	}
	return Density{}.Observe(p.Rows, source.Window{Start: p.WindowStart, End: p.WindowEnd})
}

// Rows is how many rows d expects in a span of span.
func (d Density) Rows(span time.Duration) float64 {
	return d.PerHour * span.Hours()
}
