// Package freshchattest is a deterministic simulator of the Freshchat raw
// reports API (POST /v2/reports/raw, GET /v2/reports/raw/{id}) and of the
// object store its pre-signed download links point to, in the spirit of
// net/http/httptest and franz-go's kfake: it speaks the real protocol on
// loopback. It is for tests, benchmarks, the connector's demo command and
// cmd/freshchat-sim; production code must not import it.
//
// # Data
//
// The data set is a pure function of (event, time, Options.RowsPerHour):
// for each event and each UTC hour there are exactly RowsPerHour rows with
// distinct, ascending created_at milliseconds, one in each equal slot of the
// hour. Every cell is derived from a hash of (event, created_at), so a row is
// identified by its event and created_at. Rows exist only once created_at <=
// Options.Now(); a report holds the rows with created_at <= Now() at the
// moment its job completed. Server.Rows returns the expected rows of any
// window, for comparison with what a connector delivered.
//
// About every 7th row carries hostile text in its name cells (a comma,
// double quotes, an embedded newline and non-ASCII UTF-8); this is not a
// knob. Booleans are true/false, empty cells mean no value.
//
// Besides the 12 reports of Events the API serves three event names of the
// vendor SDK the connector has no schema for (VendorEvents:
// agent-performance, classic, Chat-Transcript), with columns of the
// simulator's own choosing, for tests of schemas derived from a header.
//
// # Header drift
//
// With Faults.HeaderDrift the columns of a file depend on the UTC hour of
// its rows: a vendor column is appended in odd hours and a nullable column
// dropped in hours divisible by 3 (DriftColumns). A zip starts a new CSV
// file wherever the drift changes, so one report's files differ in their
// headers; Server.ServedRows returns each row with the header it was served
// under.
//
// # Faults
//
// Faults are counted, not random: "every Nth" means the Nth, 2Nth, ...
// occurrence since the simulator was built or since the last SetFaults.
// The shape of a report's files (format, files per zip, CSV quirks,
// malformed cells) is fixed when its job completes; later SetFaults calls do
// not change files already handed out, so a re-download (or a Range resume)
// always returns the same bytes.
//
// # Latency and budgets
//
// By default a job completes on its first GET. Faults.ReportLatency and
// Faults.ReportTimePerRow make it answer PENDING until a time that grows
// with the rows of its window has passed on Options.Now, and
// Faults.SubmitsPerMinute answers 429 to submits over an account's budget:
// with these and the client's intervals and budgets scaled down alike, a
// backfill of months runs in minutes with the proportions of the real
// service (bench.Backfill).
// Faults.MaxReportRows fails jobs whose window holds too many rows.
//
// # Downloads
//
// Links are absolute URLs under /files/ (not under /v2) on the same origin
// as the API, signed with an HMAC and optionally expiring (Faults.LinkTTL).
// A download is generated on its first request into a file under
// Options.TempDir and served with http.ServeContent, so Range and If-Range
// requests work; Close removes the files.
package freshchattest
