package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/preflight"
	"github.com/freshstream/freshchat-kafka/source"
	"github.com/freshstream/freshchat-kafka/telemetry"
)

// waitForAPI checks, before anything touches Kafka, that the Freshchat API
// answers and accepts the token (source.Client.Check), as pipeline.New
// waits for the brokers: a token refused (401, 403) or an answer retrying
// cannot change ends the start with the cause (exit 1), and an API that
// cannot be reached or fails (5xx) is retried with backoff, logged, until
// it answers or ctx ends. Checking first means a bad token never gets as
// far as fencing a running instance. tel, when metrics are on, watches the
// probe's health, so /readyz says why the start waits.
func waitForAPI(ctx context.Context, cfg *config.Config, logger *slog.Logger, tel *telemetry.Telemetry) error {
	all := cfg.AllAccounts()
	var refused []error
	for i, a := range all {
		err := waitForAccount(ctx, cfg, a, logger, tel, i == 0)
		switch {
		case err == nil:
		case len(all) > 1 && source.TokenRefused(err):
			// One account's refused token stops that account's units (the
			// pipeline finds it on their first request), not the others.
			logger.Error("an account's API token was refused: its units will not be extracted; the other accounts go on", "account", a.Name, "error", err.Error())
			refused = append(refused, err)
		default:
			return err
		}
	}
	if len(refused) == len(all) {
		return errors.Join(refused...)
	}
	return nil
}

// waitForAccount is waitForAPI for one account; watch says whether the
// metrics follow its probe.
func waitForAccount(ctx context.Context, cfg *config.Config, a config.Account, logger *slog.Logger, tel *telemetry.Telemetry, watch bool) error {
	probe := *cfg
	probe.Freshchat.RetryAttempts = 1 // the retries are WaitForAPI's, logged there
	src, err := sourceClient(&probe, a, logger, nil)
	if err != nil {
		return err
	}
	if watch {
		tel.WatchAPI(src)
	}
	api := a.APIURL.Redacted()
	if preflight.Named(cfg, a) {
		api = fmt.Sprintf("%s (account %s)", api, a.Name)
	}
	// The first retry after a second, each next one twice as late, up to a minute.
	return src.WaitForAPI(ctx, source.APIWait{Name: api, Base: time.Second, Max: time.Minute, Logger: logger,
		Explain: func(err error) error {
			if ae, ok := errors.AsType[*source.APIError](err); ok && source.TokenRefused(err) {
				return fmt.Errorf("freshchat API %s refused the token (%d %s): %s; check %s: %w",
					api, ae.StatusCode, http.StatusText(ae.StatusCode), preflight.TokenHint(ae.StatusCode), preflight.TokenSettings(cfg, a), err)
			}
			return fmt.Errorf("freshchat API %s: unexpected answer to the start's check: %w; check %s", api, err, preflight.URLSetting(cfg, a))
		}})
}
