// Command backfillbench runs the backfill benchmark (bench.Backfill): a
// time-scaled backfill of months of history, once with the fixed plan of
// 24h windows submitted one at a time and once with the adaptive plan,
// against the Freshchat simulator with a latency model and a submit
// budget, in one run; it prints a table of submits, API requests, rows and
// simulated time, and the ETA the connector showed along the adaptive run.
// Both runs check that every row landed exactly once.
//
//	go run ./bench/cmd/backfillbench            # 15 months, 12 events, about two minutes
//	go run ./bench/cmd/backfillbench -months 3 -events Message-Sent,CSAT-Score
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/freshstream/freshchat-kafka/bench"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "backfillbench:", err)
		os.Exit(1)
	}
}

func run(args []string, out, errs io.Writer) error {
	fs := flag.NewFlagSet("backfillbench", flag.ContinueOnError)
	fs.SetOutput(errs)
	months := fs.Int("months", 15, "months of history to backfill, up to now")
	events := fs.String("events", "all", "comma-separated events, or all (the 12)")
	rowsPerHour := fs.Int("rows-per-hour", 2, "the simulator's rows per event and hour")
	scale := fs.Float64("scale", 3600, "simulated seconds per real second")
	submits := fs.Int("submits-per-minute", 1, "the account's submit budget (simulated)")
	requests := fs.Int("requests-per-minute", 60, "the account's request budget (simulated)")
	latency := fs.Duration("latency", time.Minute, "report latency, before its rows (simulated)")
	perRow := fs.Duration("time-per-row", 50*time.Millisecond, "report latency per row (simulated)")
	asJSON := fs.Bool("json", false, "print the results as JSON too")
	verbose := fs.Bool("v", false, "the connector's logs on stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	evs := freshchattest.Events()
	if *events != "all" {
		evs = strings.Split(*events, ",")
	}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(errs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	b := bench.Backfill{
		Events: evs, Months: *months, RowsPerHour: *rowsPerHour, Scale: *scale,
		SubmitsPerMinute: *submits, RequestsPerMinute: *requests, ReportLatency: *latency, ReportTimePerRow: *perRow,
		Logger: logger,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	tmp, err := os.MkdirTemp("", "backfillbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	from, to := b.Span(time.Now())
	fmt.Fprintf(out, "Backfill of %d events, %s to %s (%d months), %d rows an hour each; time scaled %gx (%s simulated = 1s)\n",
		len(evs), from.Format(time.RFC3339), to.Format(time.RFC3339), *months, *rowsPerHour, *scale, time.Duration(*scale*float64(time.Second)))
	fmt.Fprintf(out, "Latency model: %s + %s a row; budgets: %d submit(s)/min, %d requests/min (simulated)\n\n", *latency, *perRow, *submits, *requests)
	var results []bench.BackfillResult
	for _, plan := range []bench.BackfillPlan{bench.FixedPlan, bench.AdaptivePlan} {
		fmt.Fprintf(errs, "running %s...\n", plan.Name)
		r, err := b.Run(ctx, plan, from, to, tmp)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	printTable(out, results)
	if *asJSON {
		enc := json.NewEncoder(out)
		for _, r := range results {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
	}
	return nil
}

func printTable(out io.Writer, rs []bench.BackfillResult) {
	row := "%-26s %8s %13s %10s %8s %12s %8s %6s\n"
	fmt.Fprintf(out, row, "plan", "submits", "API requests", "rows", "windows", "simulated h", "real s", "429s")
	for _, r := range rs {
		fmt.Fprintf(out, row, r.Plan, fmt.Sprint(r.Submits), fmt.Sprint(r.Requests()), fmt.Sprint(r.Rows), fmt.Sprint(r.Windows),
			fmt.Sprintf("%.1f", r.Simulated.Hours()), fmt.Sprintf("%.1f", r.Real.Seconds()), fmt.Sprint(r.Throttled))
	}
	if len(rs) == 2 {
		f, a := rs[0], rs[1]
		fmt.Fprintf(out, row, "fixed / adaptive", fmt.Sprintf("%.1fx", ratio(f.Submits, a.Submits)),
			fmt.Sprintf("%.1fx", ratio(f.Requests(), a.Requests())), "", "", fmt.Sprintf("%.1fx", f.Simulated.Hours()/a.Simulated.Hours()), "", "")
		fmt.Fprintln(out, "\nEvery row of the range committed exactly once in both runs (read_committed, distinct created_at, count = simulator's).")
		fmt.Fprintln(out, "\nWhole-backfill ETA shown along the adaptive run (simulated time):")
		fmt.Fprintf(out, "  %8s %10s %10s\n", "elapsed", "estimated", "actual")
		for _, frac := range []float64{0.02, 0.1, 0.25, 0.5, 0.75, 0.9} {
			if s, ok := sampleAt(a.ETAs, time.Duration(frac*float64(a.Simulated))); ok {
				fmt.Fprintf(out, "  %7.0f%% %10s %10s\n", 100*frac, s.Estimated.Round(time.Minute), s.Actual.Round(time.Minute))
			}
		}
	}
}

func ratio(a, b int) float64 { return float64(a) / float64(max(b, 1)) }

// sampleAt is the last sample taken by elapsed.
func sampleAt(ss []bench.ETASample, elapsed time.Duration) (bench.ETASample, bool) {
	var out bench.ETASample
	ok := false
	for _, s := range ss {
		if s.Elapsed > elapsed {
			break
		}
		out, ok = s, true
	}
	return out, ok
}
