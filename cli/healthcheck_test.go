package cli_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/cli"
	"github.com/freshstream/freshchat-kafka/internal/porttest"
	"github.com/freshstream/freshchat-kafka/metrics"
)

func TestHealthcheck(t *testing.T) {
	clearEnv(t)
	r := &metrics.Readiness{}
	srv := metrics.NewServer("127.0.0.1:0", metrics.New(metrics.Options{Readiness: r}), r.Probe(time.Hour), nil)
	require.NoError(t, srv.Start())
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	_, port, err := net.SplitHostPort(srv.Addr())
	require.NoError(t, err)
	// As the connector's default ":9464" would be: no host, so the
	// healthcheck asks 127.0.0.1.
	t.Setenv("METRICS_ADDR", ":"+port)
	// Settings the healthcheck does not need are not read, even when they
	// would not load.
	t.Setenv("FRESHCHAT_API_TOKEN_FILE", "/nonexistent/token")

	code, out, errs := runMain(t, "healthcheck")
	assert.Equal(t, cli.ExitError, code)
	assert.Empty(t, out)
	assert.Contains(t, errs, "connector: not ready: GET http://127.0.0.1:"+port+"/readyz: 503 Service Unavailable: not connected to Kafka")

	r.SetConnected(true)
	code, out, errs = runMain(t, "healthcheck")
	assert.Equal(t, cli.ExitOK, code, errs)
	assert.Equal(t, "ok\n", out)

	t.Run("--url", func(t *testing.T) {
		code, out, errs := runMain(t, "healthcheck", "--url", "http://"+srv.Addr()+"/healthz")
		assert.Equal(t, cli.ExitOK, code, errs)
		assert.Equal(t, "ok\n", out)
		code, _, errs = runMain(t, "healthcheck", "--url", "http://"+srv.Addr()+"/nothing")
		assert.Equal(t, cli.ExitError, code)
		assert.Contains(t, errs, "404 Not Found")
		code, _, errs = runMain(t, "healthcheck", "--url", "127.0.0.1:9464/readyz")
		assert.Equal(t, cli.ExitUsage, code)
		assert.Contains(t, errs, "want an http:// or https:// URL")
	})
	t.Run("--config", func(t *testing.T) {
		t.Setenv("METRICS_ADDR", "")
		file := filepath.Join(t.TempDir(), "config.yaml")
		require.NoError(t, os.WriteFile(file, []byte("metrics:\n  addr: 0.0.0.0:"+port+"\n"), 0o600))
		code, out, errs := runMain(t, "healthcheck", "--config", file)
		assert.Equal(t, cli.ExitOK, code, errs)
		assert.Equal(t, "ok\n", out)
	})
	t.Run("metrics off", func(t *testing.T) {
		t.Setenv("METRICS_ADDR", "off")
		code, _, errs := runMain(t, "healthcheck")
		assert.Equal(t, cli.ExitUsage, code)
		assert.Contains(t, errs, "metrics.addr (METRICS_ADDR) is off")
	})
	t.Run("bad metrics.addr", func(t *testing.T) {
		t.Setenv("METRICS_ADDR", "9464")
		code, _, errs := runMain(t, "healthcheck")
		assert.Equal(t, cli.ExitUsage, code)
		assert.Contains(t, errs, "metrics.addr (env METRICS_ADDR): bad value")
	})
	t.Run("nothing listening", func(t *testing.T) {
		addr := porttest.Reserve(t).Addr()
		t.Setenv("METRICS_ADDR", addr)
		code, _, errs := runMain(t, "healthcheck")
		assert.Equal(t, cli.ExitError, code)
		assert.Contains(t, errs, "connector: not ready: Get \"http://"+addr+"/readyz\"")
		assert.Contains(t, errs, "connection refused")
	})
	t.Run("no answer in time", func(t *testing.T) {
		hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
		t.Cleanup(hang.Close)
		began := time.Now()
		code, _, errs := runMain(t, "healthcheck", "--url", hang.URL+"/readyz", "--timeout", "200ms")
		assert.Equal(t, cli.ExitError, code)
		assert.Contains(t, errs, "no answer within 200ms")
		assert.Less(t, time.Since(began), 5*time.Second)
	})
}
