package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/connect"
	"github.com/freshstream/freshchat-kafka/internal/kread"
	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
	"github.com/freshstream/freshchat-kafka/termview"
)

const demoToken = "demo-token"

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
	if err := os.MkdirAll(filepath.Join(*dataDir, "tmp"), 0o755); err != nil {
		return fmt.Errorf("demo data folder: %w", err)
	}
	logPath := filepath.Join(*dataDir, "connector.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("demo log: %w", err)
	}
	defer logFile.Close()
	logger := slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelInfo}))
	out := s.Out

	fmt.Fprintln(out, "Freshchat → Kafka connector demo")
	fmt.Fprintln(out, "Everything runs in this process on loopback ports: a Kafka broker (kfake), a schema registry and a Freshchat simulator.")

	// Kafka.
	cluster, err := startBroker(filepath.Join(*dataDir, "kafka"), *kafkaPort)
	if err != nil {
		return err
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()

	// Schema registry, on the port Avro-aware clients assume by default.
	regLn, err := listenLoopback(*registryPort)
	if err != nil {
		return fmt.Errorf("schema registry listener: %w", err)
	}
	regSrv := &http.Server{Handler: srfake.NewRegistry().Handler(), ReadHeaderTimeout: 10 * time.Second}
	go regSrv.Serve(regLn)
	defer regSrv.Close()
	regURL := "http://" + regLn.Addr().String()

	// Freshchat.
	sim := freshchattest.NewHandler(freshchattest.Options{
		Token:       demoToken,
		RowsPerHour: *rowsPerHour,
		TempDir:     filepath.Join(*dataDir, "tmp"),
		Faults:      freshchattest.Faults{PendingPolls: 1, LinksPerReport: 2, FilesPerZip: 2, BOM: true, CRLF: true},
	})
	defer sim.Close()
	ln, err := listenLoopback(0)
	if err != nil {
		return fmt.Errorf("simulator listener: %w", err)
	}
	sim.SetBaseURL("http://" + ln.Addr().String())
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	fmt.Fprintf(out, "  Kafka brokers    %s (data in %s)\n", strings.Join(brokers, ","), filepath.Join(*dataDir, "kafka"))
	fmt.Fprintf(out, "  Schema registry  %s\n", regURL)
	fmt.Fprintf(out, "  Freshchat API    %s (simulated, token %q)\n", sim.URL(), demoToken)
	fmt.Fprintf(out, "  Connector log    %s\n", logPath)

	now := time.Now().UTC()
	cfg := config.Defaults(now)
	cfg.Freshchat.APIURL, _ = url.Parse(sim.URL())
	cfg.Freshchat.APIToken = config.Secret(demoToken)
	cfg.Freshchat.PollInterval = 100 * time.Millisecond
	cfg.Freshchat.PollMaxInterval = time.Second
	cfg.Freshchat.RequestsPerMinute = 0 // the simulator has no request budget
	cfg.Freshchat.SubmitsPerMinute = 0  // nor a submit budget
	cfg.Kafka.Brokers = brokers
	cfg.Kafka.Partitions = 3
	cfg.Kafka.ReplicationFactor = 1
	cfg.SchemaRegistry.URL, _ = url.Parse(regURL)
	cfg.Start = now.Add(-time.Duration(*days) * 24 * time.Hour).Truncate(time.Hour)
	cfg.Window = 6 * time.Hour
	cfg.Backfill.TargetReportRows = 0 // fixed windows: the demo shows them go by
	cfg.MinWindow = 10 * time.Second
	cfg.Settle = 5 * time.Second
	cfg.Concurrency = 4
	cfg.TempDir = filepath.Join(*dataDir, "tmp")
	metricsLn, err := listenMetrics(*metricsAddr)
	if err != nil {
		return fmt.Errorf("metrics listener: %w", err)
	}
	cfg.Metrics.Addr = ""
	if metricsLn != nil {
		cfg.Metrics.Addr = metricsLn.Addr().String()
	}
	tel, err := startTelemetry(&cfg, metricsLn, logger)
	if err != nil {
		return err
	}
	defer tel.stop()
	if tel != nil {
		fmt.Fprintf(out, "  Metrics          http://%s/metrics (also /healthz, /readyz)\n", tel.srv.Addr())
	}
	fmt.Fprintln(out)

	// Backfill up to a settled instant, with a progress line: each event
	// from its checkpoint when an earlier demo left one (--to alone), else
	// from the start.
	to := now.Add(-cfg.Settle).Truncate(time.Second)
	cfg.Bounded = &config.Range{To: to}
	var windows, rows atomic.Int64
	p, err := build(ctx, &cfg, logger, func(o *pipeline.Options) {
		o.ProgressInterval = 10 * time.Second
		o.OnWindow = func(w pipeline.WindowDone) { windows.Add(1); rows.Add(w.Produced) }
		tel.attach(o)
	})
	if err != nil {
		return err
	}
	tel.started(ctx, p, cfg.Events)
	total, resumed := backfillWindows(p.Positions(), cfg.Events, cfg.Start, to, cfg.Window)
	if resumed {
		fmt.Fprintf(out, "Resuming %d events from the checkpoints of an earlier demo, up to %s in %s windows…\n", len(cfg.Events), to.Format(time.RFC3339), cfg.Window)
	} else {
		fmt.Fprintf(out, "Backfilling %d events from %s to %s in %s windows…\n", len(cfg.Events), cfg.Start.Format(time.RFC3339), to.Format(time.RFC3339), cfg.Window)
	}
	began := time.Now()
	stopProgress := termview.ShowProgress(out, p, 500*time.Millisecond)
	if !termview.IsTerminal(out) {
		stopProgress = progressLine(out, func() string {
			el := time.Since(began).Seconds()
			n := windows.Load()
			return fmt.Sprintf("  %3d%%  %d/%d windows  %d rows  %.0f rows/s", 100*n/max(total, n, 1), n, max(total, n), rows.Load(), float64(rows.Load())/max(el, 0.001))
		})
	}
	err = p.Run(ctx)
	stopProgress()
	p.Close(context.WithoutCancel(ctx))
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(out, "\nInterrupted; the next demo resumes where this one stopped.")
		}
		return err
	}
	fmt.Fprintf(out, "Backfill committed in %s.\n\n", time.Since(began).Round(time.Millisecond))

	opts := connect.KafkaOptions(cfg.Kafka, nil)
	if err := printSummary(ctx, out, opts, &cfg); err != nil {
		return err
	}
	rc, err := connect.Registry(cfg.SchemaRegistry)
	if err != nil {
		return err
	}
	if err := printOneRecord(ctx, out, opts, rc, cfg.Kafka.Topic("Message-Sent")); err != nil {
		return err
	}
	printHowToConsume(out, brokers, regURL, cfg.Kafka.Topic("Message-Sent"))

	// Live: windows of at least MinWindow, once they are Settle old.
	cfg.Bounded = nil
	fmt.Fprintf(out, "Tailing live windows (≥ %s, extracted %s after they end). Ctrl-C stops cleanly.\n", cfg.MinWindow, cfg.Settle)
	var mu sync.Mutex
	live, err := build(ctx, &cfg, logger, func(o *pipeline.Options) {
		o.OnWindow = func(w pipeline.WindowDone) {
			mu.Lock()
			defer mu.Unlock()
			noun := "rows"
			if w.Produced == 1 {
				noun = "row "
			}
			// Window times are UTC (as in the logs and the headers), so the
			// commit time is too.
			fmt.Fprintf(out, "  %s  %-30s %s → %s  %4d %s  → %s\n", time.Now().UTC().Format("15:04:05"), w.Event,
				w.Window.Start.Format("15:04:05.000"), w.Window.End.Format("15:04:05.000"), w.Produced, noun, w.Topic)
		}
		tel.attach(o)
	})
	if err != nil {
		return err
	}
	tel.started(ctx, live, cfg.Events)
	defer live.Close(context.WithoutCancel(ctx))
	err = live.Run(ctx)
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(out, "\nStopped. Open transactions were aborted; run the demo again to resume from the last commit.")
		return nil
	}
	return err
}

// listenMetrics listens on addr, or on any free port of the same host when
// addr is busy; "off" listens nowhere (nil).
func listenMetrics(addr string) (net.Listener, error) {
	if strings.EqualFold(addr, "off") || addr == "" {
		return nil, nil
	}
	if ln, err := net.Listen("tcp", addr); err == nil {
		return ln, nil
	}
	host, _, _ := net.SplitHostPort(addr)
	return net.Listen("tcp", net.JoinHostPort(host, "0"))
}

// backfillWindows is how many windows the backfill to `to` extracts: each
// event's from its checkpoint (the window in progress included), or from
// start without one; resumed reports whether any checkpoint was found.
func backfillWindows(positions map[string]checkpoint.Position, events []string, start, to time.Time, window time.Duration) (total int64, resumed bool) {
	for _, ev := range events {
		from := start
		if pos, ok := positions[ev]; ok {
			from, resumed = pos.Next(), true
		}
		if to.After(from) {
			total += int64((to.Sub(from) + window - 1) / window)
		}
	}
	return total, resumed
}

// listenLoopback listens on the loopback port, or on any free one when port
// is 0 or busy.
func listenLoopback(port int) (net.Listener, error) {
	if port != 0 {
		if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			return ln, nil
		}
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// startBroker starts kfake persisting to dir, on port when it is free.
func startBroker(dir string, port int) (*kfake.Cluster, error) {
	ln, err := listenLoopback(port)
	if err != nil {
		return nil, fmt.Errorf("embedded broker listener: %w", err)
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DataDir(dir), kfake.ClusterID("freshchat-demo"),
		kfake.ListenFn(func(string, string) (net.Listener, error) { return ln, nil }))
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("starting the embedded broker (data in %s): %w", dir, err)
	}
	return c, nil
}

// progressLine prints line() every second until the returned stop is
// called, then prints it a last time.
func progressLine(w io.Writer, line func() string) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprintln(w, line())
				return
			case <-t.C:
				fmt.Fprintln(w, line())
			}
		}
	}()
	return func() { close(done); <-finished }
}

func printSummary(ctx context.Context, w io.Writer, opts []kgo.Opt, cfg *config.Config) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tRECORDS (read_committed)\tKEYS")
	var sum int64
	for _, ev := range cfg.Events {
		topic := cfg.Kafka.Topic(ev)
		var n int64
		keys := map[string]struct{}{}
		if err := kread.Each(ctx, opts, topic, func(r *kgo.Record) {
			n++
			keys[string(r.Key)] = struct{}{}
		}); err != nil {
			return err
		}
		sum += n
		fmt.Fprintf(tw, "%s\t%d\t%d\n", topic, n, len(keys))
	}
	fmt.Fprintf(tw, "total\t%d\t\n", sum)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	return nil
}

// printOneRecord decodes the first record of topic the way a registry-aware
// consumer does: schema ID from the Confluent header, schema from the
// registry, Avro body with that schema.
func printOneRecord(ctx context.Context, w io.Writer, opts []kgo.Opt, rc *sr.Client, topic string) error {
	var first *kgo.Record
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	err := kread.Each(cctx, opts, topic, func(r *kgo.Record) {
		if first == nil {
			first = r
			cancel()
		}
	})
	if first == nil {
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "No record on %s yet.\n\n", topic)
		return nil
	}
	var header sr.ConfluentHeader
	id, avroBody, err := header.DecodeID(first.Value)
	if err != nil {
		return fmt.Errorf("record on %s is not in the Confluent wire format: %w", topic, err)
	}
	ss, err := rc.SchemaByID(ctx, id)
	if err != nil {
		return fmt.Errorf("looking up schema %d: %w", id, err)
	}
	schema, err := avro.Parse(ss.Schema)
	if err != nil {
		return err
	}
	var v map[string]any
	if err := avro.Unmarshal(schema, avroBody, &v); err != nil {
		return fmt.Errorf("decoding a record of %s: %w", topic, err)
	}
	body, err := json.MarshalIndent(v, "  ", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "One record of %s (partition %d, offset %d), decoded with schema ID %d from the registry:\n", topic, first.Partition, first.Offset, id)
	fmt.Fprintf(w, "  key     %s\n", first.Key)
	for _, h := range first.Headers {
		fmt.Fprintf(w, "  header  %s = %s\n", h.Key, h.Value)
	}
	fmt.Fprintf(w, "  value   %s\n\n", body)
	return nil
}

func printHowToConsume(w io.Writer, brokers []string, registry, topic string) {
	fmt.Fprintln(w, "Consume the topics while the demo runs, for example:")
	fmt.Fprintf(w, "  kcat -b %s -C -t %s -X isolation.level=read_committed -o beginning -e -f '%%k %%h\\n'\n", brokers[0], topic)
	fmt.Fprintf(w, "  Schema Registry URL for Avro-aware consumers (confluent-kafka AvroConsumer, ksqlDB, Flink): %s\n\n", registry)
}
