package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/connect"
	"github.com/freshstream/freshchat-kafka/demo"
	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
	"github.com/freshstream/freshchat-kafka/telemetry"
)

// demoCommand runs the whole flow on this machine: an embedded Kafka broker
// persisting to a data folder, an embedded schema registry and the Freshchat
// simulator, all on loopback ports. It backfills recent days of every
// event, shows what landed, then tails live windows until ctx ends.
func demoCommand(ctx context.Context, args []string, s Streams) error {
	fs := commandFlags("demo", "demo [--data-dir DIR] [--days N] [--kafka-port N] [--registry-port N] [--metrics-addr ADDR] [--rows-per-hour N]",
		`Runs the whole flow on this machine, with nothing to install: an embedded
Kafka broker persisting to --data-dir, a schema registry and the Freshchat
simulator on loopback ports. Backfills --days of every event, prints a
per-topic summary and one decoded record, then tails live windows until
Ctrl-C. A second demo on the same folder resumes from its checkpoints.

Exit codes: 0 stopped cleanly, 1 failed, 2 bad usage, 3 fenced (another
process took over the demo's transactional identity).`, s)
	dataDir := fs.String("data-dir", ".freshchat-demo", "where the embedded broker keeps its data and the connector its log; a second demo resumes from it")
	days := fs.Int("days", 3, "days of history to backfill (1-30)")
	kafkaPort := fs.Int("kafka-port", 9092, "loopback port of the embedded broker (0: any free port; a busy port falls back to any)")
	registryPort := fs.Int("registry-port", 8081, "loopback port of the embedded schema registry (0: any free port; a busy port falls back to any)")
	rowsPerHour := fs.Int("rows-per-hour", 240, "rows per event per hour that the simulator serves")
	metricsAddr := fs.String("metrics-addr", "127.0.0.1:9464", "where to serve /metrics, /healthz and /readyz (a busy port falls back to any free one; off disables)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *days < 1 || *days > 30 {
		return usageError{fmt.Errorf("--days must be between 1 and 30, got %d", *days)}
	}
	if *rowsPerHour < 1 || *rowsPerHour > freshchattest.MaxRowsPerHour {
		return usageError{fmt.Errorf("--rows-per-hour must be between 1 and %d, got %d", freshchattest.MaxRowsPerHour, *rowsPerHour)}
	}
	logFile, err := demo.OpenLog(*dataDir)
	if err != nil {
		return err
	}
	defer logFile.Close()
	logger := slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelInfo}))
	out := s.Out

	demo.PrintIntro(out)
	world, err := demo.Start(demo.Options{DataDir: *dataDir, KafkaPort: *kafkaPort, RegistryPort: *registryPort, RowsPerHour: *rowsPerHour})
	if err != nil {
		return err
	}
	defer world.Close()
	world.PrintAddresses(out)

	now := time.Now().UTC()
	cfg := world.Config(now, *days)
	metricsLn, err := demo.ListenMetrics(*metricsAddr)
	if err != nil {
		return fmt.Errorf("metrics listener: %w", err)
	}
	cfg.Metrics.Addr = ""
	if metricsLn != nil {
		cfg.Metrics.Addr = metricsLn.Addr().String()
	}
	tel, err := telemetry.Start(&cfg, metricsLn, logger)
	if err != nil {
		return usageError{err}
	}
	defer tel.Stop()
	if tel != nil {
		fmt.Fprintf(out, "  Metrics          http://%s/metrics (also /healthz, /readyz)\n", tel.Addr())
	}
	fmt.Fprintln(out)

	// Backfill up to a settled instant, with a progress line: each event
	// from its checkpoint when an earlier demo left one (--to alone), else
	// from the start.
	to := now.Add(-cfg.Settle).Truncate(time.Second)
	cfg.Bounded = &config.Range{To: to}
	var progress demo.Progress
	p, err := build(ctx, &cfg, logger, func(o *pipeline.Options) {
		o.ProgressInterval = 10 * time.Second
		o.OnWindow = progress.OnWindow
		tel.Attach(o)
	})
	if err != nil {
		return err
	}
	tel.Started(ctx, p, cfg.Events)
	stopProgress := progress.Show(out, p, p.Positions(), &cfg, to)
	err = p.Run(ctx)
	stopProgress()
	p.Close(context.WithoutCancel(ctx))
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(out, "\nInterrupted; the next demo resumes where this one stopped.")
		}
		return err
	}
	fmt.Fprintf(out, "Backfill committed in %s.\n\n", progress.Elapsed().Round(time.Millisecond))

	opts := connect.KafkaOptions(cfg.Kafka, nil)
	if err := demo.PrintSummary(ctx, out, opts, &cfg); err != nil {
		return err
	}
	rc, err := connect.Registry(cfg.SchemaRegistry)
	if err != nil {
		return err
	}
	if err := demo.PrintOneRecord(ctx, out, opts, rc, cfg.Kafka.Topic("Message-Sent")); err != nil {
		return err
	}
	world.PrintHowToConsume(out, cfg.Kafka.Topic("Message-Sent"))

	// Live: windows of at least MinWindow, once they are Settle old.
	cfg.Bounded = nil
	fmt.Fprintf(out, "Tailing live windows (≥ %s, extracted %s after they end). Ctrl-C stops cleanly.\n", cfg.MinWindow, cfg.Settle)
	live, err := build(ctx, &cfg, logger, func(o *pipeline.Options) {
		o.OnWindow = demo.LiveWindows(out)
		tel.Attach(o)
	})
	if err != nil {
		return err
	}
	tel.Started(ctx, live, cfg.Events)
	defer live.Close(context.WithoutCancel(ctx))
	err = live.Run(ctx)
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(out, "\nStopped. Open transactions were aborted; run the demo again to resume from the last commit.")
		return nil
	}
	return err
}
