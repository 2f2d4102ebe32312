package preflight_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/internal/logbuf"
	"github.com/freshstream/freshchat-kafka/preflight"
	"github.com/freshstream/freshchat-kafka/source"
)

// TestWaitForAPI runs the start's API wait over one and two accounts of
// the simulator: a refused token ends it at once unless another account's
// is accepted; an API that fails is retried until it answers.
func TestWaitForAPI(t *testing.T) {
	tests := []struct {
		name    string
		tokens  []string // one per account; more than one: named accounts
		fail    int32    // the first answers that are 503
		wantErr []string
		logged  []string
	}{
		{name: "accepted", tokens: []string{token}},
		{name: "refused", tokens: []string{"wrong-SECRET"},
			wantErr: []string{"refused the token (401 Unauthorized): it is missing, wrong, expired or revoked; check freshchat.api_token (FRESHCHAT_API_TOKEN)"}},
		{name: "one of two accounts refused: the other goes on", tokens: []string{token, "wrong-SECRET"},
			logged: []string{"an account's API token was refused", "account=b"}},
		{name: "every account refused", tokens: []string{"wrong-SECRET", "wrong-SECRET"},
			wantErr: []string{"(account a) refused the token", "(account b) refused the token", "FRESHCHAT_ACCOUNT_A_API_TOKEN", "FRESHCHAT_ACCOUNT_B_API_TOKEN"}},
		{name: "unreachable, then up", tokens: []string{token}, fail: 2,
			logged: []string{"freshchat API unreachable; retrying", "attempt=2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			var failing atomic.Int32
			failing.Store(tt.fail)
			front := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				if failing.Add(-1) >= 0 {
					http.Error(rw, "down", http.StatusServiceUnavailable)
					return
				}
				w.sim.ServeHTTP(rw, r)
			}))
			t.Cleanup(front.Close)
			cfg := w.cfg
			cfg.Freshchat.APIURL = mustURL(t, front.URL+"/v2")
			cfg.Freshchat.APIToken = config.Secret(tt.tokens[0])
			if len(tt.tokens) > 1 {
				cfg.Accounts = nil
				for i, tok := range tt.tokens {
					a := cfg.SingleAccount()
					a.Name, a.APIToken, a.TopicTemplate = string(rune('a'+i)), config.Secret(tok), "freshchat.{account}.{event}"
					cfg.Accounts = append(cfg.Accounts, a)
				}
			}
			var logs logbuf.Buffer
			var watched []*source.Client
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err := preflight.WaitForAPI(ctx, cfg, slog.New(slog.NewTextHandler(&logs, nil)), preflight.Wait{
				Freshchat: func(cfg *config.Config, a config.Account) (*source.Client, error) {
					assert.Equal(t, 1, cfg.Freshchat.RetryAttempts, "the retries are WaitForAPI's")
					return source.NewClient(source.ClientConfig{BaseURL: a.APIURL, Token: a.APIToken.Reveal(), TempDir: t.TempDir(),
						Retry: source.RetryConfig{MaxAttempts: cfg.Freshchat.RetryAttempts}})
				},
				Watch: func(c *source.Client) { watched = append(watched, c) },
				Base:  time.Millisecond, Max: 10 * time.Millisecond,
			})
			if tt.wantErr == nil {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				for _, want := range tt.wantErr {
					assert.Contains(t, err.Error(), want)
				}
				assert.NotContains(t, err.Error(), "wrong-SECRET", "the token is never shown")
			}
			for _, want := range tt.logged {
				assert.Contains(t, logs.String(), want)
			}
			assert.NotContains(t, logs.String(), "SECRET")
			assert.Len(t, watched, 1, "only the first account's probe is watched")
		})
	}
}
