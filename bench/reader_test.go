package bench

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/schemas"
	"github.com/freshstream/freshchat-kafka/source"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

// readerRows is the size of the report BenchmarkReader reads.
const readerRows = 200_000

const readerEvent = "Message-Sent"

// readerFixture is one generated report: its zip in memory, and a source
// client with the prepared report for the real reading path.
type readerFixture struct {
	zip    []byte
	client *source.Client
	report *source.Report
}

var (
	fixtureOnce sync.Once
	fixture     readerFixture
	fixtureErr  error
	fixtureDir  string                // removed by TestMain
	fixtureSrc  *freshchattest.Server // closed by TestMain
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureSrc != nil {
		fixtureSrc.Close()
	}
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

// loadFixture generates the report once per test binary (benchmarks run
// again for every -count); it lives until TestMain ends.
func loadFixture(b *testing.B) readerFixture {
	b.Helper()
	fixtureOnce.Do(func() { fixture, fixtureErr = newFixture() })
	if fixtureErr != nil {
		b.Fatal(fixtureErr)
	}
	return fixture
}

func newFixture() (readerFixture, error) {
	const token = "bench-token-0123456789"
	var f readerFixture
	dir, err := os.MkdirTemp("", "bench-reader-")
	if err != nil {
		return f, err
	}
	fixtureDir = dir
	// A fixed hour, on a simulator clock three days later: the same bytes
	// on every run, whatever the day.
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(time.Hour)
	fixtureSrc = freshchattest.NewServer(freshchattest.Options{Token: token, RowsPerHour: readerRows, TempDir: dir,
		Now: freshchattest.ClockFrom(from.AddDate(0, 0, 3)), ReuseReports: true})
	ctx := context.Background()
	if _, err := Generate(ctx, fixtureSrc, token, readerEvent, from, to); err != nil {
		return f, err
	}
	base, err := url.Parse(fixtureSrc.URL())
	if err != nil {
		return f, err
	}
	f.client, err = source.NewClient(source.ClientConfig{BaseURL: base, Token: token, PollInterval: time.Millisecond, TempDir: dir})
	if err != nil {
		return f, err
	}
	if f.report, err = f.client.Prepare(ctx, readerEvent, source.Window{Start: from, End: to}, ""); err != nil {
		return f, err
	}
	f.zip, err = get(f.report.Links[0].Href)
	return f, err
}

func get(href string) ([]byte, error) {
	resp, err := http.Get(href)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New(resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// BenchmarkReader splits the connector's reading goroutine (the critical
// path of a window: source.Rows.Next, then per row the checkpoint digest,
// Converter.Append and AppendKey) into cumulative stages, over a 200k-row
// Message-Sent report of the simulator held in memory. Each stage reads the
// zip the way source/rows.go does (archive/zip, a 64 KiB bufio.Reader,
// encoding/csv with ReuseRecord) and adds one step:
//
//	inflate                  decompress the CSV to io.Discard
//	inflate+csv              + parse records
//	inflate+csv+digest       + checkpoint.Digest.AddRow
//	inflate+csv+digest+avro  + Converter.Append and AppendKey
//	source.Rows+digest+avro  the real path: source.Client.Open over the
//	                         simulator (download and spool included, the
//	                         inflate on a goroutine of its own ahead of
//	                         the parser)
//
// The differences between stages are the cost of each step, in ns/row.
func BenchmarkReader(b *testing.B) {
	f := loadFixture(b)
	s, err := schemas.Lookup(readerEvent)
	if err != nil {
		b.Fatal(err)
	}
	stages := []struct {
		name string
		run  func(b *testing.B) int
	}{
		{"inflate", func(b *testing.B) int { return inflateOnly(b, f.zip) }},
		{"inflate+csv", func(b *testing.B) int { return parse(b, f.zip, nil, nil) }},
		{"inflate+csv+digest", func(b *testing.B) int { return parse(b, f.zip, rowDigest, nil) }},
		{"inflate+csv+digest+avro", func(b *testing.B) int { return parse(b, f.zip, rowDigest, s) }},
		{"source.Rows+digest+avro", func(b *testing.B) int { return sourceRows(b, f, s) }},
	}
	for _, st := range stages {
		b.Run(st.name, func(b *testing.B) {
			b.SetBytes(int64(len(f.zip)))
			b.ReportAllocs()
			rows := 0
			for b.Loop() {
				rows = st.run(b)
			}
			if rows != readerRows {
				b.Fatalf("read %d rows, want %d", rows, readerRows)
			}
			perRow := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(rows)
			b.ReportMetric(perRow, "ns/row")
			b.ReportMetric(1e9/perRow, "rows/s")
		})
	}
}

func rowDigest(d checkpoint.Digest, fields []string) checkpoint.Digest { return d.AddRow(fields) }

// openCSV opens the first file of the zip in data.
func openCSV(b *testing.B, data []byte) io.ReadCloser {
	b.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		b.Fatal(err)
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		b.Fatal(err)
	}
	return rc
}

// inflateOnly decompresses the CSV and returns the rows it is known to hold
// (counting them would mean parsing: hostile cells hold newlines).
func inflateOnly(b *testing.B, data []byte) int {
	rc := openCSV(b, data)
	defer rc.Close()
	if _, err := io.CopyBuffer(io.Discard, rc, make([]byte, 64<<10)); err != nil {
		b.Fatal(err)
	}
	return readerRows
}

// parse reads the zip's CSV like source.Rows and applies digest and the
// converter of s (when not nil) to each row, all on one goroutine.
func parse(b *testing.B, data []byte, digest func(checkpoint.Digest, []string) checkpoint.Digest, s *schemas.Schema) int {
	rc := openCSV(b, data)
	defer rc.Close()
	var in io.Reader = rc
	cr := csv.NewReader(bufio.NewReaderSize(in, 64<<10))
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		b.Fatal(err)
	}
	header = append([]string(nil), header...)
	var conv *schemas.Converter
	if s != nil {
		if conv, err = s.Converter(header); err != nil {
			b.Fatal(err)
		}
	}
	d := checkpoint.NewDigest
	val := make([]byte, 0, 4096)
	key := make([]byte, 0, 64)
	rows := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		rows++
		if digest != nil {
			d = digest(d, rec)
		}
		if conv != nil {
			if val, err = conv.Append(val[:0], rec); err != nil {
				b.Fatal(err)
			}
			key, _ = conv.AppendKey(key[:0], rec)
		}
	}
	return rows
}

// sourceRows reads the prepared report through source.Client.Open, as the
// pipeline does: each iteration downloads the link from the simulator,
// spools it to a temp file and parses it.
func sourceRows(b *testing.B, f readerFixture, s *schemas.Schema) int {
	rows := f.client.Open(context.Background(), f.report, source.Position{})
	defer rows.Close()
	var conv *schemas.Converter
	var convFor []string
	d := checkpoint.NewDigest
	val := make([]byte, 0, 4096)
	key := make([]byte, 0, 64)
	n := 0
	for rows.WaitNext(context.Background()) {
		r := rows.Row()
		if conv == nil || !slices.Equal(convFor, r.Header) {
			var err error
			if conv, err = s.Converter(r.Header); err != nil {
				b.Fatal(err)
			}
			convFor = slices.Clone(r.Header)
		}
		d = d.AddRow(r.Fields)
		var err error
		if val, err = conv.Append(val[:0], r.Fields); err != nil {
			b.Fatal(err)
		}
		key, _ = conv.AppendKey(key[:0], r.Fields)
		n++
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return n
}
