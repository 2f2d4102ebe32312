package plan

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/source"
	"github.com/freshstream/freshchat-kafka/termview"
)

// Print writes the plan as a table per account, with the assumptions it
// rests on, the comparison with fixed windows when there is one, and what
// the 15-month limit takes when the plan starts near it.
func (p *Plan) Print(w io.Writer) error {
	c := p.cfg
	window := "a calendar month"
	if c.Backfill.MaxWindow != config.MaxWindowMonth {
		window = c.Backfill.MaxWindow.String()
	}
	fmt.Fprintf(w, "Backfill plan from %s to %s", fmtTime(p.from), fmtTime(p.to))
	if c.Bounded == nil {
		fmt.Fprintf(w, " (now − settle)")
	}
	fmt.Fprintln(w)
	if c.Backfill.TargetReportRows > 0 {
		fmt.Fprintf(w, "Windows: up to %s, sized for %s rows a report (an event's first window, its density unknown: %s).\n",
			window, termview.Digits(int64(c.Backfill.TargetReportRows)), fmtDuration(c.Window))
	} else {
		fmt.Fprintf(w, "Windows: %s each (target_report_rows is 0).\n", fmtDuration(c.Window))
	}
	fmt.Fprintf(w, "Reports ahead: %d an event. Report latency assumed: %s (--latency). Checkpoints: %s.\n\n",
		c.Backfill.ReportsAhead, p.latency, p.Checkpoints)
	for _, a := range p.accounts {
		b := a.pace.Budgets
		fmt.Fprintf(w, "Account %s: %s, %s.\n", a.name, perMinute(c.Freshchat.SubmitsPerMinute, "submit"), requestBudget(b.Requests))
		row := func(event, from, density, windows, reports, requests, eta string) {
			fmt.Fprintf(w, "%-30s %-20s %9s %8s %8s %13s %10s\n", event, from, density, windows, reports, requests, eta)
		}
		row("EVENT", "FROM", "ROWS/DAY", "WINDOWS", "REPORTS", "API REQUESTS", "ETA")
		var windows, submits, requests int
		var notes []string
		for _, e := range a.events {
			density := "unknown"
			if e.density.Known {
				density = termview.Digits(int64(e.density.PerHour * 24))
			}
			req := e.backlog.Requests(a.pace)
			windows, submits, requests = windows+e.backlog.Windows, submits+e.backlog.Submits(), requests+req
			row(e.event, fmtTime(e.from), density, termview.Digits(int64(e.backlog.Windows)), termview.Digits(int64(e.backlog.Submits())),
				termview.Digits(int64(req)), fmtDuration(e.eta))
			if e.note != "" {
				notes = append(notes, e.event+": "+e.note)
			}
		}
		row("total", "", "", termview.Digits(int64(windows)), termview.Digits(int64(submits)), termview.Digits(int64(requests)), fmtDuration(a.eta))
		for _, n := range notes {
			fmt.Fprintf(w, "  %s\n", n)
		}
		fmt.Fprintln(w)
	}
	if len(p.accounts) > 1 {
		fmt.Fprintf(w, "All accounts (each has its own budgets, all run at once): %s\n", fmtDuration(p.total))
	}
	if p.fixed != nil {
		fmt.Fprintf(w, "With fixed windows of %s, one report at a time (target_report_rows 0, reports_ahead 0), it would take %s reports and %s.\n",
			fmtDuration(c.Window), termview.Digits(int64(p.fixed.Submits())), fmtDuration(p.fixed.total))
	}
	if wait := firstSubmitWait(c); p.from.Before(source.Earliest(p.now).Add(wait + time.Hour)) {
		fmt.Fprintf(w, "Near the 15-month limit an event starts where Freshchat still serves rows when its first report is submitted:\n"+
			"with %s the last of %d events waits about %s for it; the rows of that span are lost, and the run logs them.\n",
			perMinute(c.Freshchat.SubmitsPerMinute, "submit"), len(c.Events), fmtDuration(wait))
	}
	return nil
}

// firstSubmitWait is how long the last event's first submit waits for the
// submit budget when every event starts at once.
func firstSubmitWait(c *config.Config) time.Duration {
	if c.Freshchat.SubmitsPerMinute <= 0 {
		return 0
	}
	return time.Duration(max(len(c.Events)-1, 0)) * time.Minute / time.Duration(c.Freshchat.SubmitsPerMinute)
}

// perMinute names a budget of n whats a minute, or says there is none.
func perMinute(n int, what string) string {
	if n <= 0 {
		return what + "s paced by the request budget alone"
	}
	return fmt.Sprintf("%d %s(s)/min", n, what)
}

// requestBudget names the request budget b, or says there is none.
func requestBudget(b source.BudgetConfig) string {
	if b.PerMinute <= 0 && b.PerDay <= 0 {
		return "requests unlimited"
	}
	return "requests " + b.String()
}

// fmtTime writes t in UTC to the second.
func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// fmtDuration writes d to the minute, with days: "3d4h5m", "2h", "45s".
func fmtDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Minute:
		return d.Round(time.Second).String()
	}
	d = d.Round(time.Minute)
	days, hours, minutes := d/(24*time.Hour), d%(24*time.Hour)/time.Hour, d%time.Hour/time.Minute
	var b strings.Builder
	for _, part := range []struct {
		n    time.Duration
		unit string
	}{{days, "d"}, {hours, "h"}, {minutes, "m"}} {
		if part.n > 0 {
			fmt.Fprintf(&b, "%d%s", part.n, part.unit)
		}
	}
	return b.String()
}
