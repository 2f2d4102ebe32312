package metrics_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/metrics"
)

func TestReadyzURL(t *testing.T) {
	cases := []struct{ addr, want string }{
		{":9464", "http://127.0.0.1:9464/readyz"},
		{"0.0.0.0:9464", "http://127.0.0.1:9464/readyz"},
		{"[::]:9464", "http://127.0.0.1:9464/readyz"},
		{"10.1.2.3:9000", "http://10.1.2.3:9000/readyz"},
		{"[::1]:9464", "http://[::1]:9464/readyz"},
		{"metrics.local:80", "http://metrics.local:80/readyz"},
	}
	for _, tc := range cases {
		t.Run(tc.addr, func(t *testing.T) {
			assert.Equal(t, tc.want, metrics.ReadyzURL(tc.addr))
		})
	}
}

func TestProbeReady(t *testing.T) {
	r := &metrics.Readiness{}
	srv := metrics.NewServer("127.0.0.1:0", nil, r.Probe(time.Hour), nil)
	require.NoError(t, srv.Start())
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	target := metrics.ReadyzURL(srv.Addr())
	ctx := context.Background()

	_, err := metrics.ProbeReady(ctx, target, time.Minute)
	require.Error(t, err)
	assert.Equal(t, "not ready: GET "+target+": 503 Service Unavailable: not connected to Kafka", err.Error())

	r.SetConnected(true)
	answer, err := metrics.ProbeReady(ctx, target, time.Minute)
	require.NoError(t, err)
	assert.Equal(t, "ok", answer)

	t.Run("no answer in time", func(t *testing.T) {
		hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
		t.Cleanup(hang.Close)
		_, err := metrics.ProbeReady(ctx, hang.URL+"/readyz", 50*time.Millisecond)
		require.Error(t, err)
		assert.Equal(t, "not ready: GET "+hang.URL+"/readyz: no answer within 50ms", err.Error())
	})
	t.Run("ctx ended", func(t *testing.T) {
		ended, cancel := context.WithCancel(ctx)
		cancel()
		_, err := metrics.ProbeReady(ended, target, time.Minute)
		assert.ErrorIs(t, err, context.Canceled)
	})
}
