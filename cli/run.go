package cli

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/buildinfo"
	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/connect"
	"github.com/freshstream/freshchat-kafka/lifecycle"
	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/preflight"
	"github.com/freshstream/freshchat-kafka/source"
	"github.com/freshstream/freshchat-kafka/telemetry"
	"github.com/freshstream/freshchat-kafka/termview"
)

func runCommand(ctx context.Context, args []string, s Streams) (err error) {
	fs := commandFlags("run", "run [--config FILE] [--from TIME] [--to TIME] [--events A,B]",
		`Extracts every configured event into its topic, exactly once. Without
--from/--to it runs live: each event goes on from its checkpoint (or the
configured start), backfills, then follows new windows until stopped. With
--from and --to it extracts every row with from <= created_at < to and
exits; with --to alone each event goes on from its checkpoint up to it.
A --from that would skip rows, or start before what an event ever
extracted, is refused before anything is written (connector reset moves a
checkpoint on purpose).

Exit codes: 0 done (bounded range committed, or stopped by SIGINT/SIGTERM),
1 failed, 2 bad usage or configuration (also: refused by the group because
the instances' configurations differ, or another deployment writes the same
topics), or a range the checkpoints cannot honour, 3 another process joined
the group with this instance's group.instance_id.

Every instance started with the same configuration joins one group (named
after kafka.transactional_id) and the group shares the units of work, one
per account and event, among them: run more instances for availability.`, s)
	path := fs.String("config", "", "YAML configuration file (every setting also has an environment variable)")
	from := fs.String("from", "", "bounded run: first instant to extract (RFC 3339, 2006-01-02, or relative like -7d); "+
		"an event with a checkpoint continues from it, and a --from that would skip or miss rows is refused (exit 2)")
	to := fs.String("to", "", "bounded run: extract rows created before this instant, commit, and exit 0 (default now; "+
		"given alone, each event goes on from its checkpoint up to it)")
	events := fs.String("events", "", "comma-separated events to extract (default: all 12, or the configured list)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(config.LoadOptions{
		Path:           *path,
		Overrides:      config.Overrides{From: *from, To: *to, Events: *events},
		RequireAPI:     true,
		RequireBrokers: true,
	})
	if err != nil {
		return err
	}
	// A bounded run on a terminal shows a live progress view on stdout; info
	// logs would tear it, so only warnings and errors reach a terminal then.
	view := cfg.Bounded != nil && termview.IsTerminal(s.Out)
	logCfg := cfg.Log
	if view && termview.IsTerminal(s.Err) && logCfg.Level < slog.LevelWarn {
		logCfg.Level = slog.LevelWarn
	}
	logger := newLogger(logCfg, s.Err)
	// The error that ends the run also goes through the logger (Main prints
	// it on stderr as well), so that log collectors see it as a record.
	defer func() { logRunError(logger, err) }()
	b := buildinfo.Current()
	logger.Info("starting connector", "version", b.Version, "commit", b.Commit, "config", cfg)
	for _, w := range cfg.Warnings() {
		logger.Warn(w)
	}

	tel, err := telemetry.Start(cfg, nil, logger)
	if err != nil {
		return usageError{err}
	}
	defer tel.Stop()
	if err := preflight.WaitForAPI(ctx, cfg, logger, preflight.Wait{
		Freshchat: func(cfg *config.Config, a config.Account) (*source.Client, error) {
			return sourceClient(cfg, a, logger, nil)
		},
		Watch: tel.WatchAPI,
	}); err != nil {
		return err
	}
	watch := connect.NewOutageWatch(logger, tel.Readiness())
	clients := &lifecycle.Clients{}
	p, err := build(ctx, cfg, logger, func(o *pipeline.Options) {
		tel.Attach(o)
		o.Kafka = append(o.Kafka, kgo.WithHooks(watch, clients))
		o.Group = groupConfig(cfg, *from, *to)
	})
	if err != nil {
		return err
	}
	tel.ServeStatus(cfg, p)
	tel.Started(ctx, p, p.Units())
	watch.Arm()
	logger.Info("ready", "units", len(p.Units()), "accounts", len(cfg.AllAccounts()), "framing", p.Framing(), "mode", mode(cfg),
		"group", cfg.Kafka.TransactionalID, "instance_id", cfg.Group.InstanceID)
	stopView := func() {}
	if view {
		stopView = termview.ShowProgress(s.Out, p, 500*time.Millisecond)
	}
	st, err := lifecycle.Run(ctx, p, clients, lifecycle.AbortBudget)
	stopView()
	tel.Finished(err)
	st.Close(ctx, p)
	// Once its clients were closed under it, the pipeline's error says only
	// that: the stop was the signal's.
	signaled := errors.Is(err, context.Canceled) || st.Forced && ctx.Err() != nil
	st.Log(logger, signaled, err, watch, cfg.Kafka.TransactionTimeout)
	if signaled {
		return nil
	}
	if err == nil && cfg.Bounded != nil {
		attrs := []any{"to", cfg.Bounded.To}
		if !cfg.Bounded.From.IsZero() {
			attrs = append([]any{"from", cfg.Bounded.From}, attrs...)
		}
		logger.Info("bounded range committed", attrs...)
	}
	return err
}

// mode names the run's mode for the logs.
func mode(cfg *config.Config) string {
	if cfg.Bounded != nil {
		return "bounded"
	}
	return "live"
}

// logRunError logs the error that ends a run, if any: a stop on a signal
// is no error.
func logRunError(logger *slog.Logger, err error) {
	if err != nil && !errors.Is(err, context.Canceled) {
		logger.Error("connector stopped", "error", err.Error())
	}
}
