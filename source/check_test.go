package source_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/internal/logbuf"
	"github.com/freshstream/freshchat-kafka/source"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

func TestCheckAgainstTheSimulator(t *testing.T) {
	t.Parallel()
	sim := freshchattest.NewServer(freshchattest.Options{Token: testToken, TempDir: t.TempDir()})
	t.Cleanup(sim.Close)
	base, err := url.Parse(sim.URL())
	require.NoError(t, err)

	good, _ := newClient(t, "", func(c *source.ClientConfig) { c.BaseURL = base })
	require.NoError(t, good.Check(context.Background()), "a 404 for the unknown report means the token was accepted")
	h := good.Stats().API
	assert.False(t, h.Failing())
	assert.False(t, h.LastOK.IsZero())

	bad, _ := newClient(t, "", func(c *source.ClientConfig) { c.BaseURL = base; c.Token = "not-the-token" })
	err = bad.Check(context.Background())
	require.Error(t, err)
	assert.True(t, source.TokenRefused(err), "%v", err)
	assert.False(t, source.Retryable(err))
	h = bad.Stats().API
	assert.True(t, h.TokenRefused())
	assert.Equal(t, 401, h.LastStatus)
	assert.Contains(t, h.LastError, "401")
	assert.NotContains(t, h.LastError, "not-the-token")
}

func TestAPIHealthFollowsTheAnswers(t *testing.T) {
	t.Parallel()
	var code atomic.Int32
	srv := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		checkAuth(t, r)
		writeJSON(w, int(code.Load()), map[string]any{"code": code.Load(), "message": "m"})
	}))
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	c, _ := newClient(t, srv.URL, func(cfg *source.ClientConfig) {
		cfg.Retry.MaxAttempts = 1
		cfg.Now = func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	})
	ctx := context.Background()
	step := func(status int, advance time.Duration) source.APIHealth {
		clock.Add(int64(advance))
		code.Store(int32(status))
		_ = c.Check(ctx)
		return c.Stats().API
	}

	h := step(404, 0)
	assert.Equal(t, now, h.LastOK)
	assert.False(t, h.Failing())

	h = step(503, time.Minute)
	assert.Equal(t, now.Add(time.Minute), h.FailingSince)
	assert.Equal(t, 503, h.LastStatus)
	assert.False(t, h.TokenRefused())
	assert.Equal(t, now, h.LastOK)

	h = step(500, time.Minute)
	assert.Equal(t, now.Add(time.Minute), h.FailingSince, "failing since the first failure")

	h = step(403, time.Minute)
	assert.True(t, h.TokenRefused())
	assert.Contains(t, h.LastError, "403")

	h = step(400, time.Minute)
	assert.False(t, h.Failing(), "any other answer shows a reachable API that took the token")
	assert.Equal(t, now.Add(4*time.Minute), h.LastOK)
	assert.Zero(t, h.LastStatus)
}

func TestAPIHealthCountsNoAnswerButNotCancellation(t *testing.T) {
	t.Parallel()
	srv := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	addr := srv.URL
	srv.Close() // nothing listens any more
	c, _ := newClient(t, addr, func(cfg *source.ClientConfig) { cfg.Retry.MaxAttempts = 2 })
	err := c.Check(context.Background())
	require.Error(t, err)
	assert.True(t, source.Retryable(err), "%v", err)
	assert.False(t, source.TokenRefused(err))
	h := c.Stats().API
	assert.True(t, h.Failing())
	assert.Zero(t, h.LastStatus)
	assert.NotEmpty(t, h.LastError)

	c2, _ := newClient(t, addr, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.Error(t, c2.Check(ctx))
	assert.False(t, c2.Stats().API.Failing(), "a cancelled request says nothing about the API")
	assert.False(t, errors.Is(err, context.Canceled))
}

// scriptedCheck answers the check's GET with the statuses of script in
// turn, the last one repeated (404 is the answer of an API that took the
// token), and counts the requests.
type scriptedCheck struct {
	script []int
	n      atomic.Int32
}

func (s *scriptedCheck) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(s.n.Add(1))
	code := s.script[min(n, len(s.script))-1]
	writeJSON(w, code, map[string]any{"code": code, "message": "m"})
}

func TestWaitForAPI(t *testing.T) {
	explained := func(err error) error { return fmt.Errorf("explained: %w", err) }
	cases := []struct {
		name      string
		script    []int
		timeout   time.Duration // the caller's ctx; 0: none
		explain   func(error) error
		wantErr   string // "" for nil
		wantTook  time.Duration
		wantDelay []string // the retry_in of each logged retry
	}{
		{name: "answers at once", script: []int{404}},
		{name: "answers after the API failed", script: []int{503, 502, 500, 503, 404},
			wantTook: 1*time.Second + 2*time.Second + 4*time.Second + 4*time.Second, wantDelay: []string{"1s", "2s", "4s", "4s"}},
		{name: "a refused token is not retried", script: []int{401}, explain: explained,
			wantErr: "explained: freshchat API GET /reports/raw/" + source.CheckReportID + ": 401"},
		{name: "nor an unexpected answer, returned as is without Explain", script: []int{503, 400},
			wantErr: "freshchat API GET /reports/raw/" + source.CheckReportID + ": 400", wantTook: time.Second, wantDelay: []string{"1s"}},
		{name: "ctx ends while waiting to retry", script: []int{503}, timeout: 5 * time.Second,
			wantErr:  "freshchat API api.test unreachable (gave up after 3 attempts): context deadline exceeded: last error: freshchat API GET",
			wantTook: 5 * time.Second, wantDelay: []string{"1s", "2s", "4s"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := &scriptedCheck{script: tc.script}
				c, _ := inProcessClient(t, h, func(c *source.ClientConfig) { c.Retry.MaxAttempts = 1 })
				ctx := context.Background()
				if tc.timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tc.timeout)
					defer cancel()
				}
				logs := &logbuf.Buffer{}
				began := time.Now()
				err := c.WaitForAPI(ctx, source.APIWait{Name: "api.test", Base: time.Second, Max: 4 * time.Second,
					Logger: slog.New(slog.NewTextHandler(logs, nil)), Explain: tc.explain})
				assert.Equal(t, tc.wantTook, time.Since(began))
				if tc.wantErr == "" {
					require.NoError(t, err)
				} else {
					require.Error(t, err)
					assert.Contains(t, err.Error(), tc.wantErr)
				}
				retries := regexp.MustCompile(`msg="freshchat API unreachable; retrying" api=api.test error=.* attempt=(\d+) retry_in=(\S+)`).
					FindAllStringSubmatch(logs.String(), -1)
				require.Len(t, retries, len(tc.wantDelay), logs.String())
				for i, m := range retries {
					assert.Equal(t, strconv.Itoa(i+1), m[1])
					assert.Equal(t, tc.wantDelay[i], m[2])
				}
				if tc.wantErr == "" && len(tc.wantDelay) > 0 {
					assert.Contains(t, logs.String(), fmt.Sprintf(`msg="freshchat API reachable" api=api.test attempts=%d waited=%s`,
						len(tc.script), tc.wantTook))
				} else {
					assert.NotContains(t, logs.String(), "freshchat API reachable")
				}
			})
		})
	}
}

// TestWaitForAPIGivesUpWhenCtxEndsDuringACheck: a check cut short by the
// caller's ctx ends the wait, counting that attempt.
func TestWaitForAPIGivesUpWhenCtxEndsDuringACheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(context.Background())
		stop := errors.New("shutting down")
		c, _ := inProcessClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cancel(stop)
			<-r.Context().Done()
		}), func(c *source.ClientConfig) { c.Retry.MaxAttempts = 1 })
		err := c.WaitForAPI(ctx, source.APIWait{Name: "api.test", Base: time.Second, Max: time.Minute})
		require.Error(t, err)
		assert.ErrorIs(t, err, stop)
		assert.Equal(t, "freshchat API api.test: gave up after 1 attempts: shutting down", err.Error())
	})
}
