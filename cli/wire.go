package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/source"
)

// newLogger builds the process logger from the log settings.
func newLogger(c config.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.Level}
	if c.Format == config.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// kafkaOpts are the connection options every Kafka client of the process
// shares.
func kafkaOpts(cfg *config.Config) []kgo.Opt {
	return []kgo.Opt{
		kgo.SeedBrokers(cfg.Kafka.Brokers...),
		kgo.ClientID(clientID()),
	}
}

// clientID names this process to the brokers, so that operators (and
// "connector status") can tell instances apart.
func clientID() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	return fmt.Sprintf("freshchat-connector/%s/%d", host, os.Getpid())
}

// sourceClient builds the Freshchat client from the settings. httpClient
// may be nil for the default.
func sourceClient(cfg *config.Config, logger *slog.Logger, httpClient *http.Client) (*source.Client, error) {
	f := cfg.Freshchat
	return source.NewClient(source.ClientConfig{
		BaseURL:         f.APIURL,
		Token:           f.APIToken.Reveal(),
		HTTPClient:      httpClient,
		Logger:          logger,
		PollInterval:    f.PollInterval,
		PollMaxInterval: f.PollMaxInterval,
		PendingTimeout:  f.PendingTimeout,
		MaxSubmits:      f.MaxSubmits,
		StallTimeout:    f.RequestTimeout,
		Retry: source.RetryConfig{
			Base:        f.RetryBase,
			Max:         f.RetryMax,
			MaxAttempts: f.RetryAttempts,
		},
		Budget:  source.BudgetConfig{PerMinute: f.RequestsPerMinute, PerDay: f.RequestsPerDay},
		TempDir: cfg.TempDir,
	})
}

// pipelineOptions maps the configuration onto the pipeline's options.
func pipelineOptions(cfg *config.Config, src *source.Client, logger *slog.Logger) (pipeline.Options, error) {
	o := pipeline.Options{
		Events: cfg.Events,
		Start:  cfg.Start,
		Planner: pipeline.Planner{
			Window:    cfg.Window,
			MinWindow: cfg.MinWindow,
			Settle:    cfg.Settle,
		},
		Concurrency:        cfg.Concurrency,
		Limits:             pipeline.Limits{Rows: cfg.Kafka.ChunkRows, Bytes: cfg.Kafka.ChunkBytes},
		Topic:              cfg.Kafka.Topic,
		CheckpointTopic:    cfg.Kafka.CheckpointTopic,
		TransactionalID:    cfg.Kafka.TransactionalID,
		TransactionTimeout: cfg.Kafka.TransactionTimeout,
		Partitions:         cfg.Kafka.Partitions,
		ReplicationFactor:  cfg.Kafka.ReplicationFactor,
		Kafka:              kafkaOpts(cfg),
		ConnectTimeout:     cfg.Kafka.ConnectTimeout,
		DeadLetterTopic:    cfg.DeadLetter.Topic,
		Policy:             func(event string) pipeline.Policy { return pipeline.Policy(cfg.DeadLetter.PolicyFor(event)) },
		Source:             src,
		Logger:             logger,
	}
	if cfg.Bounded != nil {
		o.Start = cfg.Bounded.From
		o.Planner.To = cfg.Bounded.To
	}
	if cfg.SchemaRegistry.URL != nil {
		rc, err := sr.NewClient(sr.URLs(cfg.SchemaRegistry.URL.String()), sr.HTTPClient(&http.Client{Timeout: 30 * time.Second}))
		if err != nil {
			return o, fmt.Errorf("schema registry client: %w", err)
		}
		o.Registry = rc
	}
	return o, nil
}

// build wires a ready pipeline from the configuration. tweak, when not
// nil, adjusts the options before the pipeline is built (the demo uses it).
func build(ctx context.Context, cfg *config.Config, logger *slog.Logger, tweak func(*pipeline.Options)) (*pipeline.Pipeline, error) {
	src, err := sourceClient(cfg, logger, nil)
	if err != nil {
		return nil, err
	}
	o, err := pipelineOptions(cfg, src, logger)
	if err != nil {
		return nil, err
	}
	if tweak != nil {
		tweak(&o)
	}
	return pipeline.New(ctx, o)
}
