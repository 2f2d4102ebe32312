package freshchattest_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

const (
	token     = "test-token"
	isoLayout = "2006-01-02T15:04:05.000Z"
)

// A fixed "now" well after the test windows.
var testNow = time.Date(2025, 6, 1, 12, 30, 0, 0, time.UTC)

// Six hours, the API's inclusive end.
var (
	winStart = time.Date(2025, 5, 31, 0, 0, 0, 0, time.UTC)
	winEnd   = time.Date(2025, 5, 31, 5, 59, 59, 999_000_000, time.UTC)
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: testNow} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newSim(t testing.TB, opts freshchattest.Options) *freshchattest.Server {
	t.Helper()
	if opts.Now == nil {
		opts.Now = newClock().Now
	}
	if opts.TempDir == "" {
		opts.TempDir = t.TempDir()
	}
	s := freshchattest.NewServer(opts)
	t.Cleanup(s.Close)
	return s
}

type apiError struct {
	Code    int    `json:"code"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

type link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

type report struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Interval string `json:"interval"`
	Links    []struct {
		From   string `json:"from"`
		To     string `json:"to"`
		Status string `json:"status"`
		Link   link   `json:"link"`
	} `json:"links"`
	Link *link `json:"link"`
}

func (r report) hrefs() []string {
	var out []string
	for _, l := range r.Links {
		out = append(out, l.Link.Href)
	}
	if r.Link != nil {
		out = append(out, r.Link.Href)
	}
	return out
}

// call sends an API request and returns the response with its body read.
func call(t testing.TB, method, url, bearer, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

func submitBody(event string, start, end time.Time) string {
	b, _ := json.Marshal(map[string]string{
		"start": start.UTC().Format(isoLayout), "end": end.UTC().Format(isoLayout),
		"event": event, "format": "csv",
	})
	return string(b)
}

// submit submits a report and returns its job id.
func submit(t testing.TB, s *freshchattest.Server, event string, start, end time.Time) string {
	t.Helper()
	resp, b := call(t, http.MethodPost, s.URL()+"/reports/raw", token, submitBody(event, start, end))
	require.Equal(t, http.StatusAccepted, resp.StatusCode, string(b))
	var out struct {
		ID   string `json:"id"`
		Link link   `json:"link"`
	}
	require.NoError(t, json.Unmarshal(b, &out))
	return out.ID
}

func getReport(t testing.TB, s *freshchattest.Server, id string) (int, report) {
	t.Helper()
	resp, b := call(t, http.MethodGet, s.URL()+"/reports/raw/"+id, token, "")
	var r report
	if resp.StatusCode == http.StatusOK {
		require.NoError(t, json.Unmarshal(b, &r), string(b))
	}
	return resp.StatusCode, r
}

// completed polls id until it is COMPLETED.
func completed(t testing.TB, s *freshchattest.Server, id string) report {
	t.Helper()
	for range 50 {
		code, r := getReport(t, s, id)
		require.Equal(t, http.StatusOK, code)
		if r.Status == "COMPLETED" {
			return r
		}
		require.Equal(t, "PENDING", r.Status)
	}
	t.Fatalf("job %s never completed", id)
	return report{}
}

// fetch downloads href (with optional extra headers) and reads the body.
func fetch(t testing.TB, href string, header http.Header) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, href, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func mustFetch(t testing.TB, href string) (*http.Response, []byte) {
	t.Helper()
	resp, b, err := fetch(t, href, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	return resp, b
}

type servedFile struct {
	name   string
	raw    []byte
	header []string
	rows   [][]string
}

// unpack returns the CSV files inside a download.
func unpack(t testing.TB, contentType string, body []byte) []servedFile {
	t.Helper()
	switch {
	case strings.HasPrefix(contentType, "application/zip"):
		zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
		require.NoError(t, err)
		var out []servedFile
		for _, f := range zr.File {
			rc, err := f.Open()
			require.NoError(t, err)
			raw, err := io.ReadAll(rc)
			require.NoError(t, err)
			require.NoError(t, rc.Close())
			out = append(out, parseCSV(t, f.Name, raw))
		}
		return out
	case strings.HasPrefix(contentType, "application/gzip"):
		zr, err := gzip.NewReader(bytes.NewReader(body))
		require.NoError(t, err)
		raw, err := io.ReadAll(zr)
		require.NoError(t, err)
		return []servedFile{parseCSV(t, zr.Name, raw)}
	case strings.HasPrefix(contentType, "text/csv"):
		return []servedFile{parseCSV(t, "", body)}
	}
	t.Fatalf("unexpected content type %q", contentType)
	return nil
}

func parseCSV(t testing.TB, name string, raw []byte) servedFile {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(raw, []byte("\xEF\xBB\xBF"))))
	recs, err := r.ReadAll()
	require.NoError(t, err, name)
	require.NotEmpty(t, recs, "%s has no header", name)
	return servedFile{name: name, raw: raw, header: recs[0], rows: recs[1:]}
}

// canonical maps a served file's rows to Columns(event) order by header name
// and created_at to the ISO format.
func canonical(t testing.TB, event string, f servedFile) [][]string {
	t.Helper()
	cols := freshchattest.Columns(event)
	require.ElementsMatch(t, cols, f.header, f.name)
	pos := make(map[string]int, len(f.header))
	for i, h := range f.header {
		pos[h] = i
	}
	out := make([][]string, 0, len(f.rows))
	for _, row := range f.rows {
		c := make([]string, len(cols))
		for i, name := range cols {
			c[i] = row[pos[name]]
		}
		at := pos["created_at"]
		if ts, err := time.Parse("2006-01-02 15:04:05.999999999", row[at]); err == nil {
			c[indexOf(cols, "created_at")] = ts.UTC().Format(isoLayout)
		}
		out = append(out, c)
	}
	return out
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

// servedRows downloads every link of a completed report and returns the
// union of their rows in Columns order, plus the files.
func servedRows(t testing.TB, event string, r report) ([][]string, []servedFile) {
	t.Helper()
	var rows [][]string
	var files []servedFile
	for _, href := range r.hrefs() {
		resp, body := mustFetch(t, href)
		for _, f := range unpack(t, resp.Header.Get("Content-Type"), body) {
			files = append(files, f)
			rows = append(rows, canonical(t, event, f)...)
		}
	}
	return rows, files
}
