package preflight

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/source"
)

// Wait is what [WaitForAPI] needs besides the configuration.
type Wait struct {
	// Freshchat builds account a's client from cfg, as the connector does
	// at start. The cfg it is given is a copy that makes one attempt per
	// request: the retries are WaitForAPI's, logged by it.
	Freshchat func(cfg *config.Config, a config.Account) (*source.Client, error)
	// Watch, when set, is given the first account's client before its
	// first request, so that metrics and /readyz follow the probe's view of
	// the API while the start waits.
	Watch func(*source.Client)
	// Base and Max pace the retries: the first after Base, each next one
	// twice as late, up to Max. Zero means 1s and 1m.
	Base, Max time.Duration
}

// WaitForAPI checks, before anything touches Kafka, that each account's
// Freshchat API answers and accepts its token (source.Client.Check), as
// pipeline.New waits for the brokers. A token refused (401, 403) or an
// answer retrying cannot change ends the wait with the cause and the
// settings to check; an API that cannot be reached or fails (5xx) is
// retried with backoff, logged, until it answers or ctx ends. Checking
// first means a bad token never gets as far as fencing a running instance.
//
// With several accounts, one whose token is refused is logged and left
// out (the pipeline stops that account's units on their first request):
// WaitForAPI fails only when every account's token is refused.
func WaitForAPI(ctx context.Context, cfg *config.Config, logger *slog.Logger, w Wait) error {
	if w.Base <= 0 {
		w.Base = time.Second
	}
	if w.Max <= 0 {
		w.Max = time.Minute
	}
	all := cfg.AllAccounts()
	var refused []error
	for i, a := range all {
		err := waitForAccount(ctx, cfg, a, logger, w, i == 0)
		switch {
		case err == nil:
		case len(all) > 1 && source.TokenRefused(err):
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

// waitForAccount is WaitForAPI for one account; watch says whether w.Watch
// follows its probe.
func waitForAccount(ctx context.Context, cfg *config.Config, a config.Account, logger *slog.Logger, w Wait, watch bool) error {
	probe := *cfg
	probe.Freshchat.RetryAttempts = 1
	src, err := w.Freshchat(&probe, a)
	if err != nil {
		return err
	}
	if watch && w.Watch != nil {
		w.Watch(src)
	}
	api := a.APIURL.Redacted()
	if Named(cfg, a) {
		api = fmt.Sprintf("%s (account %s)", api, a.Name)
	}
	return src.WaitForAPI(ctx, source.APIWait{Name: api, Base: w.Base, Max: w.Max, Logger: logger,
		Explain: func(err error) error {
			if ae, ok := errors.AsType[*source.APIError](err); ok && source.TokenRefused(err) {
				return fmt.Errorf("freshchat API %s refused the token (%d %s): %s; check %s: %w",
					api, ae.StatusCode, http.StatusText(ae.StatusCode), TokenHint(ae.StatusCode), TokenSettings(cfg, a), err)
			}
			return fmt.Errorf("freshchat API %s: unexpected answer to the start's check: %w; check %s", api, err, URLSetting(cfg, a))
		}})
}
