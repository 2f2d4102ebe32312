// Package plan works out what a backfill takes, per event and in total:
// the windows and the reports to submit, the API requests, and the time
// under the configured budgets. It reads nothing and writes nothing: the
// caller passes the configuration and the committed positions.
package plan

import (
	"fmt"
	"time"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/source"
)

// Plan is a backfill plan of every configured event of every account.
type Plan struct {
	// Checkpoints says where the positions came from (or why there are
	// none); Print shows it among the assumptions.
	Checkpoints string

	from, to time.Time // the earliest start of an event, and the end
	now      time.Time
	cfg      *config.Config
	latency  time.Duration
	accounts []accountPlan
	total    time.Duration
	fixed    *Plan // the same backfill with fixed windows and no reports ahead, for comparison
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

// Build plans every event of every account of cfg at now: each event from
// its position in positions (keyed by checkpoint.UnitKey) when it has one,
// else from cfg's start or bounded range, never before the 15-month limit;
// up to cfg's bounded end, or now − settle. Reports are assumed to complete
// latency after their submit, and events without a checkpoint to tell
// their density to hold rowsPerDay rows a day (0: unknown). When cfg sizes
// windows by rows or submits reports ahead, the plan also holds the same
// backfill with fixed windows, one report at a time, for comparison.
func Build(cfg *config.Config, positions map[string]checkpoint.Position, now time.Time, latency time.Duration, rowsPerDay float64) *Plan {
	p := build(cfg, positions, now, latency, rowsPerDay)
	if cfg.Backfill.TargetReportRows > 0 || cfg.Backfill.ReportsAhead > 0 {
		fixed := *cfg
		fixed.Backfill.TargetReportRows, fixed.Backfill.ReportsAhead = 0, 0
		p.fixed = build(&fixed, positions, now, latency, rowsPerDay)
	}
	return p
}

// Submits is how many reports the plan submits, over every account.
func (p *Plan) Submits() int {
	n := 0
	for _, a := range p.accounts {
		for _, e := range a.events {
			n += e.backlog.Submits()
		}
	}
	return n
}

// Total is the estimated time of the whole backfill: that of its slowest
// account, since accounts have their own budgets and all run at once.
func (p *Plan) Total() time.Duration { return p.total }

// build plans every event of every account of cfg, without the comparison.
func build(cfg *config.Config, positions map[string]checkpoint.Position, now time.Time, latency time.Duration, rowsPerDay float64) *Plan {
	p := &Plan{cfg: cfg, now: now, latency: latency}
	p.to = now.Add(-cfg.Settle).Truncate(time.Second)
	if cfg.Bounded != nil {
		p.to = cfg.Bounded.To.Truncate(time.Millisecond)
	}
	for _, a := range cfg.AllAccounts() {
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
