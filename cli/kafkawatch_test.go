package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/freshstream/freshchat-kafka/cli"
	"github.com/freshstream/freshchat-kafka/internal/kafkatest"
	"github.com/freshstream/freshchat-kafka/internal/logbuf"
	"github.com/freshstream/freshchat-kafka/internal/porttest"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

// liveEnv points a live run at the Freshchat simulator and brokers: events
// from start on, one-hour windows, info logs.
func liveEnv(t *testing.T, brokers string, rowsPerHour int, start string, events string) {
	t.Helper()
	clearEnv(t)
	sim := freshchattest.NewServer(freshchattest.Options{Token: simToken, RowsPerHour: rowsPerHour, TempDir: t.TempDir()})
	t.Cleanup(sim.Close)
	for k, v := range map[string]string{
		"FRESHCHAT_API_URL":             sim.URL(),
		"FRESHCHAT_API_TOKEN":           simToken,
		"KAFKA_BROKERS":                 brokers,
		"FRESHCHAT_EVENTS":              events,
		"FRESHCHAT_START":               start,
		"FRESHCHAT_POLL_INTERVAL":       "10ms",
		"FRESHCHAT_POLL_MAX_INTERVAL":   "50ms",
		"FRESHCHAT_REQUESTS_PER_MINUTE": "0",
		"FRESHCHAT_SUBMITS_PER_MINUTE":  "0",
		"FRESHCHAT_WINDOW":              "1h",
		"FRESHCHAT_TEMP_DIR":            t.TempDir(),
		"KAFKA_PARTITIONS":              "1",
		"KAFKA_REPLICATION_FACTOR":      "1",
		"LOG_LEVEL":                     "info",
	} {
		t.Setenv(k, v)
	}
}

// startRun starts "connector run" with args; the returned channel yields
// its exit code.
func startRun(t *testing.T, ctx context.Context, logs *logbuf.Buffer, args ...string) <-chan int {
	t.Helper()
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, append([]string{"run"}, args...), cli.Streams{Out: io.Discard, Err: logs})
	}()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("connector logs:\n%s", logs.String())
		}
	})
	return done
}

var metricsAddr = regexp.MustCompile(`msg="serving metrics and health" addr=(\S+)`)

// readyz asks the run's /readyz, once its metrics server is up.
func readyz(t *testing.T, logs *logbuf.Buffer) (int, string) {
	t.Helper()
	m := metricsAddr.FindStringSubmatch(logs.String())
	if m == nil {
		return 0, "metrics server not started"
	}
	resp, err := http.Get("http://" + m[1] + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// metric is the sum of every series of the counter or gauge name on the
// run's /metrics; 0 before its metrics server is up.
func metric(t *testing.T, logs *logbuf.Buffer, name string) float64 {
	t.Helper()
	m := metricsAddr.FindStringSubmatch(logs.String())
	if m == nil {
		return 0
	}
	resp, err := http.Get("http://" + m[1] + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, name); ok && (strings.HasPrefix(rest, "{") || strings.HasPrefix(rest, " ")) {
			v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			require.NoError(t, err, line)
			sum += v
		}
	}
	require.NoError(t, sc.Err())
	return sum
}

func waitReady(t *testing.T, logs *logbuf.Buffer, want int, contains string, within time.Duration) {
	t.Helper()
	var code int
	var body string
	ok := assert.Eventually(t, func() bool {
		code, body = readyz(t, logs)
		return code == want && strings.Contains(body, contains)
	}, within, 50*time.Millisecond)
	if !ok {
		t.Fatalf("/readyz: want %d with %q, last %d %q", want, contains, code, body)
	}
}

// TestKafkaOutageIsSeenAndSaid stops the broker under a live connector and
// starts it again: /readyz fails with the cause and a warning is logged
// while it is down, and both recover once it is back.
func TestKafkaOutageIsSeenAndSaid(t *testing.T) {
	kc := kafkatest.StartBroker(t, kfake.DataDir(t.TempDir()))
	liveEnv(t, kc.Addr(), 60, "-3h", "Message-Sent")
	logs := &logbuf.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := startRun(t, ctx, logs)

	waitReady(t, logs, http.StatusOK, "ok", time.Minute)
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "units assigned to this instance") },
		time.Minute, 20*time.Millisecond, "the group assigned the units")
	assert.NotContains(t, logs.String(), `msg="kafka brokers unreachable"`)

	kc.Stop()
	waitReady(t, logs, http.StatusServiceUnavailable, "not connected to Kafka: brokers unreachable for", 30*time.Second)
	_, body := readyz(t, logs)
	assert.Contains(t, body, kc.Addr(), "the reason names the broker")
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), `msg="kafka brokers unreachable"`) },
		10*time.Second, 20*time.Millisecond)
	out := logs.String()
	assert.Regexp(t, `level=WARN msg="kafka brokers unreachable" broker=`+regexp.QuoteMeta(kc.Addr())+` error=\S.* failed_attempts=\d+`, out)
	failed := metric(t, logs, "freshchat_connector_kafka_connect_errors_total")
	require.Eventually(t, func() bool { return metric(t, logs, "freshchat_connector_kafka_connect_errors_total") >= failed+3 },
		20*time.Second, 50*time.Millisecond, "more failed dials...")
	assert.Equal(t, 1, strings.Count(logs.String(), `msg="kafka brokers unreachable"`), "...and still one warning")

	kc.Start()
	waitReady(t, logs, http.StatusOK, "ok", 30*time.Second)
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), `msg="kafka brokers reachable again"`) },
		10*time.Second, 20*time.Millisecond)
	assert.Regexp(t, `level=INFO msg="kafka brokers reachable again" broker=\S+ unreachable_for=\S+ failed_attempts=\d+`, logs.String())

	cancel()
	select {
	case code := <-done:
		assert.Equal(t, cli.ExitOK, code)
	case <-time.After(time.Minute):
		t.Fatal("the connector did not stop")
	}
	assert.Contains(t, logs.String(), "stopped on signal; open transactions were aborted")
}

// TestSignalDuringKafkaOutageStopsInTime stops the broker under a
// connector busy committing a backfill, then signals it: it exits 0 within
// its abort budget (not after the minute a transactional abort waits for an
// unreachable coordinator) and says that the open transactions could not
// be aborted, instead of claiming they were.
func TestSignalDuringKafkaOutageStopsInTime(t *testing.T) {
	kc := kafkatest.StartBroker(t)
	liveEnv(t, kc.Addr(), 40000, "-8h", "Message-Sent,Conversation-Created")
	t.Setenv("KAFKA_CHUNK_ROWS", "1000")
	logs := &logbuf.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := startRun(t, ctx, logs)

	// Commits are under way: the backfill commits chunk after chunk.
	require.Eventually(t, func() bool { return metric(t, logs, "freshchat_connector_chunks_committed_total") >= 3 },
		time.Minute, 20*time.Millisecond)
	kc.Stop()
	select {
	case <-logs.Written(`msg="kafka brokers unreachable"`): // the clients find the broker gone
	case <-time.After(time.Minute):
		t.Fatal("the connector did not see the broker gone")
	}

	cancel()
	began := time.Now()
	select {
	case code := <-done:
		assert.Equal(t, cli.ExitOK, code, "a signal is a clean exit")
	case <-time.After(2 * time.Minute):
		t.Fatal("the connector did not stop")
	}
	took := time.Since(began)
	t.Logf("stopped %s after the signal", took.Round(time.Millisecond))
	assert.Less(t, took, 20*time.Second, "aborting is bounded by a budget well under Kubernetes' 30 s grace period")
	out := logs.String()
	assert.NotContains(t, out, "open transactions were aborted")
	assert.Regexp(t, `level=WARN msg="stopped on signal; the open transactions could not be aborted \(Kafka brokers unreachable or not answering\): `+
		`they are aborted when the next instance starts and fences this one's producers, or when their transaction timeout expires, `+
		`so read_committed consumers never see their records; the next start resumes from the last commit" `, out)
	assert.Contains(t, out, "kafka_unreachable_for=")
	assert.Contains(t, out, "transaction_timeout=1m0s")
	assert.NotContains(t, out, "level=ERROR", "a stop on a signal is no error")
}

// TestRunErrorIsLoggedInJSON: the error that ends a run reaches the JSON
// log as an ERROR record, besides the plain line on stderr.
func TestRunErrorIsLoggedInJSON(t *testing.T) {
	clearEnv(t)
	for k, v := range map[string]string{
		"FRESHCHAT_API_URL":     acceptingAPI(t), // past the start's API check, to Kafka
		"FRESHCHAT_API_TOKEN":   simToken,
		"KAFKA_BROKERS":         porttest.Reserve(t).Addr(), // refuses connections
		"KAFKA_CONNECT_TIMEOUT": "1s",
		"LOG_FORMAT":            "json",
	} {
		t.Setenv(k, v)
	}
	code, _, errs := runMain(t, "run", "--from", "-2h", "--to", "-1h")
	require.Equal(t, cli.ExitError, code, errs)
	assert.Contains(t, errs, "\nconnector: kafka brokers unreachable", "the plain line stays")

	var found map[string]any
	sc := bufio.NewScanner(strings.NewReader(errs))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), "every record is JSON: %s", line)
		if rec["msg"] == "connector stopped" {
			found = rec
		}
	}
	require.NotNil(t, found, "the error is logged as a record:\n%s", errs)
	assert.Equal(t, "ERROR", found["level"])
	assert.Contains(t, found["error"], "kafka brokers unreachable")
	assert.Contains(t, found["error"], "KAFKA_BROKERS")
	assert.NotContains(t, errs, simToken)
}
