package source

import (
	"fmt"
	"strings"
	"time"
)

// timeLayout is the API's time format: UTC with milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z"

// Window is a half-open interval [Start, End) at millisecond precision (UTC).
//
// The API's `end` is inclusive, so a request sends end = End - 1ms.
// Consecutive windows (one's End is the next one's Start) therefore neither
// overlap nor leave a gap.
type Window struct{ Start, End time.Time }

// String formats the window as "2024-01-01T00:00:00.000Z/2024-01-02T00:00:00.000Z"
// (Start, then the exclusive End).
func (w Window) String() string {
	return w.Start.UTC().Format(timeLayout) + "/" + w.End.UTC().Format(timeLayout)
}

// Validate reports whether the window can be requested: both bounds set, at
// whole milliseconds, and End after Start.
func (w Window) Validate() error {
	var problems []string
	if w.Start.IsZero() || w.End.IsZero() {
		problems = append(problems, "start and end must both be set")
	}
	if w.Start.Nanosecond()%int(time.Millisecond) != 0 || w.End.Nanosecond()%int(time.Millisecond) != 0 {
		problems = append(problems, "start and end must be whole milliseconds")
	}
	if !w.End.After(w.Start) {
		problems = append(problems, "end must be after start")
	}
	if len(problems) > 0 {
		return fmt.Errorf("invalid window %s: %s", w, strings.Join(problems, "; "))
	}
	return nil
}

// apiStart and apiEnd are the inclusive bounds sent to the API.
func (w Window) apiStart() string { return w.Start.UTC().Format(timeLayout) }
func (w Window) apiEnd() string   { return w.End.Add(-time.Millisecond).UTC().Format(timeLayout) }
