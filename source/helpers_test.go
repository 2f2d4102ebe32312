package source_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/internal/logbuf"
	"github.com/freshstream/freshchat-kafka/source"
)

// testToken is recognisable so tests can assert it never leaks.
const testToken = "tok-SECRET-7f3a9c1e5b"

// sigMarker is in the query of every download link the tests hand out: it
// must never appear in a log or an error.
const sigMarker = "X-Sig=SIGNATURE"

// testConfig is a configuration with tiny intervals for a server at base.
func testConfig(t *testing.T, base string, logs *logbuf.Buffer) source.ClientConfig {
	t.Helper()
	u, err := url.Parse(base + "/v2")
	require.NoError(t, err)
	return source.ClientConfig{
		BaseURL:         u,
		Token:           testToken,
		Logger:          slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		PollInterval:    time.Millisecond,
		PollMaxInterval: 4 * time.Millisecond,
		PendingTimeout:  time.Second,
		MaxSubmits:      3,
		StallTimeout:    5 * time.Second,
		Retry:           source.RetryConfig{Base: time.Millisecond, Max: 4 * time.Millisecond, MaxAttempts: 4, MaxThrottled: 5},
		TempDir:         t.TempDir(),
	}
}

// newClient builds a client for base; mod adjusts the test configuration.
// At cleanup it asserts that the logs hold neither the token nor a link
// signature.
func newClient(t *testing.T, base string, mod func(*source.ClientConfig)) (*source.Client, *logbuf.Buffer) {
	t.Helper()
	logs := &logbuf.Buffer{}
	cfg := testConfig(t, base, logs)
	if mod != nil {
		mod(&cfg)
	}
	c, err := source.NewClient(cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		out := logs.String()
		assert.NotContains(t, out, testToken, "token in logs")
		assert.NotContains(t, out, sigMarker, "link signature in logs")
	})
	return c, logs
}

// assertClean asserts that an error text holds neither the token nor a link
// signature.
func assertClean(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	assert.NotContains(t, err.Error(), testToken, "token in error")
	assert.NotContains(t, err.Error(), sigMarker, "link signature in error")
}

// checkAuth fails the test unless r carries the API token.
func checkAuth(t *testing.T, r *http.Request) {
	t.Helper()
	assert.Equal(t, "Bearer "+testToken, r.Header.Get("Authorization"), "API request without the token")
}

// writeJSON answers code with v as JSON.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// linkJSON is a link in the documented shape.
func linkJSON(href string) map[string]any {
	return map[string]any{
		"from": "2024-01-01T00:00:00Z", "to": "2024-01-01T11:59:59Z", "status": "COMPLETED",
		"link": map[string]any{"rel": "extraction", "href": href},
	}
}

// completedJSON is a COMPLETED report with one link per href.
func completedJSON(id string, hrefs ...string) map[string]any {
	links := []any{}
	for _, h := range hrefs {
		links = append(links, linkJSON(h))
	}
	return map[string]any{"id": id, "status": "COMPLETED", "interval": "x", "links": links}
}

// signed returns href with a signature query, like a pre-signed URL.
func signed(base, path string) string { return base + path + "?" + sigMarker + "&X-Expires=3600" }

// zipOf builds a zip of name/content pairs, in order; a name ending in "/"
// is a directory.
func zipOf(t *testing.T, pairs ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i < len(pairs); i += 2 {
		w, err := zw.Create(pairs[i])
		require.NoError(t, err)
		_, err = w.Write([]byte(pairs[i+1]))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func gzipOf(t *testing.T, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write([]byte(s))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// gotRow is a copy of a source.Row that outlives Next.
type gotRow struct {
	Ordinal int64
	Link    int
	File    string
	Line    int64
	Header  string
	Fields  []string
}

func (g gotRow) String() string {
	return fmt.Sprintf("#%d %s:%d [%s] %q", g.Ordinal, g.File, g.Line, g.Header, g.Fields)
}

// collect reads rows to the end and closes them.
func collect(t *testing.T, rows *source.Rows) ([]gotRow, error) {
	t.Helper()
	var out []gotRow
	for rows.WaitNext(context.Background()) {
		r := rows.Row()
		out = append(out, gotRow{
			Ordinal: r.Ordinal, Link: r.Link, File: r.File, Line: r.Line,
			Header: strings.Join(r.Header, "|"), Fields: append([]string(nil), r.Fields...),
		})
	}
	err := rows.Err()
	require.NoError(t, rows.Close())
	return out, err
}

// emptyDir asserts that dir holds no file (temp files were removed).
func emptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "temp files left behind")
}

// server starts h on loopback until the test ends.
func server(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func readDirNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, err
}
