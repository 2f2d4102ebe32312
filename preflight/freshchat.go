package preflight

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/source"
)

// freshchat asks account a's API for a report that does not exist, the
// probe the connector makes at start: 404 means the token was accepted, 401
// or 403 that it was refused.
func (c *checker) freshchat(ctx context.Context, cfg *config.Config, a config.Account) {
	name := "Freshchat API"
	if Named(cfg, a) {
		name = "Freshchat " + a.Name
	}
	api := a.APIURL.Redacted()
	probe := *cfg
	probe.Freshchat.RetryAttempts = 1
	probe.Freshchat.RequestTimeout = c.o.Timeout
	src, err := c.o.Freshchat(&probe, a)
	if err != nil {
		c.fail(name, "%s: %v", api, err)
		return
	}
	ctx, cancel := c.within(ctx)
	defer cancel()
	err = src.Check(ctx)
	var ae *source.APIError
	switch {
	case err == nil:
		c.pass(name, "%s: token accepted", api)
	case source.TokenRefused(err) && errors.As(err, &ae):
		c.fail(name, "%s: token refused (%d %s): check the token in %s: %s",
			api, ae.StatusCode, http.StatusText(ae.StatusCode), TokenSettings(cfg, a), TokenHint(ae.StatusCode))
	case errors.As(err, &ae):
		c.fail(name, "%s: unexpected answer: %v; check %s", api, err, URLSetting(cfg, a))
	default:
		c.fail(name, "%s unreachable: %v; check %s and the network", api, err, URLSetting(cfg, a))
	}
}

// Named says whether messages about account a name it: with accounts
// configured, rather than the top-level freshchat settings.
func Named(cfg *config.Config, a config.Account) bool {
	return len(cfg.Accounts) > 1 || a.Name != config.DefaultAccount
}

// TokenSettings names the settings that hold account a's token, with their
// environment variables.
func TokenSettings(cfg *config.Config, a config.Account) string {
	if Named(cfg, a) {
		return fmt.Sprintf("the api_token (%s) or api_token_file (%s) of account %s",
			config.AccountEnv(a.Name, "api_token"), config.AccountEnv(a.Name, "api_token_file"), a.Name)
	}
	return "freshchat.api_token (FRESHCHAT_API_TOKEN) or freshchat.api_token_file (FRESHCHAT_API_TOKEN_FILE)"
}

// URLSetting names the setting that holds account a's API URL, with its
// environment variable.
func URLSetting(cfg *config.Config, a config.Account) string {
	if Named(cfg, a) {
		return fmt.Sprintf("the api_url (%s) of account %s", config.AccountEnv(a.Name, "api_url"), a.Name)
	}
	return "freshchat.api_url (FRESHCHAT_API_URL)"
}

// TokenHint says what the API's refusal of a token with status means:
// for 403, a token without the permission or plan for raw reports; for any
// other, a token that is missing, wrong, expired or revoked.
func TokenHint(status int) string {
	if status == http.StatusForbidden {
		return "it lacks permission for raw reports, or the account's plan does not include them"
	}
	return "it is missing, wrong, expired or revoked"
}
