package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/connect"
	"github.com/freshstream/freshchat-kafka/instance"
	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/source"
)

// newLogger builds the process logger from the log settings.
func newLogger(c config.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.Level}
	if c.Format == config.LogJSON {
		opts.ReplaceAttr = durationText
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// durationText renders durations as text mode does ("200ms", "1m2s")
// rather than as the nanosecond integers the JSON handler writes. slog
// calls it for the attributes inside groups too (the config's LogValue).
func durationText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

// sourceClient builds the Freshchat client of account a from the settings.
// httpClient may be nil for the default.
func sourceClient(cfg *config.Config, a config.Account, logger *slog.Logger, httpClient *http.Client) (*source.Client, error) {
	f := cfg.Freshchat
	if err := os.MkdirAll(cfg.SpoolDir(), 0o700); err != nil {
		return nil, fmt.Errorf("temp_dir (FRESHCHAT_TEMP_DIR): creating the download folder: %w", err)
	}
	if a.Name != config.DefaultAccount {
		logger = logger.With("account", a.Name)
	}
	return source.NewClient(source.ClientConfig{
		BaseURL:         a.APIURL,
		Token:           a.APIToken.Reveal(),
		HTTPClient:      httpClient,
		Logger:          logger,
		PollInterval:    f.PollInterval,
		PollMaxInterval: f.PollMaxInterval,
		PendingTimeout:  f.PendingTimeout,
		EmptySettle:     f.EmptyReportSettle,
		MaxSubmits:      f.MaxSubmits,
		StallTimeout:    f.RequestTimeout,
		Retry: source.RetryConfig{
			Base:        f.RetryBase,
			Max:         f.RetryMax,
			MaxAttempts: f.RetryAttempts,
		},
		Budget:           source.BudgetConfig{PerMinute: a.RequestsPerMinute, PerDay: a.RequestsPerDay},
		SubmitsPerMinute: f.SubmitsPerMinute,
		TempDir:          cfg.SpoolDir(),
	})
}

// groupConfig is the instance's group: named after the transactional ID
// prefix, which already names the connector's identity. from and to are
// the bounded range as given on the command line: instances given the
// same one run one range, the group's.
func groupConfig(cfg *config.Config, from, to string) *instance.Config {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	var rng string
	if cfg.Bounded != nil {
		rng = fmt.Sprintf("--from %q --to %q", strings.TrimSpace(from), strings.TrimSpace(to))
	}
	return &instance.Config{
		Manifest:          instance.Manifest{Range: rng},
		Group:             cfg.Kafka.TransactionalID,
		InstanceID:        cfg.Group.InstanceID,
		Host:              host,
		SessionTimeout:    cfg.Group.SessionTimeout,
		ReplicationFactor: cfg.Kafka.ReplicationFactor,
	}
}

// pipelineOptions maps the configuration onto the pipeline's options; the
// Kafka clients report to watch.
func pipelineOptions(cfg *config.Config, logger *slog.Logger, watch *connect.SecurityWatch) (pipeline.Options, error) {
	o := pipeline.Options{
		Events: cfg.Events,
		Start:  cfg.Start,
		Planner: pipeline.Planner{
			Window:     cfg.Window,
			MaxWindow:  cfg.Backfill.MaxWindow,
			TargetRows: int64(cfg.Backfill.TargetReportRows),
			MinWindow:  cfg.MinWindow,
			Settle:     cfg.Settle,
		},
		ReportsAhead:       cfg.Backfill.ReportsAhead,
		Concurrency:        cfg.Concurrency,
		Limits:             pipeline.Limits{Rows: cfg.Kafka.ChunkRows, Bytes: cfg.Kafka.ChunkBytes},
		Topic:              cfg.Kafka.Topic,
		CheckpointTopic:    cfg.Kafka.CheckpointTopic,
		TransactionalID:    cfg.Kafka.TransactionalID,
		TransactionTimeout: cfg.Kafka.TransactionTimeout,
		Partitions:         cfg.Kafka.Partitions,
		ReplicationFactor:  cfg.Kafka.ReplicationFactor,
		TopicConfig:        cfg.Kafka.TopicConfig,
		Kafka:              connect.KafkaOptions(cfg.Kafka, watch),
		ConnectTimeout:     cfg.Kafka.ConnectTimeout,
		DeadLetterTopic:    cfg.DeadLetter.Topic,
		Policy:             func(event string) pipeline.Policy { return pipeline.Policy(cfg.DeadLetter.PolicyFor(event)) },
		Logger:             logger,
	}
	for _, a := range cfg.AllAccounts() {
		src, err := sourceClient(cfg, a, logger, nil)
		if err != nil {
			return o, err
		}
		o.Accounts = append(o.Accounts, pipeline.Account{Name: a.Name, Source: src, Events: a.Events, Start: a.Start, Window: a.Window, Topic: a.Topic})
	}
	o.Source = o.Accounts[0].Source
	if cfg.Bounded != nil {
		o.From = cfg.Bounded.From
		o.Planner.To = cfg.Bounded.To
	}
	if cfg.SchemaRegistry.URL != nil {
		rc, err := connect.Registry(cfg.SchemaRegistry)
		if err != nil {
			return o, err
		}
		o.Registry = rc
	}
	return o, nil
}

// build wires a ready pipeline from the configuration. tweak, when not
// nil, adjusts the options before the pipeline is built (the demo uses it).
// A TLS or SASL failure stops the start at once, although the pipeline
// waits for unreachable brokers: retrying cannot fix it.
func build(ctx context.Context, cfg *config.Config, logger *slog.Logger, tweak func(*pipeline.Options)) (*pipeline.Pipeline, error) {
	// The downloads a crashed run of this instance left behind are
	// nobody's: a restart with the same instance ID replaces that run.
	n, err := source.RemoveSpooled(cfg.SpoolDir())
	switch {
	case err != nil:
		logger.Warn("cannot remove downloads left by an earlier run", "error", err.Error())
	case n > 0:
		logger.Info("removed downloads left by an earlier run", "files", n, "dir", cfg.SpoolDir())
	}
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	watch := connect.NewSecurityWatch(cfg.Kafka.SASL, stop)
	o, err := pipelineOptions(cfg, logger, watch)
	if err != nil {
		return nil, err
	}
	if tweak != nil {
		tweak(&o)
	}
	p, err := pipeline.New(ctx, o)
	if err != nil {
		return nil, connect.ExplainRegistry(watch.Explain(err), cfg.SchemaRegistry)
	}
	return p, nil
}
