package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/aws"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/freshstream/freshchat-kafka/config"
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

// kafkaOpts are the connection options every Kafka client of the process
// shares: the seed brokers, the client ID (kafka.client_id, as is, so that
// client-id quotas match it), TLS and SASL. A non-nil watch
// learns of the failures that retrying cannot fix (see securityWatch).
func kafkaOpts(cfg *config.Config, watch *securityWatch) []kgo.Opt {
	k := cfg.Kafka
	opts := []kgo.Opt{
		kgo.SeedBrokers(k.Brokers...),
		kgo.ClientID(k.ClientID),
		kgo.WithCompressor(batchCompressor(k.Compression)),
	}
	if tc := k.TLS.ClientConfig(); tc != nil {
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if m := saslMechanism(k.SASL); m != nil {
		if watch != nil {
			m = watchedMechanism{Mechanism: m, watch: watch}
		}
		opts = append(opts, kgo.SASL(m))
	}
	if watch != nil {
		opts = append(opts, kgo.WithHooks(watch))
	}
	return opts
}

// batchCompressor is the one compressor of produce batches that every
// client of the process shares (franz-go's is safe for concurrent use).
// With kgo.ProducerBatchCompression instead, each client would build its
// own from the option's slice of codecs, which kgo rewrites in place: a
// data race between clients created at once.
func batchCompressor(c config.Compression) kgo.Compressor {
	comp, err := kgo.DefaultCompressor(compressionCodec(c))
	if err != nil {
		panic("kafka compression " + string(c) + ": " + err.Error()) // compressionCodec returns known codecs only
	}
	if comp == nil {
		return uncompressed{} // kgo's answer for none; a nil compressor would mean its default, snappy
	}
	return comp
}

// uncompressed leaves produce batches as they are.
type uncompressed struct{}

func (uncompressed) Compress(*bytes.Buffer, []byte, ...kgo.CompressFlag) ([]byte, kgo.CompressionCodecType) {
	return nil, kgo.CodecNone // nil: kgo sends the batch as it is
}

// compressionCodec is the franz-go codec of c; snappy (franz-go's and the
// setting's default) when c is unset.
func compressionCodec(c config.Compression) kgo.CompressionCodec {
	switch c {
	case config.CompressionNone:
		return kgo.NoCompression()
	case config.CompressionGzip:
		return kgo.GzipCompression()
	case config.CompressionLZ4:
		return kgo.Lz4Compression()
	case config.CompressionZstd:
		return kgo.ZstdCompression()
	}
	return kgo.SnappyCompression()
}

// saslMechanism is the configured SASL mechanism; nil for none.
func saslMechanism(s config.SASL) sasl.Mechanism {
	switch s.Mechanism {
	case config.SASLPlain:
		return plain.Auth{User: s.Username, Pass: s.Password.Reveal()}.AsMechanism()
	case config.SASLScramSHA256:
		return scram.Auth{User: s.Username, Pass: s.Password.Reveal()}.AsSha256Mechanism()
	case config.SASLScramSHA512:
		return scram.Auth{User: s.Username, Pass: s.Password.Reveal()}.AsSha512Mechanism()
	case config.SASLOAuthBearer:
		// Called for every new connection and re-authentication: a token
		// file is read again each time, so a rotated token is picked up.
		return oauth.Oauth(func(context.Context) (oauth.Auth, error) {
			tok, err := s.OAuth.CurrentToken()
			if err != nil {
				return oauth.Auth{}, securityErrorf(err, "Kafka SASL OAUTHBEARER: %v: check kafka.sasl.oauth.token_file (KAFKA_SASL_OAUTH_TOKEN_FILE)", err)
			}
			return oauth.Auth{Token: tok.Reveal(), Extensions: s.OAuth.Extensions}, nil
		})
	case config.SASLAWSMSKIAM:
		return aws.Auth{
			AccessKey:    s.AWS.AccessKeyID,
			SecretKey:    s.AWS.SecretAccessKey.Reveal(),
			SessionToken: s.AWS.SessionToken.Reveal(),
		}.AsManagedStreamingIAMMechanism()
	}
	return nil
}

// registryTimeout bounds each request to the schema registry.
const registryTimeout = 30 * time.Second

// newRegistryClient is a client of the configured schema registry, with
// its basic auth and TLS; r.URL must be set. Every registry client of the
// process is built here.
func newRegistryClient(r config.SchemaRegistry) (*sr.Client, error) {
	hc := &http.Client{Timeout: registryTimeout}
	if tc := r.TLS.ClientConfig(); tc != nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = tc
		hc.Transport = tr
	}
	opts := []sr.ClientOpt{sr.URLs(r.URL.String()), sr.HTTPClient(hc)}
	if r.Username != "" {
		opts = append(opts, sr.BasicAuth(r.Username, r.Password.Reveal()))
	}
	rc, err := sr.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("schema registry client: %w", err)
	}
	return rc, nil
}

// spoolDir is where the sources spool downloads: a folder of the
// instance's own under temp_dir (named after the transactional identity and
// group.instance_id), so that the files a crashed instance left there are
// removed by its restart (see build) without touching another instance's
// or another connector's.
func spoolDir(cfg *config.Config) string {
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, cfg.Kafka.TransactionalID+"-"+cfg.Group.InstanceID)
	return filepath.Join(cfg.TempDir, "freshchat-spool-"+strings.TrimSuffix(safe, "-"))
}

// accounts are the configured accounts: the default one alone when the
// configuration was not loaded from settings (the demo builds its own).
func accounts(cfg *config.Config) []config.Account {
	if len(cfg.Accounts) > 0 {
		return cfg.Accounts
	}
	return []config.Account{cfg.SingleAccount()}
}

// sourceClient builds the Freshchat client of account a from the settings.
// httpClient may be nil for the default.
func sourceClient(cfg *config.Config, a config.Account, logger *slog.Logger, httpClient *http.Client) (*source.Client, error) {
	f := cfg.Freshchat
	if err := os.MkdirAll(spoolDir(cfg), 0o700); err != nil {
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
		TempDir:          spoolDir(cfg),
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
func pipelineOptions(cfg *config.Config, logger *slog.Logger, watch *securityWatch) (pipeline.Options, error) {
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
		Kafka:              kafkaOpts(cfg, watch),
		ConnectTimeout:     cfg.Kafka.ConnectTimeout,
		DeadLetterTopic:    cfg.DeadLetter.Topic,
		Policy:             func(event string) pipeline.Policy { return pipeline.Policy(cfg.DeadLetter.PolicyFor(event)) },
		Logger:             logger,
	}
	for _, a := range accounts(cfg) {
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
		rc, err := newRegistryClient(cfg.SchemaRegistry)
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
	n, err := source.RemoveSpooled(spoolDir(cfg))
	switch {
	case err != nil:
		logger.Warn("cannot remove downloads left by an earlier run", "error", err.Error())
	case n > 0:
		logger.Info("removed downloads left by an earlier run", "files", n, "dir", spoolDir(cfg))
	}
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	watch := newSecurityWatch(cfg.Kafka.SASL, stop)
	o, err := pipelineOptions(cfg, logger, watch)
	if err != nil {
		return nil, err
	}
	if tweak != nil {
		tweak(&o)
	}
	p, err := pipeline.New(ctx, o)
	if err != nil {
		return nil, explainRegistry(watch.explain(err), cfg.SchemaRegistry)
	}
	return p, nil
}
