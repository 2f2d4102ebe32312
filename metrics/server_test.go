package metrics_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/metrics"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func TestServerRoutes(t *testing.T) {
	var r metrics.Readiness
	m := metrics.New(metrics.Options{Readiness: &r})
	var stuckAfter atomic.Int64
	srv := metrics.NewServer("127.0.0.1:0", m, func() error {
		return r.Check(time.Now(), time.Duration(stuckAfter.Load()))
	}, nil)
	require.NoError(t, srv.Start())
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	require.NotEqual(t, "127.0.0.1:0", srv.Addr(), "Addr reports the bound port")
	base := "http://" + srv.Addr()

	code, body := get(t, base+"/healthz")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ok\n", body)

	tests := []struct {
		name     string
		do       func()
		wantCode int
		wantBody string
	}{
		{"starting", func() {}, http.StatusServiceUnavailable, "not connected to Kafka\n"},
		{"connected", func() { r.SetConnected(true) }, http.StatusOK, "ok\n"},
		{"stuck", func() {
			r.Progressed("Message-Sent", time.Now().Add(-45*time.Minute))
			stuckAfter.Store(int64(30 * time.Minute))
		}, http.StatusServiceUnavailable, "stuck: Message-Sent no progress for 45m0s\n"},
		{"progressed", func() { m.ChunkCommitted("Message-Sent", 1, 1, 0) }, http.StatusOK, "ok\n"},
		{"fenced", func() { r.SetFenced(errors.New("transactional ID x-Message-Sent")) },
			http.StatusServiceUnavailable, "fenced by another instance: transactional ID x-Message-Sent\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.do()
			code, body := get(t, base+"/readyz")
			assert.Equal(t, tt.wantCode, code)
			assert.Equal(t, tt.wantBody, body)
			code, _ = get(t, base+"/healthz")
			assert.Equal(t, http.StatusOK, code, "alive whatever readiness says")
		})
	}

	code, body = get(t, base+"/metrics")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `freshchat_connector_rows_produced_total{account="default",event="Message-Sent"} 1`)

	resp, err := http.Post(base+"/healthz", "text/plain", strings.NewReader(""))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestServerLifecycle(t *testing.T) {
	srv := metrics.NewServer("127.0.0.1:0", nil, nil, nil)
	require.NoError(t, srv.Shutdown(context.Background()), "shutting down a server never started")
	require.NoError(t, srv.Start())
	assert.Error(t, srv.Start(), "a server starts once")
	addr := srv.Addr()

	busy := metrics.NewServer(addr, nil, nil, nil)
	assert.ErrorContains(t, busy.Start(), "listening on "+addr)

	require.NoError(t, srv.Shutdown(context.Background()))
	_, err := http.Get("http://" + addr + "/healthz")
	assert.Error(t, err, "nothing listens after Shutdown")
}

func TestServerStartsOnTheCallersListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := metrics.NewServer("127.0.0.1:9", nil, nil, nil) // the address is not used
	require.NoError(t, srv.StartOn(ln))
	assert.Equal(t, ln.Addr().String(), srv.Addr())
	code, body := get(t, "http://"+srv.Addr()+"/healthz")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ok\n", body)

	again, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	assert.Error(t, srv.StartOn(again), "a server starts once")
	_, err = again.Accept()
	assert.ErrorIs(t, err, net.ErrClosed, "a StartOn that fails closes its listener")

	require.NoError(t, srv.Shutdown(context.Background()))
	_, err = http.Get("http://" + ln.Addr().String() + "/healthz")
	assert.Error(t, err, "Shutdown closes the listener")
}

func TestStatusRoute(t *testing.T) {
	srv := metrics.NewServer("127.0.0.1:0", nil, nil, nil)
	require.NoError(t, srv.Start())
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	base := "http://" + srv.Addr()

	code, body := get(t, base+"/status")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "starting: no status yet\n", body)

	var calls atomic.Int32
	srv.SetStatus(func(ctx context.Context) any {
		calls.Add(1)
		assert.NoError(t, ctx.Err(), "the request's context")
		return map[string]any{"events": []string{"Message-Sent"}}
	})
	resp, err := http.Get(base + "/status")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.JSONEq(t, `{"events":["Message-Sent"]}`, string(raw))
	assert.EqualValues(t, 1, calls.Load())

	srv.SetStatus(func(context.Context) any { return func() {} }) // cannot be encoded
	code, body = get(t, base+"/status")
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Contains(t, body, "encoding the status")
}

func TestPprofIsOptIn(t *testing.T) {
	srv := metrics.NewServer("127.0.0.1:0", nil, nil, nil)
	require.NoError(t, srv.Start())
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	base := "http://" + srv.Addr()

	code, _ := get(t, base+"/debug/pprof/")
	assert.Equal(t, http.StatusNotFound, code, "off by default")

	srv.EnablePprof()
	srv.EnablePprof() // twice is harmless
	code, body := get(t, base+"/debug/pprof/")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "goroutine")
	code, body = get(t, base+"/debug/pprof/goroutine?debug=1")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "goroutine profile")
	code, _ = get(t, base+"/debug/pprof/cmdline")
	assert.Equal(t, http.StatusOK, code)
}
