package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/source"
)

const planSynopsis = "plan [--config FILE] [--from TIME] [--to TIME] [--events A,B] [--latency DURATION] [--rows-per-day N] [--timeout DURATION]"

// planCommand prints what a backfill will take: per event and in total,
// the windows and reports, the API requests and the time under the
// configured budgets. It writes nothing anywhere.
func planCommand(ctx context.Context, args []string, s Streams) error {
	fs := commandFlags("plan", planSynopsis, `Prints, per event and in total, what a backfill from --from (or each event's
checkpoint, or start) to --to (or now − settle) takes: the windows and the
reports to submit, the API requests, and the estimated time under the
configured budgets (freshchat.submits_per_minute, requests_per_minute and
requests_per_day) with reports of the latency given. An event with a
checkpoint is planned from where it stands, at the row density of its last
window; the checkpoints are read from Kafka when kafka.brokers is set and
the brokers answer, and the plan is made from the configuration otherwise.
Without a density (--rows-per-day, or a checkpoint), windows after an
event's first are assumed as long as max_window allows. Nothing is written:
not to Kafka, not to Freshchat.

Exit codes: 0 printed, 2 bad usage or configuration.`, s)
	path := fs.String("config", "", "YAML configuration file (every setting also has an environment variable)")
	from := fs.String("from", "", "plan from this instant (RFC 3339, 2006-01-02, or relative like -455d); events with a checkpoint are planned from it")
	to := fs.String("to", "", "plan up to this instant (default now − settle)")
	events := fs.String("events", "", "comma-separated events to plan (default: the configured list)")
	latency := fs.Duration("latency", pipeline.DefaultReportLatency, "assumed time from a report's submit to its completion")
	rowsPerDay := fs.Float64("rows-per-day", 0, "assumed rows per day of every event without a checkpoint to tell (0: unknown)")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to try reading the checkpoints from Kafka")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *latency <= 0 || *timeout <= 0 || *rowsPerDay < 0 {
		return usageError{fmt.Errorf("--latency and --timeout must be positive and --rows-per-day not negative")}
	}
	cfg, err := config.Load(config.LoadOptions{Path: *path, Overrides: config.Overrides{From: *from, To: *to, Events: *events}})
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	positions, origin := planPositions(ctx, cfg, *timeout, s.Err)
	p := buildPlan(cfg, positions, now, *latency, *rowsPerDay)
	p.checkpoints = origin
	if cfg.Backfill.TargetReportRows > 0 || cfg.Backfill.ReportsAhead > 0 {
		fixed := *cfg
		fixed.Backfill.TargetReportRows, fixed.Backfill.ReportsAhead = 0, 0
		p.fixed = buildPlan(&fixed, positions, now, *latency, *rowsPerDay)
	}
	return p.print(s.Out)
}

// planPositions reads the committed positions when brokers are configured
// and answer within timeout; otherwise it says why it plans without them.
// origin describes where the positions came from.
func planPositions(ctx context.Context, cfg *config.Config, timeout time.Duration, errs io.Writer) (positions map[string]checkpoint.Position, origin string) {
	if len(cfg.Kafka.Brokers) == 0 {
		return nil, "none read: kafka.brokers is not set, so every event is planned from the configuration"
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	watch := newSecurityWatch(cfg.Kafka.SASL, nil)
	positions, err := loadPositions(ctx, cfg, watch)
	if err != nil {
		fmt.Fprintf(errs, "connector plan: %v\n", watch.explain(err))
		return nil, "none read (see above): every event is planned from the configuration"
	}
	return positions, fmt.Sprintf("read from %s (%d)", cfg.Kafka.CheckpointTopic, len(positions))
}

// plan is a backfill plan of every configured event.
type plan struct {
	from, to    time.Time // the earliest start of an event, and the end
	now         time.Time
	cfg         *config.Config
	latency     time.Duration
	checkpoints string
	accounts    []accountPlan
	total       time.Duration
	fixed       *plan // the same backfill with fixed windows and no reports ahead, for comparison
}

// submits counts the reports the plan submits.
func (p *plan) submits() int {
	n := 0
	for _, a := range p.accounts {
		for _, e := range a.events {
			n += e.backlog.Submits()
		}
	}
	return n
}

type accountPlan struct {
	name   string
	pace   pipeline.Pace
	events []eventPlan
	eta    time.Duration
}

type eventPlan struct {
	event   string
	from    time.Time
	density pipeline.Density
	backlog pipeline.Backlog
	eta     time.Duration
	note    string
}

// assumedReadRate is the rows a second reading is assumed to take in an
// estimate: well below what the connector reads (BENCHMARKS.md), since a
// download is part of it.
const assumedReadRate = 50_000

// buildPlan plans every event of every account of cfg.
func buildPlan(cfg *config.Config, positions map[string]checkpoint.Position, now time.Time, latency time.Duration, rowsPerDay float64) *plan {
	p := &plan{cfg: cfg, now: now, latency: latency}
	p.to = now.Add(-cfg.Settle).Truncate(time.Second)
	if cfg.Bounded != nil {
		p.to = cfg.Bounded.To.Truncate(time.Millisecond)
	}
	accounts := cfg.Accounts
	if len(accounts) == 0 {
		accounts = []config.Account{cfg.SingleAccount()}
	}
	for _, a := range accounts {
		ap := accountPlan{name: a.Name, pace: pipeline.Pace{
			Budgets: source.Budgets{
				Requests:        source.BudgetConfig{PerMinute: a.RequestsPerMinute, PerDay: a.RequestsPerDay},
				SubmitEvery:     source.SubmitEvery(cfg.Freshchat.SubmitsPerMinute),
				PollInterval:    cfg.Freshchat.PollInterval,
				PollMaxInterval: cfg.Freshchat.PollMaxInterval,
			},
			ReportsAhead: cfg.Backfill.ReportsAhead,
			Concurrency:  cfg.Concurrency,
			Latency:      latency,
		}}
		planner := pipeline.Planner{Window: a.Window, MaxWindow: cfg.Backfill.MaxWindow, TargetRows: int64(cfg.Backfill.TargetReportRows), To: p.to}
		earliest := source.Earliest(now).Add(source.DefaultHistoryMargin)
		var backlogs []pipeline.Backlog
		for _, ev := range a.Events {
			ep := eventPlan{event: ev, from: a.Start}
			if cfg.Bounded != nil && !cfg.Bounded.From.IsZero() {
				ep.from = cfg.Bounded.From
			}
			if rowsPerDay > 0 {
				ep.density = pipeline.Density{PerHour: rowsPerDay / 24, Known: true}
			}
			// Windows the checkpoint fixed already: the one in progress
			// and those ahead, some with their reports submitted.
			var fixed, submitted int
			planFrom := time.Time{}
			pos, ok := positions[checkpoint.UnitKey(a.Name, ev)]
			if ok && !pos.IsZero() {
				ep.from = pos.Next()
				if d := pipeline.DensityOf(pos); d.Known {
					ep.density = d
				}
				planFrom = pos.WindowEnd
				if !pos.Done {
					fixed++
					if pos.ReportID != "" {
						submitted++
					}
				}
				for _, x := range pos.Ahead {
					if !x.WindowStart.Equal(planFrom) || !x.WindowStart.Before(p.to) {
						break
					}
					fixed, planFrom = fixed+1, x.WindowEnd
					if x.ReportID != "" {
						submitted++
					}
				}
				ep.note = "from its checkpoint"
			}
			if ep.from.Before(earliest) {
				ep.note = fmt.Sprintf("rows before %s are no longer served (15-month limit)", earliest.Format(time.RFC3339))
				ep.from = earliest
			}
			ep.from = ep.from.UTC().Truncate(time.Millisecond)
			if fixed == 0 || planFrom.Before(ep.from) {
				fixed, submitted, planFrom = 0, 0, ep.from
			}
			if ep.from.Before(p.to) {
				ep.backlog.Windows = fixed + planner.Count(planFrom, p.to, ep.density)
				ep.backlog.Submitted = submitted
				if ep.density.Known && ep.backlog.Windows > 0 {
					rows := ep.density.Rows(p.to.Sub(ep.from)) / float64(ep.backlog.Windows)
					ep.backlog.Read = time.Duration(rows / assumedReadRate * float64(time.Second))
				}
			}
			ep.backlog.Event = ev
			if p.from.IsZero() || ep.from.Before(p.from) {
				p.from = ep.from
			}
			ap.events = append(ap.events, ep)
			backlogs = append(backlogs, ep.backlog)
		}
		each, total := pipeline.EstimateBackfill(ap.pace, backlogs)
		for i := range ap.events {
			ap.events[i].eta = each[i]
		}
		ap.eta = total
		p.total = max(p.total, total)
		p.accounts = append(p.accounts, ap)
	}
	return p
}

// print writes the plan as a table, with the assumptions it rests on.
func (p *plan) print(w io.Writer) error {
	c := p.cfg
	window := "a calendar month"
	if c.Backfill.MaxWindow != config.MaxWindowMonth {
		window = c.Backfill.MaxWindow.String()
	}
	fmt.Fprintf(w, "Backfill plan from %s to %s", fmtPlanTime(p.from), fmtPlanTime(p.to))
	if c.Bounded == nil {
		fmt.Fprintf(w, " (now − settle)")
	}
	fmt.Fprintln(w)
	if c.Backfill.TargetReportRows > 0 {
		fmt.Fprintf(w, "Windows: up to %s, sized for %s rows a report (an event's first window, its density unknown: %s).\n",
			window, groupDigits(int64(c.Backfill.TargetReportRows)), fmtDuration(c.Window))
	} else {
		fmt.Fprintf(w, "Windows: %s each (target_report_rows is 0).\n", fmtDuration(c.Window))
	}
	fmt.Fprintf(w, "Reports ahead: %d an event. Report latency assumed: %s (--latency). Checkpoints: %s.\n\n",
		c.Backfill.ReportsAhead, p.latency, p.checkpoints)
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
				density = groupDigits(int64(e.density.PerHour * 24))
			}
			req := e.backlog.Requests(a.pace)
			windows, submits, requests = windows+e.backlog.Windows, submits+e.backlog.Submits(), requests+req
			row(e.event, fmtPlanTime(e.from), density, groupDigits(int64(e.backlog.Windows)), groupDigits(int64(e.backlog.Submits())),
				groupDigits(int64(req)), fmtDuration(e.eta))
			if e.note != "" {
				notes = append(notes, e.event+": "+e.note)
			}
		}
		row("total", "", "", groupDigits(int64(windows)), groupDigits(int64(submits)), groupDigits(int64(requests)), fmtDuration(a.eta))
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
			fmtDuration(c.Window), groupDigits(int64(p.fixed.submits())), fmtDuration(p.fixed.total))
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

func perMinute(n int, what string) string {
	if n <= 0 {
		return what + "s paced by the request budget alone"
	}
	return fmt.Sprintf("%d %s(s)/min", n, what)
}

func requestBudget(b source.BudgetConfig) string {
	if b.PerMinute <= 0 && b.PerDay <= 0 {
		return "requests unlimited"
	}
	return "requests " + b.String()
}

func fmtPlanTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// fmtDuration writes d to the minute, with days: "3d4h5m", "2h0m", "45s".
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
