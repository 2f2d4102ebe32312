package source_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
