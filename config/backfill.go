package config

import (
	"errors"
	"strings"
	"time"
)

// Backfill shapes how a backfill walks through history: windows sized to
// a target of rows by each event's density, and reports submitted ahead
// of the window being read.
type Backfill struct {
	// MaxWindow is the longest window (MaxWindowMonth: one calendar month,
	// the API's limit). A window never ends more than a calendar month
	// after its start, whatever this is.
	MaxWindow time.Duration
	// TargetReportRows is how many rows a window's report aims to hold; 0
	// turns adaptive windows off (every window is Window long).
	TargetReportRows int
	// ReportsAhead is how many reports each event submits ahead of the
	// window it reads.
	ReportsAhead int
}

// MaxWindowMonth is max_window's "month": 31 days, cut to the calendar
// month by the planner.
const MaxWindowMonth = maxWindow

// Upper bounds of the backfill settings.
const (
	maxTargetReportRows = 1_000_000_000
	maxReportsAhead     = 10
)

// parseMaxWindow reads max_window: "month" or a duration up to 31d.
func parseMaxWindow(c *Config, v string, _ time.Time) error {
	if strings.EqualFold(v, "month") {
		c.Backfill.MaxWindow = MaxWindowMonth
		return nil
	}
	d, err := parseDuration(v)
	if err != nil {
		return errors.New("must be month or a duration such as 7d, at most 31d (744h)")
	}
	if err := positiveAtMost(maxWindow)(d); err != nil {
		return err
	}
	c.Backfill.MaxWindow = d
	return nil
}
