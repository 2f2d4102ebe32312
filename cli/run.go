package cli

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/instance"
	"github.com/freshstream/freshchat-kafka/pipeline"
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
1 failed, 2 bad usage or configuration, or a range the checkpoints cannot
honour, 3 fenced (another instance with the same transactional ID took over).`, s)
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
	view := cfg.Bounded != nil && isTerminal(s.Out)
	logCfg := cfg.Log
	if view && isTerminal(s.Err) && logCfg.Level < slog.LevelWarn {
		logCfg.Level = slog.LevelWarn
	}
	logger := newLogger(logCfg, s.Err)
	// The error that ends the run also goes through the logger (Main prints
	// it on stderr as well), so that log collectors see it as a record.
	defer func() { logRunError(logger, err) }()
	b := currentBuild()
	logger.Info("starting connector", "version", b.Version, "commit", b.Commit, "config", cfg)
	for _, w := range cfg.Warnings() {
		logger.Warn(w)
	}

	tel, err := startTelemetry(cfg, logger)
	if err != nil {
		return err
	}
	defer tel.stop()
	if err := waitForAPI(ctx, cfg, logger, tel); err != nil {
		return err
	}
	watch := newKafkaWatch(logger, tel.readiness())
	clients := &openClients{}
	var lease atomic.Pointer[instance.Lease]
	p, err := build(ctx, cfg, logger, func(o *pipeline.Options) {
		tel.attach(o)
		o.Kafka = append(o.Kafka, kgo.WithHooks(watch, clients))
		o.Others = func(ctx context.Context) (string, error) {
			l := lease.Load()
			if l == nil {
				return "", nil // without the lease, nothing says who else runs
			}
			others, err := l.Others(ctx)
			if err != nil || len(others) == 0 {
				return "", err
			}
			return describeHolders(others), nil
		}
	})
	if err != nil {
		return err
	}
	tel.serveStatus(cfg, p, lease.Load) // holders once the lease is held
	tel.started(ctx, p, cfg.Events)
	watch.arm()
	// The lease is advisory (status and reset see this instance through
	// it); joining the group can take a while after a crash, when dead
	// members are still listed, so it never holds the work back.
	leaseCtx, cancelLease := context.WithCancel(ctx)
	released := make(chan func(), 1)
	go func() {
		l, release := holdLease(leaseCtx, cfg, logger, kgo.WithHooks(watch))
		lease.Store(l)
		released <- release
	}()
	defer func() {
		cancelLease()
		releaseWithin(<-released, releaseBudget, logger)
	}()
	logger.Info("ready", "events", len(cfg.Events), "framing", p.Framing(), "mode", mode(cfg))
	stopView := func() {}
	if view {
		stopView = showProgress(s.Out, p, 500*time.Millisecond)
	}
	st, err := runBounded(ctx, p, clients, abortBudget)
	stopView()
	tel.finished(err)
	if !st.stuck {
		st.closeErr = closeBy(ctx, p, st.deadline)
	}
	// Once its clients were closed under it, the pipeline's error says only
	// that: the stop was the signal's.
	signaled := errors.Is(err, context.Canceled) || st.forced && ctx.Err() != nil
	if st.clean() && !(signaled && watchDown(watch)) {
		if signaled {
			logger.Info("stopped on signal; open transactions were aborted, the next start resumes from the last commit")
		}
	} else {
		logUnaborted(logger, cfg, watch, st, signaled, err)
	}
	if signaled {
		return nil
	}
	if err == nil && cfg.Bounded != nil {
		logger.Info("bounded range committed", "from", cfg.Bounded.From, "to", cfg.Bounded.To)
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

// holdLease holds the instance lease until the returned release is called
// (the lease is nil when it could not be held),
// so that status and reset see this process. Without it nothing is at risk
// (a reset would fence this instance), so a failure is only a warning.
// extra are added to the lease client's connection options.
func holdLease(ctx context.Context, cfg *config.Config, logger *slog.Logger, extra ...kgo.Opt) (*instance.Lease, func()) {
	hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	lease, err := instance.Hold(hctx, append(kafkaOpts(cfg, nil), extra...), cfg.Kafka.TransactionalID, cfg.Kafka.CheckpointTopic, logger)
	if err != nil && ctx.Err() != nil {
		return nil, func() {} // stopping before the lease was held
	}
	if err != nil {
		logger.Warn("cannot hold the instance lease; status and reset will not see this instance", "error", err.Error())
		return nil, func() {}
	}
	return lease, func() { lease.Close() }
}
