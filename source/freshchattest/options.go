package freshchattest

import (
	"fmt"
	"log/slog"
	"os"
	"time"
)

// Options configure a simulator. The zero value is usable.
type Options struct {
	// Token is the expected bearer token (default "test-token").
	Token string
	// Now is the clock (default time.Now). Rows exist only with
	// created_at <= Now(); job and link expiry and the 15-month submit limit
	// are measured on it.
	Now func() time.Time
	// RowsPerHour is the number of rows per event per UTC hour (default 60,
	// at most MaxRowsPerHour). Large values (50_000) suit benchmarks.
	RowsPerHour int
	// Faults are the initial fault knobs; see SetFaults.
	Faults Faults
	// Logger, if set, receives one Debug line per request.
	Logger *slog.Logger
	// TempDir is where generated files are cached (default os.TempDir()).
	TempDir string
	// ReuseReports answers a submit that repeats an earlier one (same
	// event, start and end) with the earlier job, once that job has
	// completed, as long as it is neither forgotten nor vanished: the
	// same id, the same links and files, already generated. Freshchat
	// makes a new job for every submit; a benchmark that generates a report
	// once, untimed, turns this on so that a connector submitting the same
	// window is not timed waiting for its file to be generated again.
	ReuseReports bool
}

// ClockFrom returns a clock that reads start at once and then runs at the
// real pace, for Options.Now and the connector's own clock. A test whose
// simulated world lives on a fixed date does not depend on the day or the
// hour it runs at (rows, header drift and window boundaries are always
// the same), while link and job expiry, timeouts and settle times still
// take real time.
func ClockFrom(start time.Time) func() time.Time {
	began := time.Now()
	return func() time.Time { return start.Add(time.Since(began)) }
}

// Faults are the knobs that make the simulator misbehave or vary its output.
// All counters are deterministic (no randomness) and restart from zero when
// the simulator is built and on every SetFaults, so "every Nth" counts from
// that moment. Zero or negative counts turn a knob off.
type Faults struct {
	// PendingPolls: each job answers PENDING to this many GETs before it ends.
	PendingPolls int
	// FailJobs: the first N jobs submitted end FAILED (after their pending polls).
	FailJobs int
	// RateLimitEvery: every Nth API request (POST and GET under /v2, counted
	// together) answers 429 with Retry-After, before authentication.
	RateLimitEvery int
	// RetryAfter is the Retry-After value, rounded up to whole seconds,
	// at least 1s (default 1s).
	RetryAfter time.Duration
	// ServerErrorEvery: every Nth API request answers 503 with a JSON error
	// body. When both fire on the same request, 429 wins.
	ServerErrorEvery int
	// LinkTTL: a download link expires this long after the GET that handed
	// it out, rounded up to a whole second (0 = never). An expired link
	// answers 403 with S3-style XML AccessDenied "Request has expired".
	LinkTTL time.Duration
	// ExpireDownloadEvery: every Nth correctly signed download answers 403
	// "Request has expired" whatever its expiry, as a link that expired
	// while the connector was busy would (0 = never; at least 2, since the
	// fresh link a client then asks for must be able to succeed).
	ExpireDownloadEvery int
	// JobTTL: a job id is forgotten this long after submission; its GET then
	// answers 404 (0 = never). Links already handed out keep working.
	JobTTL time.Duration
	// CutDownloadEvery: every Nth download that would send a body (GET with a
	// valid link) is cut: the full Content-Length is announced, half of the
	// bytes are sent, then the connection is aborted. Bodies shorter than two
	// bytes are never cut, so resuming with Range always makes progress.
	CutDownloadEvery int
	// LinksPerReport splits a report's window into N sub-period links
	// (default 1). Ignored with LegacyLinkShape.
	LinksPerReport int
	// FilesPerZip: each zip holds N CSV files, each with its own header, the
	// rows split between them in order (default 1). Zip format only.
	FilesPerZip int
	// Format of the served files: "zip" (default), "csv" (plain) or "gzip"
	// (one gzip-compressed CSV).
	Format string
	// LegacyLinkShape: GET answers the older single "link" object instead of
	// "links"; the whole window is then one file.
	LegacyLinkShape bool
	// BOM starts every CSV file with a UTF-8 byte order mark.
	BOM bool
	// CRLF ends CSV lines (and newlines inside quoted cells) with \r\n.
	CRLF bool
	// AltTimestamps serves created_at the way java.sql.Timestamp prints it,
	// "2006-01-02 15:04:05.0" (UTC, no zone): the fraction keeps the
	// milliseconds with trailing zeros trimmed (".0", ".5", ".123").
	AltTimestamps bool
	// ShuffleColumns serves the columns in a different order in every file
	// (deterministically, never the canonical order when there are at least
	// two columns).
	ShuffleColumns bool
	// MalformedEvery: in events that have a reopened column, the Nth, 2Nth,
	// ... row served by each link (counted across the link's files, from 1)
	// carries reopened=maybe, a cell no connector can convert.
	MalformedEvery int
	// HeaderDrift makes the columns of a CSV file depend on the UTC hour of
	// its rows, as a vendor adding and removing columns would: in odd hours
	// a column drift_added is appended to the header (a deterministic value
	// per row), in hours divisible by 3 one nullable column of the event is
	// missing (DriftColumns names both). Links are not cut at hours, so a
	// zip starts a new CSV file, with its own header, wherever the drift
	// changes between consecutive rows (on top of the FilesPerZip split): a
	// report's files then differ in their columns. A plain or gzip link is
	// one file and carries the drift of its first row (of its start when it
	// has no rows) throughout. Server.ServedRows returns the rows as served.
	HeaderDrift bool

	// EmptyLinksPolls: a job that has completed answers COMPLETED with an
	// empty "links" array to this many GETs before its links appear, as a
	// job whose files are not attached yet does.
	EmptyLinksPolls int
	// LinksInProgressPolls: a job that has completed answers COMPLETED with
	// every link IN_PROGRESS (and no href) to this many GETs first.
	LinksInProgressPolls int
	// PendingStatus is the job status a pending job answers (default
	// "PENDING"); any other value imitates a status the client does not
	// know, such as "QUEUED".
	PendingStatus string
	// DownloadDelay holds every download body back this long before its
	// first byte, as a slow object store does.
	DownloadDelay time.Duration
	// DownloadBytesPerSecond caps the rate of every download body (0 =
	// unlimited), as a bandwidth-capped object store does. Bytes keep
	// flowing, so a stall watchdog does not fire.
	DownloadBytesPerSecond int64
	// VanishJobs: the first N jobs submitted vanish once VanishAfterLinks
	// of their link bodies have been downloaded: their GET then answers
	// 404 and their links 404 NoSuchKey, as an expired report does in the
	// middle of a read.
	VanishJobs int
	// VanishAfterLinks is how many link bodies of a vanishing job are
	// served before it vanishes (default 1).
	VanishAfterLinks int
	// RelapseJobs: the first N jobs submitted answer the three GETs after
	// their first link body was downloaded with COMPLETED and their links
	// IN_PROGRESS again (no href), as a job being regenerated does; then
	// their links are finished again.
	RelapseJobs int

	// ReportLatency is the least time a job takes to complete after its
	// submit, measured on Options.Now: it answers PENDING until then (on
	// top of PendingPolls). ReportTimePerRow adds this much per row of its
	// window, as report generation that grows with the rows does. Together
	// they are a latency model of the real service for backfill benchmarks.
	ReportLatency    time.Duration
	ReportTimePerRow time.Duration
	// SubmitsPerMinute caps the submits accepted in any 60 seconds (on
	// Options.Now): one more answers 429 with a Retry-After of the seconds
	// until one of them is a minute old, as an account's submit budget
	// would. 0 = no cap.
	SubmitsPerMinute int
	// MaxReportRows: a job whose window holds more rows than this ends
	// FAILED instead of completing, as a report too large to generate does
	// (0 = no limit).
	MaxReportRows int
}

// Validate reports a knob the simulator cannot honour.
func (f Faults) Validate() error {
	switch f.Format {
	case "", "zip", "csv", "gzip":
	default:
		return fmt.Errorf("freshchattest: unknown format %q (want zip, csv or gzip)", f.Format)
	}
	if f.ExpireDownloadEvery == 1 || f.ExpireDownloadEvery < 0 {
		return fmt.Errorf("freshchattest: ExpireDownloadEvery must be 0 or at least 2, got %d", f.ExpireDownloadEvery)
	}
	if f.RetryAfter < 0 || f.LinkTTL < 0 || f.JobTTL < 0 || f.DownloadDelay < 0 || f.DownloadBytesPerSecond < 0 ||
		f.ReportLatency < 0 || f.ReportTimePerRow < 0 || f.SubmitsPerMinute < 0 || f.MaxReportRows < 0 {
		return fmt.Errorf("freshchattest: durations and counts must not be negative")
	}
	return nil
}

func (f Faults) withDefaults() Faults {
	if f.RetryAfter <= 0 {
		f.RetryAfter = time.Second
	}
	if f.LinksPerReport < 1 {
		f.LinksPerReport = 1
	}
	if f.FilesPerZip < 1 {
		f.FilesPerZip = 1
	}
	if f.Format == "" {
		f.Format = "zip"
	}
	if f.PendingStatus == "" {
		f.PendingStatus = statusPending
	}
	if f.VanishAfterLinks < 1 {
		f.VanishAfterLinks = 1
	}
	return f
}

// retryAfterSeconds is RetryAfter in whole seconds, rounded up, at least 1.
func (f Faults) retryAfterSeconds() int64 {
	s := int64((f.RetryAfter + time.Second - 1) / time.Second)
	return max(s, 1)
}

func (o Options) withDefaults() (Options, error) {
	if o.Token == "" {
		o.Token = "test-token"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RowsPerHour == 0 {
		o.RowsPerHour = 60
	}
	if o.RowsPerHour < 0 || o.RowsPerHour > MaxRowsPerHour {
		return o, fmt.Errorf("freshchattest: RowsPerHour %d out of range 1..%d", o.RowsPerHour, MaxRowsPerHour)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.TempDir == "" {
		o.TempDir = os.TempDir()
	}
	if err := o.Faults.Validate(); err != nil {
		return o, err
	}
	o.Faults = o.Faults.withDefaults()
	return o, nil
}
