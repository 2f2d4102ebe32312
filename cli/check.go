package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/preflight"
	"github.com/freshstream/freshchat-kafka/source"
)

const checkSynopsis = "check [--config FILE] [--timeout DURATION]"

// checkCommand checks the configuration and everything it points at, one
// line per check, and fails when any check fails.
func checkCommand(ctx context.Context, args []string, s Streams) error {
	fs := commandFlags("check", checkSynopsis, `Validates the configuration, then checks, one line each: the Freshchat API
and token; that the Kafka brokers answer; that they support transactions;
the topics (existing, or creatable at start); that the checkpoint topic is
compacted; the schema registry, and that each event's schema may be
registered under its subject. ✓ passed, ✗ failed (the line says why),
- not checked (not configured, or an earlier check failed).

Exit codes: 0 every check passed, 1 a check failed, 2 bad usage or
configuration.`, s)
	path := fs.String("config", "", "YAML configuration file (every setting also has an environment variable)")
	timeout := fs.Duration("timeout", 10*time.Second, "how long each check waits for an answer")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *timeout <= 0 {
		return usageError{fmt.Errorf("--timeout must be positive, got %s", *timeout)}
	}
	cfg, err := config.Load(config.LoadOptions{Path: *path, RequireAPI: true, RequireBrokers: true})
	if err != nil {
		return err
	}
	logger := newLogger(cfg.Log, s.Err)
	r := preflight.Run(ctx, s.Out, cfg, preflight.Options{
		Timeout: *timeout,
		Freshchat: func(probe *config.Config, a config.Account) (*source.Client, error) {
			return sourceClient(probe, a, logger, nil)
		},
	})
	if r.Failed > 0 {
		return fmt.Errorf("%d of %d checks failed", r.Failed, r.Total)
	}
	return nil
}
