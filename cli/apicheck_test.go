package cli_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/freshstream/freshchat-kafka/internal/logbuf"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/cli"
)

// acceptingAPI is a stand-in Freshchat API that accepts any token: every
// request is answered 404, as the real API answers a report it does not
// know. For runs that must get past the start's API check to a failure of
// their own.
func acceptingAPI(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"code":404,"status":"NOT_FOUND","message":"no such report"}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v2"
}

// TestRefusedTokenStopsTheStartBeforeKafka: a token the API refuses ends
// run with exit 1 and the cause, before any Kafka client starts (nothing
// is created, no instance is fenced).
func TestRefusedTokenStopsTheStartBeforeKafka(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	liveEnv(t, strings.Join(c.ListenAddrs(), ","), 60, "-3h", "Message-Sent")
	t.Setenv("FRESHCHAT_API_TOKEN", "revoked-token-1234")

	began := time.Now()
	code, _, errs := runMain(t, "run", "--from", "-2h", "--to", "-1h")
	assert.Equal(t, cli.ExitError, code, errs)
	assert.Less(t, time.Since(began), 10*time.Second, "no retrying a refused token")
	assert.Contains(t, errs, "refused the token (401 Unauthorized)")
	assert.Contains(t, errs, "FRESHCHAT_API_TOKEN")
	assert.NotContains(t, errs, "revoked-token-1234", "the token never reaches output")

	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	require.NoError(t, err)
	defer cl.Close()
	topics, err := kadm.NewClient(cl).ListTopics(context.Background())
	require.NoError(t, err)
	assert.Empty(t, topics.Names(), "Kafka was not touched")
}

// TestUnreachableAPIAtStartIsRetried: while the API fails at start, run
// logs each retry and /readyz names the API; once it answers, the run goes
// on and api_ready is 1.
func TestUnreachableAPIAtStartIsRetried(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	liveEnv(t, strings.Join(c.ListenAddrs(), ","), 60, "-3h", "Message-Sent")

	// A gateway in front of the simulator answers 503 until let through.
	sim, err := url.Parse(envURL(t))
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: sim.Scheme, Host: sim.Host})
	var up atomic.Bool
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "upstream down", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(gw.Close)
	t.Setenv("FRESHCHAT_API_URL", gw.URL+"/v2")

	logs := &logbuf.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := startRun(t, ctx, logs)

	require.Eventually(t, func() bool { return strings.Count(logs.String(), `msg="freshchat API unreachable; retrying"`) >= 2 },
		30*time.Second, 20*time.Millisecond, "each failed check is logged")
	assert.Regexp(t, `level=WARN msg="freshchat API unreachable; retrying" api=\S+ error=.*503.* attempt=1 retry_in=1s`, logs.String())
	code, body := readyz(t, logs)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.NotContains(t, body, "ok")

	up.Store(true)
	waitReady(t, logs, http.StatusOK, "ok", time.Minute)
	assert.Contains(t, logs.String(), `msg="freshchat API reachable"`)
	assert.Contains(t, scrapeRun(t, logs), "freshchat_connector_api_ready 1\n")

	cancel()
	select {
	case code := <-done:
		assert.Equal(t, cli.ExitOK, code)
	case <-time.After(time.Minute):
		t.Fatal("the connector did not stop")
	}
}

// TestStatusEndpointServesTheStatusDocument: the metrics server's /status
// is the document connector status --json prints, with this instance
// among the holders and each event's state.
func TestStatusEndpointServesTheStatusDocument(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	liveEnv(t, strings.Join(c.ListenAddrs(), ","), 60, "-3h", "Message-Sent,CSAT-Score")
	t.Setenv("METRICS_PPROF", "true")
	logs := &logbuf.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := startRun(t, ctx, logs)
	waitReady(t, logs, http.StatusOK, "ok", time.Minute)

	type doc struct {
		CheckpointTopic string `json:"checkpoint_topic"`
		TransactionalID string `json:"transactional_id"`
		Events          []struct {
			Event      string          `json:"event"`
			Topic      string          `json:"topic"`
			Checkpoint json.RawMessage `json:"checkpoint"`
			State      string          `json:"state"`
			Freshness  *float64        `json:"freshness_seconds"`
		} `json:"events"`
		Holders []struct {
			ClientID string `json:"client_id"`
			MemberID string `json:"member_id"`
		} `json:"holders"`
		HoldersError string `json:"holders_error"`
		API          *struct {
			Ready bool `json:"ready"`
		} `json:"api"`
	}
	var live doc
	require.Eventually(t, func() bool {
		live = doc{}
		code, body := getRun(t, logs, "/status")
		if code != http.StatusOK {
			return false
		}
		require.NoError(t, json.Unmarshal([]byte(body), &live), body)
		// Both events caught up with the live edge and wait for the next window.
		for _, e := range live.Events {
			if e.State != "waiting" || string(e.Checkpoint) == "null" {
				return false
			}
		}
		return len(live.Holders) == 1
	}, time.Minute, 100*time.Millisecond, "the events catch up and the instance is in its group")
	assert.Equal(t, "freshchat.checkpoints", live.CheckpointTopic)
	require.Len(t, live.Events, 2)
	assert.Equal(t, "Message-Sent", live.Events[0].Event)
	assert.Equal(t, "freshchat.message-sent", live.Events[0].Topic)
	require.NotNil(t, live.Events[0].Freshness)
	assert.Empty(t, live.HoldersError)
	require.NotNil(t, live.API)
	assert.True(t, live.API.Ready)

	// connector status --json reads the same positions from Kafka.
	code, out, errs := runMain(t, "status", "--json")
	require.Equal(t, cli.ExitOK, code, errs)
	var fromKafka doc
	require.NoError(t, json.Unmarshal([]byte(out), &fromKafka))
	assert.Equal(t, live.TransactionalID, fromKafka.TransactionalID)
	require.Len(t, fromKafka.Events, 2)
	for i := range live.Events {
		assert.JSONEq(t, string(fromKafka.Events[i].Checkpoint), string(live.Events[i].Checkpoint), live.Events[i].Event)
		assert.Empty(t, fromKafka.Events[i].State, "only the running connector knows the state")
	}
	assert.Equal(t, fromKafka.Holders, live.Holders)

	code, body := getRun(t, logs, "/debug/pprof/goroutine?debug=1")
	assert.Equal(t, http.StatusOK, code, "METRICS_PPROF=true mounts pprof")
	assert.Contains(t, body, "goroutine profile")

	cancel()
	<-done
}

// envURL is the FRESHCHAT_API_URL liveEnv set.
func envURL(t *testing.T) string {
	t.Helper()
	u, ok := os.LookupEnv("FRESHCHAT_API_URL")
	require.True(t, ok)
	return u
}

// getRun asks the run's metrics server for path.
func getRun(t *testing.T, logs *logbuf.Buffer, path string) (int, string) {
	t.Helper()
	m := metricsAddr.FindStringSubmatch(logs.String())
	require.NotNil(t, m, "metrics server not started")
	resp, err := http.Get("http://" + m[1] + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// scrapeRun returns the run's /metrics.
func scrapeRun(t *testing.T, logs *logbuf.Buffer) string {
	t.Helper()
	code, body := getRun(t, logs, "/metrics")
	require.Equal(t, http.StatusOK, code)
	return body
}
