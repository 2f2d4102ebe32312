// Package demo is the connector's demo world, self-contained on loopback
// ports: an embedded Kafka broker (kfake) persisting in a data folder, a
// schema registry (srfake) and the Freshchat simulator; the configuration
// that points the connector at them; and what the demo prints about them
// (where they are, the backfill's progress, what landed, how to consume
// it, the live windows). The command that runs the connector in it lives
// in cli.
package demo

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

// Token is the API token the simulated Freshchat accepts.
const Token = "demo-token"

// Options says where the demo world lives and what it serves.
type Options struct {
	// DataDir holds the broker's data (kafka/), the temporary files of the
	// simulator and the connector (tmp/) and the connector's log; a second
	// world on the same folder finds the first one's topics.
	DataDir string
	// KafkaPort and RegistryPort are the loopback ports of the broker and
	// the registry; 0, or a busy port, takes any free one.
	KafkaPort, RegistryPort int
	// RowsPerHour is how many rows per event per hour the simulator serves
	// (1 to freshchattest.MaxRowsPerHour).
	RowsPerHour int
}

// World is a running demo world. Close stops it.
type World struct {
	// Brokers are the embedded broker's addresses.
	Brokers []string
	// RegistryURL is the embedded schema registry's URL.
	RegistryURL string

	dataDir string
	cluster *kfake.Cluster
	regSrv  *http.Server
	sim     *freshchattest.Server
	simSrv  *http.Server
}

// OpenLog makes the data folder dir and opens the connector's log in it
// for appending. The caller closes the file.
func OpenLog(dir string) (*os.File, error) {
	if err := makeFolder(dir); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(logPath(dir), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("demo log: %w", err)
	}
	return f, nil
}

// Start starts the broker, the registry and the simulator of o, each on a
// loopback port. On error nothing is left running.
func Start(o Options) (_ *World, err error) {
	if err := makeFolder(o.DataDir); err != nil {
		return nil, err
	}
	w := &World{dataDir: o.DataDir}
	defer func() {
		if err != nil {
			w.Close()
		}
	}()

	// Kafka.
	if w.cluster, err = startBroker(filepath.Join(o.DataDir, "kafka"), o.KafkaPort); err != nil {
		return nil, err
	}
	w.Brokers = w.cluster.ListenAddrs()

	// Schema registry, on the port Avro-aware clients assume by default.
	regLn, err := listenLoopback(o.RegistryPort)
	if err != nil {
		return nil, fmt.Errorf("schema registry listener: %w", err)
	}
	w.regSrv = &http.Server{Handler: srfake.NewRegistry().Handler(), ReadHeaderTimeout: 10 * time.Second}
	go w.regSrv.Serve(regLn)
	w.RegistryURL = "http://" + regLn.Addr().String()

	// Freshchat.
	w.sim = freshchattest.NewHandler(freshchattest.Options{
		Token:       Token,
		RowsPerHour: o.RowsPerHour,
		TempDir:     filepath.Join(o.DataDir, "tmp"),
		Faults:      freshchattest.Faults{PendingPolls: 1, LinksPerReport: 2, FilesPerZip: 2, BOM: true, CRLF: true},
	})
	ln, err := listenLoopback(0)
	if err != nil {
		return nil, fmt.Errorf("simulator listener: %w", err)
	}
	w.sim.SetBaseURL("http://" + ln.Addr().String())
	w.simSrv = &http.Server{Handler: w.sim, ReadHeaderTimeout: 10 * time.Second}
	go w.simSrv.Serve(ln)
	return w, nil
}

// Close stops the simulator, the registry and the broker, in that order.
func (w *World) Close() {
	if w.simSrv != nil {
		w.simSrv.Close()
	}
	if w.sim != nil {
		w.sim.Close()
	}
	if w.regSrv != nil {
		w.regSrv.Close()
	}
	if w.cluster != nil {
		w.cluster.Close()
	}
}

// Config is the configuration that runs the connector in the world at
// now: every event from days ago in fixed windows of 6 hours, then live
// windows of at least 10 seconds once they are 5 seconds old, with no
// request or submit budget (the simulator has none). Metrics are as
// config.Defaults sets them; Bounded is unset.
func (w *World) Config(now time.Time, days int) config.Config {
	cfg := config.Defaults(now)
	cfg.Freshchat.APIURL, _ = url.Parse(w.sim.URL())
	cfg.Freshchat.APIToken = config.Secret(Token)
	cfg.Freshchat.PollInterval = 100 * time.Millisecond
	cfg.Freshchat.PollMaxInterval = time.Second
	cfg.Freshchat.RequestsPerMinute = 0 // the simulator has no request budget
	cfg.Freshchat.SubmitsPerMinute = 0  // nor a submit budget
	cfg.Kafka.Brokers = w.Brokers
	cfg.Kafka.Partitions = 3
	cfg.Kafka.ReplicationFactor = 1
	cfg.SchemaRegistry.URL, _ = url.Parse(w.RegistryURL)
	cfg.Start = now.Add(-time.Duration(days) * 24 * time.Hour).Truncate(time.Hour)
	cfg.Window = 6 * time.Hour
	cfg.Backfill.TargetReportRows = 0 // fixed windows: the demo shows them go by
	cfg.MinWindow = 10 * time.Second
	cfg.Settle = 5 * time.Second
	cfg.Concurrency = 4
	cfg.TempDir = filepath.Join(w.dataDir, "tmp")
	return cfg
}

// PrintIntro writes what the demo is.
func PrintIntro(out io.Writer) {
	fmt.Fprintln(out, "Freshchat → Kafka connector demo")
	fmt.Fprintln(out, "Everything runs in this process on loopback ports: a Kafka broker (kfake), a schema registry and a Freshchat simulator.")
}

// PrintAddresses writes where the broker, the registry, the simulator and
// the connector's log are.
func (w *World) PrintAddresses(out io.Writer) {
	fmt.Fprintf(out, "  Kafka brokers    %s (data in %s)\n", strings.Join(w.Brokers, ","), filepath.Join(w.dataDir, "kafka"))
	fmt.Fprintf(out, "  Schema registry  %s\n", w.RegistryURL)
	fmt.Fprintf(out, "  Freshchat API    %s (simulated, token %q)\n", w.sim.URL(), Token)
	fmt.Fprintf(out, "  Connector log    %s\n", logPath(w.dataDir))
}

// ListenMetrics listens on addr, or on any free port of the same host when
// addr is busy; "off" or "" listens nowhere (nil).
func ListenMetrics(addr string) (net.Listener, error) {
	if err := CheckMetricsAddr(addr); err != nil {
		return nil, err
	}
	if strings.EqualFold(addr, "off") || addr == "" {
		return nil, nil
	}
	if ln, err := net.Listen("tcp", addr); err == nil {
		return ln, nil
	}
	host, _, _ := net.SplitHostPort(addr)
	return net.Listen("tcp", net.JoinHostPort(host, "0"))
}

// CheckMetricsAddr says whether addr can be ListenMetrics's: off (or
// empty), or host:port with a port from 0 to 65535.
func CheckMetricsAddr(addr string) error {
	if strings.EqualFold(addr, "off") || addr == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if n, perr := strconv.Atoi(port); err == nil && (perr != nil || n < 0 || n > 65535) {
		err = errors.New("bad port")
	}
	if err != nil {
		return fmt.Errorf("--metrics-addr %q: want host:port, such as 127.0.0.1:9464, or off", addr)
	}
	return nil
}

// makeFolder makes the data folder dir with its folder of temporary files.
func makeFolder(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return fmt.Errorf("demo data folder: %w", err)
	}
	return nil
}

// logPath is where the connector's log is in the data folder dir.
func logPath(dir string) string { return filepath.Join(dir, "connector.log") }

// listenLoopback listens on the loopback port, or on any free one when port
// is 0 or busy.
func listenLoopback(port int) (net.Listener, error) {
	if port != 0 {
		if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			return ln, nil
		}
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// startBroker starts kfake persisting to dir, on port when it is free.
func startBroker(dir string, port int) (*kfake.Cluster, error) {
	ln, err := listenLoopback(port)
	if err != nil {
		return nil, fmt.Errorf("embedded broker listener: %w", err)
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DataDir(dir), kfake.ClusterID("freshchat-demo"),
		kfake.ListenFn(func(string, string) (net.Listener, error) { return ln, nil }))
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("starting the embedded broker (data in %s): %w", dir, err)
	}
	return c, nil
}
