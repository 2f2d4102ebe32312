package deploy_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/freshstream/freshchat-kafka/cli"
	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/internal/logbuf"
	"github.com/freshstream/freshchat-kafka/internal/porttest"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := stopConnector(); err != nil {
		fmt.Fprintln(os.Stderr, "deploy: stopping the connector:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

const simToken = "deploy-test-token"

// watchedEvents are the events of the watched connector: two, so that the
// dashboard's per-event panels have more than one series.
var watchedEvents = []string{"Message-Sent", "Conversation-Created"}

// running is a live `connector run`, in this process, against the Freshchat
// simulator and kfake on loopback, started once for every test of the
// package that watches it. Its traffic makes every series the dashboard
// and the alerts use exist:
//   - Kafka is started only after the connector has failed to dial it, as
//     when brokers come up after the connector: the failed-dial counters
//     exist from then on;
//   - the simulator answers a 429 to every 20th API request, a 403 (an
//     expired link, refreshed) to every 5th download, PENDING once to every
//     report, and serves an unconvertible cell as every 3rd row of a link
//     (both events have the column), so rows are dead-lettered in every
//     live window;
//   - a three-hour backfill in one-hour windows, then live windows of
//     3 seconds settled for 2.
type running struct {
	metricsAddr string
	warmOnce    sync.Once
	warmErr     error
	logs        *logbuf.Buffer
	cancel      context.CancelFunc
	done        chan int
	kafka       *kfake.Cluster
	sim         *freshchattest.Server
	dir         string
}

var (
	runOnce   sync.Once
	shared    *running
	sharedErr error
)

// connector returns the running connector, starting it on first use: its
// metrics server answers and Kafka is up. See warm.
func connector(t *testing.T) *running {
	t.Helper()
	runOnce.Do(func() { shared, sharedErr = startConnector() })
	if sharedErr != nil {
		t.Fatalf("starting the connector: %v", sharedErr)
	}
	return shared
}

// warm waits until every family the connector serves exists: the backfill
// has dead-lettered rows, and the progress gauges exist (the connector
// refreshes them every 15 s, the first time once the run has a cursor).
func (r *running) warm(t *testing.T) *running {
	t.Helper()
	r.warmOnce.Do(func() {
		r.warmErr = r.waitFor(60*time.Second, "the progress gauges and a dead-lettered row", func() bool {
			f, body := r.scrape()
			return f["freshchat_connector_backfill_remaining_seconds"] != "" &&
				f["freshchat_connector_position_timestamp_seconds"] != "" &&
				f["freshchat_connector_freshness_seconds"] != "" &&
				sampleValue(body, `freshchat_connector_rows_dead_lettered_total{account="default",event="Message-Sent"}`) > 0
		})
	})
	if r.warmErr != nil {
		t.Fatalf("%v\nconnector log:\n%s", r.warmErr, tail(r.logs, 40))
	}
	return r
}

func stopConnector() error {
	if shared == nil {
		return nil
	}
	r := shared
	shared = nil
	r.cancel()
	var err error
	select {
	case code := <-r.done:
		if code != cli.ExitOK {
			err = fmt.Errorf("connector exited with %d:\n%s", code, tail(r.logs, 40))
		}
	case <-time.After(30 * time.Second):
		err = errors.New("the connector did not stop within 30s")
	}
	r.kafka.Close()
	r.sim.Close()
	os.RemoveAll(r.dir)
	return err
}

func startConnector() (_ *running, err error) {
	dir, err := os.MkdirTemp("", "freshchat-deploy-test-")
	if err != nil {
		return nil, err
	}
	r := &running{dir: dir, logs: &logbuf.Buffer{}, done: make(chan int, 1)}
	defer func() {
		if err != nil {
			if r.cancel != nil {
				r.cancel()
				<-r.done
			}
			if r.kafka != nil {
				r.kafka.Close()
			}
			if r.sim != nil {
				r.sim.Close()
			}
			os.RemoveAll(dir)
			err = fmt.Errorf("%w\nconnector log:\n%s", err, tail(r.logs, 40))
		}
	}()
	for _, sub := range []string{"sim", "connector"} {
		if err := os.Mkdir(dir+"/"+sub, 0o755); err != nil {
			return nil, err
		}
	}
	r.sim = freshchattest.NewServer(freshchattest.Options{
		Token:       simToken,
		RowsPerHour: 3600,
		TempDir:     dir + "/sim",
		Faults: freshchattest.Faults{
			PendingPolls:        1,
			RateLimitEvery:      20,
			ExpireDownloadEvery: 5,
			MalformedEvery:      3,
		},
	})
	// Kafka's port is held, refusing connections, until the broker starts.
	kafkaPort, err := porttest.Hold()
	if err != nil {
		return nil, err
	}
	defer kafkaPort.Release()

	// The connector reads its settings from the environment when it starts;
	// every other setting is unset, and the environment is restored once
	// it is read.
	env := map[string]string{
		"FRESHCHAT_API_URL":             r.sim.URL(),
		"FRESHCHAT_API_TOKEN":           simToken,
		"FRESHCHAT_EVENTS":              strings.Join(watchedEvents, ","),
		"FRESHCHAT_START":               "-3h",
		"FRESHCHAT_WINDOW":              "1h",
		"FRESHCHAT_MIN_WINDOW":          "3s",
		"FRESHCHAT_SETTLE":              "2s",
		"FRESHCHAT_POLL_INTERVAL":       "10ms",
		"FRESHCHAT_POLL_MAX_INTERVAL":   "50ms",
		"FRESHCHAT_REQUESTS_PER_MINUTE": "1200",
		"FRESHCHAT_SUBMITS_PER_MINUTE":  "0",
		"FRESHCHAT_TEMP_DIR":            dir + "/connector",
		"KAFKA_BROKERS":                 kafkaPort.Addr(),
		"KAFKA_PARTITIONS":              "1",
		"KAFKA_REPLICATION_FACTOR":      "1",
		"METRICS_ADDR":                  "127.0.0.1:0",
		"LOG_LEVEL":                     "info",
	}
	restore := setEnv(env)
	var ctx context.Context
	ctx, r.cancel = context.WithCancel(context.Background())
	go func() { r.done <- cli.Main(ctx, []string{"run"}, cli.Streams{Out: io.Discard, Err: r.logs}) }()
	err = r.waitFor(20*time.Second, "the metrics server", func() bool {
		m := metricsAddr.FindStringSubmatch(r.logs.String())
		if m != nil {
			r.metricsAddr = m[1]
		}
		return m != nil
	})
	restore()
	if err != nil {
		return nil, err
	}

	// Kafka comes up once the connector has failed to reach it.
	if err := r.waitFor(20*time.Second, "a failed dial to Kafka", func() bool {
		f, _ := r.scrape()
		return f["freshchat_connector_kafka_connect_errors_total"] != ""
	}); err != nil {
		return nil, err
	}
	ln, err := kafkaPort.Listen()
	if err != nil {
		return nil, err
	}
	r.kafka, err = kfake.NewCluster(kfake.NumBrokers(1), kfake.ListenFn(func(string, string) (net.Listener, error) { return ln, nil }))
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("starting kfake on %s: %w", kafkaPort.Addr(), err)
	}
	return r, nil
}

// waitFor polls cond until it holds, the run ends or within passes.
func (r *running) waitFor(within time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(within)
	for !cond() {
		select {
		case code := <-r.done:
			r.done <- code
			return fmt.Errorf("the connector exited with %d while waiting for %s", code, what)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no %s within %s", what, within)
		}
	}
	return nil
}

// scrape reads /metrics: the families with their types, and the body. An
// error (the server is not up yet) gives no families.
func (r *running) scrape() (families, string) {
	resp, err := http.Get("http://" + r.metricsAddr + "/metrics")
	if err != nil {
		return nil, ""
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, ""
	}
	f := families{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		// # TYPE name type
		if fields := strings.Fields(sc.Text()); len(fields) == 4 && fields[0] == "#" && fields[1] == "TYPE" {
			f[fields[2]] = fields[3]
		}
	}
	return f, string(body)
}

// sampleValue is the value of series (name{labels} as the exposition
// format writes it) in a scrape; -1 when it is missing.
func sampleValue(body, series string) float64 {
	for line := range strings.SplitSeq(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				return f
			}
		}
	}
	return -1
}

// families is the connector's scrape, for a test.
func (r *running) families(t *testing.T) families {
	t.Helper()
	f, _ := r.scrape()
	if len(f) == 0 {
		t.Fatal("the connector's /metrics did not answer")
	}
	return f
}

// setEnv sets env and unsets every other setting of the connector; the
// returned function restores the environment as it was.
func setEnv(env map[string]string) (restore func()) {
	keys := map[string]bool{}
	for _, s := range config.Reference() {
		if s.Env != "" {
			keys[s.Env] = true
		}
	}
	for k := range env {
		keys[k] = true
	}
	saved := map[string]*string{}
	for k := range keys {
		if v, ok := os.LookupEnv(k); ok {
			saved[k] = &v
		} else {
			saved[k] = nil
		}
		if v, ok := env[k]; ok {
			os.Setenv(k, v)
		} else {
			os.Unsetenv(k)
		}
	}
	return func() {
		for k, v := range saved {
			if v == nil {
				os.Unsetenv(k)
			} else {
				os.Setenv(k, *v)
			}
		}
	}
}

// metricsAddr finds the address the metrics server listens on in the log.
var metricsAddr = regexp.MustCompile(`msg="serving metrics and health" addr=(\S+)`)

// tail is the last n lines of the log.
// tail is the last n lines of l.
func tail(l *logbuf.Buffer, n int) string {
	lines := strings.Split(strings.TrimRight(l.String(), "\n"), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}
