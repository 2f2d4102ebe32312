package cli

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/freshstream/freshchat-kafka/config"
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
	for flag, port := range map[string]int{"--kafka-port": *kafkaPort, "--registry-port": *registryPort} {
		if port < 0 || port > 65535 {
			return usageError{fmt.Errorf("%s must be between 0 and 65535, got %d", flag, port)}
		}
	}
	if err := demo.CheckMetricsAddr(*metricsAddr); err != nil {
		return usageError{err}
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

	return world.Run(ctx, out, cfg, now, func(ctx context.Context, cfg *config.Config, tweak func(*pipeline.Options)) (*pipeline.Pipeline, error) {
		p, err := build(ctx, cfg, logger, func(o *pipeline.Options) {
			tweak(o)
			tel.Attach(o)
		})
		if err == nil {
			tel.ServeStatus(cfg, p)
			tel.Started(ctx, p, cfg.Events)
		}
		return p, err
	})
}
