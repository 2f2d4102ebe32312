// Command e2ebench measures the connector end to end, exactly-once on,
// against the typical pipeline of bench/baseline:
//
//	go run ./bench/cmd/e2ebench -rows 1000000
//
// It starts the Freshchat simulator and a kfake broker in this process,
// generates the report of one window holding -rows rows of -event (untimed),
// then runs the connector ("connector run --from --to", configured through
// its environment variables) and the baseline, each in a child process with
// a fresh broker, and reports for each: wall time from start to exit, rows
// per second, CPU seconds and peak RSS of the child alone (its wait4
// rusage), and the API requests it made. Every run is checked afterwards: a
// read_committed consumer must see exactly the window's rows.
//
// The output is a table, the ratio connector/baseline, lines in the Go
// benchmark format (for benchstat) and, with -json, one JSON line.
// It must run from inside the module: it builds the children with go build.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/freshstream/freshchat-kafka/bench"
	"github.com/freshstream/freshchat-kafka/schemas"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

const token = "bench-token-0123456789"

// pollInterval replaces the connector's 2s default first poll wait (and is
// the baseline's), and the connector's API request pacing is turned off
// (FRESHCHAT_REQUESTS_PER_MINUTE=0; 60/min by default, which spaces the
// submit and the first poll by a second): the simulator's report is ready
// at once, and sleeps are not what is measured. With a real account both
// waits overlap Freshchat's own report generation.
const pollInterval = 50 * time.Millisecond

type options struct {
	rows       int
	event      string
	from       string
	baseline   bool
	cpuProfile string
	memProfile string
	json       bool
	verbose    bool
	timeout    time.Duration
	env        envFlag
}

// envFlag collects repeated -env KEY=VALUE settings for the connector.
type envFlag []string

func (e *envFlag) String() string { return strings.Join(*e, " ") }

func (e *envFlag) Set(v string) error {
	k, _, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	*e = append(*e, v)
	return nil
}

func main() {
	var o options
	flag.IntVar(&o.rows, "rows", 1_000_000, "rows in the window")
	flag.StringVar(&o.event, "event", "Message-Sent", "event to extract")
	flag.StringVar(&o.from, "from", "", "window start, an RFC 3339 time on a whole hour (default: UTC midnight three days ago)")
	flag.BoolVar(&o.baseline, "baseline", true, "also run the typical pipeline of bench/baseline and compare")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write the connector child's CPU profile to this file")
	flag.StringVar(&o.memProfile, "memprofile", "", "write the connector child's allocation profile to this file")
	flag.BoolVar(&o.json, "json", false, "also print the results as one JSON line")
	flag.BoolVar(&o.verbose, "v", false, "copy the children's logs to stderr")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Minute, "give up after this long")
	flag.Var(&o.env, "env", "extra connector setting as KEY=VALUE, e.g. -env KAFKA_CHUNK_ROWS=100000 (repeatable; wins over the benchmark's own)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "e2ebench: unexpected arguments: %s\n", strings.Join(flag.Args(), " "))
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	err := run(ctx, o, os.Stdout)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2ebench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, out io.Writer) error {
	if _, err := schemas.Lookup(o.event); err != nil {
		return err
	}
	plan, err := bench.PlanRows(o.rows)
	if err != nil {
		return err
	}
	from := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3)
	if o.from != "" {
		if from, err = time.Parse(time.RFC3339, o.from); err != nil {
			return fmt.Errorf("-from: %w", err)
		}
		if from = from.UTC(); !from.Truncate(time.Hour).Equal(from) {
			return fmt.Errorf("-from %s is not on a whole hour", o.from)
		}
	}
	to := from.Add(plan.Window)

	work, err := os.MkdirTemp("", "e2ebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	for _, d := range []string{"bin", "sim", "tmp"} {
		if err := os.Mkdir(filepath.Join(work, d), 0o755); err != nil {
			return err
		}
	}

	logf("building the children")
	connPkg := "github.com/freshstream/freshchat-kafka/cmd/connector"
	if o.cpuProfile != "" || o.memProfile != "" {
		connPkg = "github.com/freshstream/freshchat-kafka/bench/cmd/benchconnector"
	}
	connBin, err := bench.Build(ctx, filepath.Join(work, "bin"), connPkg)
	if err != nil {
		return err
	}
	var baseBin string
	if o.baseline {
		if baseBin, err = bench.Build(ctx, filepath.Join(work, "bin"), "github.com/freshstream/freshchat-kafka/bench/cmd/baseline"); err != nil {
			return err
		}
	}

	src := freshchattest.NewServer(freshchattest.Options{Token: token, RowsPerHour: plan.RowsPerHour, TempDir: filepath.Join(work, "sim"),
		ReuseReports: true}) // see bench.Generate
	defer src.Close()
	rows := src.Count(o.event, from, to)
	logf("generating the %s report of [%s, %s): %d rows", o.event, from.Format(time.RFC3339), to.Format(time.RFC3339), rows)
	rep, err := bench.Generate(ctx, src, token, o.event, from, to)
	if err != nil {
		return err
	}
	logf("report %s: %.1f MiB in %d link(s), generated in %s", rep.ID, float64(rep.Bytes)/(1<<20), rep.Links, rep.Took.Round(time.Millisecond))

	result := bench.Run{Event: o.event, From: from, To: to, RowsPerHour: plan.RowsPerHour, Rows: rows, Report: rep}
	topic := "freshchat." + strings.ToLower(o.event)

	conn := child{name: "connector", work: work, verbose: o.verbose, profiled: connPkg != "github.com/freshstream/freshchat-kafka/cmd/connector"}
	r, err := conn.measure(ctx, src, o.event, topic, rows, from, to, func(k *bench.Kafka) *exec.Cmd {
		cmd := exec.CommandContext(ctx, connBin, "run", "--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339))
		cmd.Env = bench.ChildEnv(
			"FRESHCHAT_API_URL="+src.URL(),
			"FRESHCHAT_API_TOKEN="+token,
			"KAFKA_BROKERS="+strings.Join(k.Brokers, ","),
			"FRESHCHAT_EVENTS="+o.event,
			"FRESHCHAT_WINDOW=24h",
			"FRESHCHAT_POLL_INTERVAL="+pollInterval.String(),
			"FRESHCHAT_REQUESTS_PER_MINUTE=0",
			"FRESHCHAT_SUBMITS_PER_MINUTE=0",
			// The metrics server stays on, as deployed, on a free port so
			// that runs never collide with another process.
			"METRICS_ADDR=127.0.0.1:0",
			"FRESHCHAT_TEMP_DIR="+filepath.Join(work, "tmp"),
			"LOG_LEVEL=info",
			"BENCH_CPUPROFILE="+o.cpuProfile,
			"BENCH_MEMPROFILE="+o.memProfile,
		)
		cmd.Env = append(cmd.Env, o.env...)
		return cmd
	})
	if err != nil {
		return err
	}
	result.Results = append(result.Results, r)

	if o.baseline {
		base := child{name: "baseline", work: work, verbose: o.verbose}
		r, err := base.measure(ctx, src, o.event, topic, rows, from, to, func(k *bench.Kafka) *exec.Cmd {
			cmd := exec.CommandContext(ctx, baseBin,
				"-api", src.URL(), "-event", o.event,
				"-from", from.Format(time.RFC3339), "-to", to.Format(time.RFC3339),
				"-brokers", strings.Join(k.Brokers, ","), "-topic", topic,
				"-batch", "1000", "-poll", pollInterval.String())
			cmd.Env = bench.ChildEnv("FRESHCHAT_API_TOKEN=" + token)
			return cmd
		})
		if err != nil {
			return err
		}
		result.Results = append(result.Results, r)
	}

	if err := result.WriteTable(out); err != nil {
		return err
	}
	if o.json {
		return result.WriteJSON(out)
	}
	return nil
}

// child is one measured process.
type child struct {
	name     string
	work     string
	verbose  bool
	profiled bool
}

// measure runs the command cmdFor builds against a fresh broker, checks
// what it committed and returns its figures.
func (c child) measure(ctx context.Context, src *freshchattest.Server, event, topic string, rows int, from, to time.Time,
	cmdFor func(*bench.Kafka) *exec.Cmd) (bench.Result, error) {
	k, err := bench.NewKafka()
	if err != nil {
		return bench.Result{}, err
	}
	defer k.Close()
	// The previous run's broker is garbage now: collect it before measuring.
	runtime.GC()
	debug.FreeOSMemory()

	logPath := filepath.Join(c.work, c.name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return bench.Result{}, err
	}
	defer logFile.Close()
	cmd := cmdFor(k)
	var stdout strings.Builder
	cmd.Stdout, cmd.Stderr = io.MultiWriter(logFile, &stdout), logFile
	if c.verbose {
		cmd.Stdout, cmd.Stderr = io.MultiWriter(logFile, &stdout, os.Stderr), io.MultiWriter(logFile, os.Stderr)
	}

	logf("running the %s", c.name)
	before, cpuBefore := bench.RequestsOf(src), bench.SelfCPU()
	u, err := bench.Measure(cmd)
	env := bench.SelfCPU() - cpuBefore
	reqs := bench.RequestsOf(src).Sub(before)
	if err != nil {
		return bench.Result{}, fmt.Errorf("%s: %w\n%s", c.name, err, bench.Tail(logPath, 4000))
	}
	if c.name == "baseline" {
		if err := checkBaselineRows(stdout.String(), rows); err != nil {
			return bench.Result{}, err
		}
	}
	logf("%s done in %s; checking %s", c.name, u.Wall.Round(time.Millisecond), topic)
	if err := k.Verify(ctx, topic, event, rows, from, to); err != nil {
		return bench.Result{}, fmt.Errorf("%s: %w", c.name, err)
	}
	size, err := k.TopicBytes(ctx, topic)
	if err != nil {
		return bench.Result{}, fmt.Errorf("%s: %w", c.name, err)
	}
	return bench.Result{Name: c.name, Rows: rows, Usage: u, EnvCPU: env, Requests: reqs, TopicBytes: size, Profiled: c.profiled}, nil
}

func checkBaselineRows(stdout string, want int) error {
	var ans struct {
		Rows int `json:"rows"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &ans); err != nil {
		return fmt.Errorf("baseline: unreadable answer %q: %w", stdout, err)
	}
	if ans.Rows != want {
		return errors.New("baseline: produced " + strconv.Itoa(ans.Rows) + " rows, want " + strconv.Itoa(want))
	}
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "e2ebench: "+format+"\n", args...)
}
