package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is one measured run.
type Result struct {
	Name     string // "connector" or "baseline"
	Rows     int    // rows of the window, all verified in Kafka
	Usage    Usage  // of the child process
	EnvCPU   time.Duration
	Requests Requests
	// TopicBytes is what the broker stores for the topic (see
	// Kafka.TopicBytes).
	TopicBytes int64
	Profiled   bool // the run wrote a CPU or allocation profile
}

// RowsPerSec is rows over wall time.
func (r Result) RowsPerSec() float64 { return float64(r.Rows) / r.Usage.Wall.Seconds() }

// CPUPerMillion is CPU seconds per million rows.
func (r Result) CPUPerMillion() float64 { return r.Usage.CPU().Seconds() * 1e6 / float64(r.Rows) }

// RSSMiB is the peak RSS in MiB.
func (r Result) RSSMiB() float64 { return float64(r.Usage.MaxRSS) / (1 << 20) }

// TopicMiB is TopicBytes in MiB.
func (r Result) TopicMiB() float64 { return float64(r.TopicBytes) / (1 << 20) }

// BenchLine is r in the Go benchmark format, one iteration, so that
// benchstat can compare runs:
//
//	BenchmarkE2E/connector/rows=1000000 1 2400000000 ns/op 416666 rows/s 3.1 cpu-s 3.1 cpu-s/1M-rows 61.2 peak-rss-MiB 3 api-requests
func (r Result) BenchLine() string {
	return fmt.Sprintf("BenchmarkE2E/%s/rows=%d 1 %d ns/op %.0f rows/s %.3f cpu-s %.3f cpu-s/1M-rows %.1f peak-rss-MiB %d api-requests",
		r.Name, r.Rows, r.Usage.Wall.Nanoseconds(), r.RowsPerSec(), r.Usage.CPU().Seconds(), r.CPUPerMillion(), r.RSSMiB(), r.Requests.Total())
}

// Ratio compares the connector with the baseline: above 1 means the
// connector has more of it (rows/s: faster; CPU and RSS: costlier).
type Ratio struct {
	RowsPerSec float64 `json:"rows_per_s"`
	CPU        float64 `json:"cpu_s"`
	RSS        float64 `json:"peak_rss"`
}

// Compare returns conn relative to base.
func Compare(conn, base Result) Ratio {
	return Ratio{
		RowsPerSec: conn.RowsPerSec() / base.RowsPerSec(),
		CPU:        conn.CPUPerMillion() / base.CPUPerMillion(),
		RSS:        float64(conn.Usage.MaxRSS) / float64(base.Usage.MaxRSS),
	}
}

// Run describes what was measured, for the report.
type Run struct {
	Event       string
	From, To    time.Time
	RowsPerHour int
	Rows        int // rows of the window: sim.Count
	Report      Report
	Results     []Result
}

func (run Run) find(name string) (Result, bool) {
	for _, r := range run.Results {
		if r.Name == name {
			return r, true
		}
	}
	return Result{}, false
}

// WriteTable writes the human report: the setup, one line per result, the
// ratio when both were run, and the benchmark-format lines.
func (run Run) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "event %s, window [%s, %s) at %d rows/h: %d rows, report %.1f MiB in %d link(s) (generated untimed in %s)\n",
		run.Event, run.From.Format(time.RFC3339), run.To.Format(time.RFC3339), run.RowsPerHour, run.Rows,
		float64(run.Report.Bytes)/(1<<20), run.Report.Links, run.Report.Took.Round(time.Millisecond))
	fmt.Fprintf(&b, "%d CPUs, GOMAXPROCS %d, %s\n\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\trows\twall s\trows/s\tCPU s\tCPU s/1M rows\tpeak RSS MiB\ttopic MiB\tAPI requests (submit/get/download)\tbroker+sim CPU s\t")
	for _, r := range run.Results {
		name := r.Name
		if r.Profiled {
			name += " (profiled)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.0f\t%.2f\t%.2f\t%.1f\t%.1f\t%d (%d/%d/%d)\t%.2f\t\n",
			name, r.Rows, r.Usage.Wall.Seconds(), r.RowsPerSec(), r.Usage.CPU().Seconds(), r.CPUPerMillion(), r.RSSMiB(), r.TopicMiB(),
			r.Requests.Total(), r.Requests.Submits, r.Requests.Gets, r.Requests.Downloads, r.EnvCPU.Seconds())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	conn, ok1 := run.find("connector")
	base, ok2 := run.find("baseline")
	if ok1 && ok2 {
		q := Compare(conn, base)
		fmt.Fprintf(&b, "\nconnector / baseline: %.2fx rows/s, %.2fx CPU s, %.2fx peak RSS\n", q.RowsPerSec, q.CPU, q.RSS)
	}
	fmt.Fprintf(&b, "\ngoos: %s\ngoarch: %s\npkg: github.com/freshstream/freshchat-kafka/bench\n", runtime.GOOS, runtime.GOARCH)
	for _, r := range run.Results {
		fmt.Fprintln(&b, r.BenchLine())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// jsonResult is one result of the -json line.
type jsonResult struct {
	Name          string  `json:"name"`
	Rows          int     `json:"rows"`
	WallS         float64 `json:"wall_s"`
	RowsPerS      float64 `json:"rows_per_s"`
	CPUS          float64 `json:"cpu_s"`
	UserS         float64 `json:"user_s"`
	SysS          float64 `json:"sys_s"`
	CPUSPer1M     float64 `json:"cpu_s_per_1m_rows"`
	PeakRSSMiB    float64 `json:"peak_rss_mib"`
	TopicBytes    int64   `json:"topic_bytes"`
	Submits       int     `json:"submits"`
	Gets          int     `json:"gets"`
	Downloads     int     `json:"downloads"`
	DownloadBytes int64   `json:"download_bytes"`
	EnvCPUS       float64 `json:"broker_sim_cpu_s"`
	Profiled      bool    `json:"profiled"`
}

// WriteJSON writes the run as one JSON line.
func (run Run) WriteJSON(w io.Writer) error {
	out := struct {
		Event       string       `json:"event"`
		From        time.Time    `json:"from"`
		To          time.Time    `json:"to"`
		RowsPerHour int          `json:"rows_per_hour"`
		ReportBytes int64        `json:"report_bytes"`
		CPUs        int          `json:"cpus"`
		GoVersion   string       `json:"go_version"`
		Results     []jsonResult `json:"results"`
		Ratio       *Ratio       `json:"connector_vs_baseline,omitempty"`
	}{Event: run.Event, From: run.From, To: run.To, RowsPerHour: run.RowsPerHour, ReportBytes: run.Report.Bytes,
		CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	for _, r := range run.Results {
		out.Results = append(out.Results, jsonResult{
			Name: r.Name, Rows: r.Rows, WallS: r.Usage.Wall.Seconds(), RowsPerS: r.RowsPerSec(),
			CPUS: r.Usage.CPU().Seconds(), UserS: r.Usage.User.Seconds(), SysS: r.Usage.Sys.Seconds(),
			CPUSPer1M: r.CPUPerMillion(), PeakRSSMiB: r.RSSMiB(), TopicBytes: r.TopicBytes,
			Submits: r.Requests.Submits, Gets: r.Requests.Gets, Downloads: r.Requests.Downloads,
			DownloadBytes: r.Requests.DownloadBytes, EnvCPUS: r.EnvCPU.Seconds(), Profiled: r.Profiled,
		})
	}
	conn, ok1 := run.find("connector")
	base, ok2 := run.find("baseline")
	if ok1 && ok2 {
		q := Compare(conn, base)
		out.Ratio = &q
	}
	line, err := json.Marshal(out)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", line)
	return err
}
