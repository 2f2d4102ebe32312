// Command freshchat-sim serves the Freshchat raw reports simulator
// (package freshchattest) on a real listener, for docker-compose and manual
// runs. The API is under /v2, downloads under /files/. Besides the 12
// reports it serves the vendor events agent-performance, classic and
// Chat-Transcript.
//
//	freshchat-sim -addr :8080 -base-url http://freshchat-sim:8080/v2 -rows-per-hour 600 -pending-polls 2
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

func main() {
	err := run(os.Args[1:])
	switch {
	case errors.Is(err, flag.ErrHelp):
		// -help printed the usage: a request, not a failure.
	case err != nil:
		fmt.Fprintln(os.Stderr, "freshchat-sim:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("freshchat-sim", flag.ContinueOnError)
	addr := fs.String("addr", ":8080", "listen address")
	baseURL := fs.String("base-url", "", "API base URL clients use, e.g. http://freshchat-sim:8080/v2 (default: from each request's Host)")
	var opts freshchattest.Options
	var f freshchattest.Faults
	fs.StringVar(&opts.Token, "token", "test-token", "expected bearer token")
	fs.IntVar(&opts.RowsPerHour, "rows-per-hour", 60, "rows per event per hour")
	fs.StringVar(&opts.TempDir, "temp-dir", "", "where generated files are cached (default the system temp dir)")
	debug := fs.Bool("debug", false, "log every request")
	fs.IntVar(&f.PendingPolls, "pending-polls", 0, "GETs answered PENDING before a job ends")
	fs.IntVar(&f.FailJobs, "fail-jobs", 0, "the first N jobs end FAILED")
	fs.IntVar(&f.RateLimitEvery, "rate-limit-every", 0, "every Nth API request answers 429")
	fs.DurationVar(&f.RetryAfter, "retry-after", time.Second, "Retry-After of a 429")
	fs.IntVar(&f.ServerErrorEvery, "server-error-every", 0, "every Nth API request answers 503")
	fs.DurationVar(&f.LinkTTL, "link-ttl", time.Hour, "download link lifetime (0 = never expires)")
	fs.DurationVar(&f.JobTTL, "job-ttl", 0, "job id lifetime (0 = forever)")
	fs.IntVar(&f.CutDownloadEvery, "cut-download-every", 0, "every Nth download is cut mid-body")
	fs.IntVar(&f.ExpireDownloadEvery, "expire-download-every", 0, "every Nth signed download answers 403 expired (0 = never, else at least 2)")
	fs.IntVar(&f.LinksPerReport, "links-per-report", 1, "sub-period links per report")
	fs.DurationVar(&f.ReportLatency, "report-latency", 0, "least time a report takes to complete after its submit")
	fs.DurationVar(&f.ReportTimePerRow, "report-time-per-row", 0, "added to a report's time for each of its rows (a latency that grows with the report)")
	fs.IntVar(&f.SubmitsPerMinute, "submits-per-minute", 0, "submits accepted in any 60 seconds; more are answered 429 (0 = no limit)")
	fs.IntVar(&f.MaxReportRows, "max-report-rows", 0, "a report whose window holds more rows ends FAILED (0 = no limit)")
	fs.IntVar(&f.FilesPerZip, "files-per-zip", 1, "CSV files per zip")
	fs.StringVar(&f.Format, "format", "zip", "download format: zip, csv or gzip")
	fs.BoolVar(&f.LegacyLinkShape, "legacy-link-shape", false, "answer the older single \"link\" object")
	fs.BoolVar(&f.BOM, "bom", false, "start CSV files with a UTF-8 BOM")
	fs.BoolVar(&f.CRLF, "crlf", false, "end CSV lines with CRLF")
	fs.BoolVar(&f.AltTimestamps, "alt-timestamps", false, "created_at as 2006-01-02 15:04:05.0")
	fs.BoolVar(&f.ShuffleColumns, "shuffle-columns", false, "column order differs per file")
	fs.IntVar(&f.MalformedEvery, "malformed-every", 0, "every Nth served row gets reopened=maybe")
	fs.BoolVar(&f.HeaderDrift, "header-drift", false, "columns depend on the UTC hour: drift_added appended in odd hours, one nullable column dropped in hours divisible by 3")
	fs.IntVar(&f.EmptyLinksPolls, "empty-links-polls", 0, "GETs of a completed job answered COMPLETED with no links before its links appear")
	fs.IntVar(&f.LinksInProgressPolls, "links-in-progress-polls", 0, "GETs of a completed job answered with every link IN_PROGRESS first")
	fs.StringVar(&f.PendingStatus, "pending-status", "PENDING", "the status a pending job answers (e.g. QUEUED, one the client does not know)")
	fs.DurationVar(&f.DownloadDelay, "download-delay", 0, "hold every download body back this long before its first byte")
	fs.Int64Var(&f.DownloadBytesPerSecond, "download-bytes-per-second", 0, "cap every download's rate (0 = unlimited)")
	fs.IntVar(&f.VanishJobs, "vanish-jobs", 0, "the first N jobs vanish (GET and links 404) once -vanish-after-links of their links were downloaded")
	fs.IntVar(&f.VanishAfterLinks, "vanish-after-links", 1, "link bodies a vanishing job serves first")
	fs.IntVar(&f.RelapseJobs, "relapse-jobs", 0, "the first N jobs answer their links IN_PROGRESS again (three GETs) once a link was downloaded")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if opts.RowsPerHour < 1 || opts.RowsPerHour > freshchattest.MaxRowsPerHour {
		return fmt.Errorf("-rows-per-hour must be 1..%d", freshchattest.MaxRowsPerHour)
	}
	if err := f.Validate(); err != nil {
		return err
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	opts.Faults = f

	sim := freshchattest.NewHandler(opts)
	defer sim.Close()
	if *baseURL != "" {
		sim.SetBaseURL(*baseURL)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Addr: *addr, Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	opts.Logger.Info("freshchat simulator listening", "addr", *addr, "rows_per_hour", opts.RowsPerHour)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
