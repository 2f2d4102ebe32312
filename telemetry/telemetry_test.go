package telemetry_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/sink"
	"github.com/freshstream/freshchat-kafka/source"
	"github.com/freshstream/freshchat-kafka/telemetry"
)

var quiet = slog.New(slog.DiscardHandler)

// start serves telemetry on a free loopback port.
func start(t *testing.T) *telemetry.Telemetry {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cfg := config.Defaults(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	cfg.Metrics.Addr = ln.Addr().String()
	tel, err := telemetry.Start(&cfg, ln, quiet)
	require.NoError(t, err)
	t.Cleanup(tel.Stop)
	return tel
}

func get(t *testing.T, tel *telemetry.Telemetry, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + tel.Addr() + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func TestOffIsNil(t *testing.T) {
	cfg := config.Defaults(time.Now())
	cfg.Metrics.Addr = ""
	tel, err := telemetry.Start(&cfg, nil, quiet)
	require.NoError(t, err)
	require.Nil(t, tel)
	// Every method of a nil Telemetry does nothing.
	var o pipeline.Options
	tel.Attach(&o)
	assert.Nil(t, o.OnWindow)
	assert.Nil(t, o.Kafka)
	tel.WatchAPI(nil)
	tel.Finished(sink.ErrFenced)
	tel.ServeStatus(&cfg, nil)
	tel.Started(context.Background(), nil, nil)
	assert.Nil(t, tel.Readiness())
	assert.Empty(t, tel.Addr())
	tel.Stop()
}

func TestBusyAddressNamesTheSetting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	cfg := config.Defaults(time.Now())
	cfg.Metrics.Addr = ln.Addr().String()
	_, err = telemetry.Start(&cfg, nil, quiet)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "metrics.addr / METRICS_ADDR")
	assert.True(t, strings.HasPrefix(err.Error(), "metrics server: listening on "+ln.Addr().String()), "said once: %v", err)
	assert.Equal(t, 1, strings.Count(err.Error(), "metrics server"), "said once: %v", err)
}

func TestAttachCountsWindowsAndKeepsTheCallersHooks(t *testing.T) {
	tel := start(t)
	var seen []string
	var units [][]string
	o := pipeline.Options{
		OnWindow: func(d pipeline.WindowDone) { seen = append(seen, d.Unit) },
		OnUnits:  func(owned, _, _ []string) { units = append(units, owned) },
	}
	tel.Attach(&o)
	require.NotNil(t, o.Observer, "the metrics observe the pipeline")
	end := time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)
	o.OnWindow(pipeline.WindowDone{Unit: "Message-Sent", Event: "Message-Sent", Window: source.Window{Start: end.Add(-time.Hour), End: end}})
	o.OnUnits([]string{"Message-Sent", "CSAT-Score"}, []string{"CSAT-Score"}, nil)

	assert.Equal(t, []string{"Message-Sent"}, seen, "the caller's OnWindow still runs")
	assert.Equal(t, [][]string{{"Message-Sent", "CSAT-Score"}}, units, "the caller's OnUnits still runs")
	code, body := get(t, tel, "/metrics")
	require.Equal(t, http.StatusOK, code)
	for _, want := range []string{
		`freshchat_connector_windows_committed_total{account="default",event="Message-Sent"} 1`,
		`freshchat_connector_position_timestamp_seconds{account="default",event="Message-Sent"} ` + strconv.FormatFloat(float64(end.Unix()), 'g', -1, 64),
		"freshchat_connector_units_owned 2",
		"freshchat_connector_rebalances_total 1",
	} {
		assert.True(t, strings.Contains(body, want), "/metrics lacks %s", want)
	}
}

func TestFencedRunIsNotReady(t *testing.T) {
	tel := start(t)
	tel.Readiness().SetConnected(true)
	tel.Finished(fmt.Errorf("committing: %w", sink.ErrFenced))
	code, body := get(t, tel, "/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.True(t, strings.Contains(body, "fenced"), "readyz says why: %s", body)
}
