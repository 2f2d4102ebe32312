package source_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/source"
)

// bigCSV has n data rows; row i is "i<i>,<i>,<padding>".
func bigCSV(n int) string {
	var b strings.Builder
	b.WriteString("interaction_id,value,pad\n")
	for i := range n {
		fmt.Fprintf(&b, "i%d,%d,%s\n", i, i, strings.Repeat("x", 40))
	}
	return b.String()
}

// checkBig asserts that rows are exactly bigCSV(n), in order.
func checkBig(t *testing.T, rows []gotRow, n int) {
	t.Helper()
	require.Len(t, rows, n)
	for i, r := range rows {
		if r.Ordinal != int64(i) || r.Fields[0] != fmt.Sprintf("i%d", i) || r.Line != int64(i+2) {
			t.Fatalf("row %d is %s", i, r)
		}
	}
}

// cutAfter answers 200 with the full Content-Length but sends only the
// first n bytes of body before dropping the connection.
func cutAfter(t *testing.T, w http.ResponseWriter, body []byte, n int, etag string) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	require.NoError(t, err)
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nETag: %s\r\n\r\n", len(body), etag)
	buf.Write(body[:n])
	buf.Flush()
}

func TestDownloadResumesCutBody(t *testing.T) {
	t.Parallel()
	body := zipOf(t, "big.csv", bigCSV(3000))
	third, sixth := len(body)/3, len(body)/6
	// offset is where request n (1-based) starts when every cut request
	// delivers its share: the first a third, the others a sixth.
	offset := func(n int) int {
		if n == 1 {
			return 0
		}
		return third + (n-2)*sixth
	}
	rangeOf := func(n int) string { return fmt.Sprintf("bytes=%d-", offset(n)) }
	tests := []struct {
		name        string
		cuts        int  // requests that are cut
		ignoreRange bool // the server answers 200 to range requests
		wantRanges  []string
	}{
		{name: "one cut, resumed with Range", cuts: 1, wantRanges: []string{"", rangeOf(2)}},
		{
			// MaxAttempts is 2: each cut made progress, so the budget restarts.
			name: "three cuts with progress", cuts: 3,
			wantRanges: []string{"", rangeOf(2), rangeOf(3), rangeOf(4)},
		},
		{name: "range ignored: restart from 0", cuts: 1, ignoreRange: true, wantRanges: []string{"", rangeOf(2)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var (
				mu     sync.Mutex
				ranges []string
			)
			srv := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				assert.Empty(t, r.Header.Get("Authorization"))
				mu.Lock()
				ranges = append(ranges, r.Header.Get("Range"))
				n := len(ranges)
				mu.Unlock()
				switch {
				case n == 1:
					cutAfter(t, w, body, third, `"v1"`)
				case n <= tt.cuts:
					assert.Equal(t, `"v1"`, r.Header.Get("If-Range"))
					from := offset(n)
					conn, buf, err := http.NewResponseController(w).Hijack()
					require.NoError(t, err)
					defer conn.Close()
					fmt.Fprintf(buf, "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes %d-%d/%d\r\nContent-Length: %d\r\nETag: \"v1\"\r\n\r\n",
						from, len(body)-1, len(body), len(body)-from)
					buf.Write(body[from : from+sixth])
					buf.Flush()
				case tt.ignoreRange:
					w.Write(body)
				default:
					w.Header().Set("ETag", `"v1"`)
					http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
				}
			}))
			dir := t.TempDir()
			c, logs := newClient(t, srv.URL, func(c *source.ClientConfig) { c.TempDir = dir; c.Retry.MaxAttempts = 2 })

			rep := &source.Report{ID: "rep-1", Status: "COMPLETED", Links: []source.Link{{Href: signed(srv.URL, "/big.zip")}}}
			rows, err := collect(t, c.Open(context.Background(), rep, source.Position{}))
			require.NoError(t, err)
			checkBig(t, rows, 3000)
			assert.Equal(t, tt.wantRanges, ranges)
			assert.Contains(t, logs.String(), "retrying")
			emptyDir(t, dir)
		})
	}
}

func TestDownloadResumesStalledBody(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) { // the stall watchdog is a timer
		body := []byte(bigCSV(500))
		var calls atomic.Int32
		c, _ := inProcessClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				w.Header().Set("Content-Length", fmt.Sprint(len(body)))
				w.Write(body[:len(body)/2])
				<-r.Context().Done() // never finishes on its own
				return
			}
			assert.Equal(t, fmt.Sprintf("bytes=%d-", len(body)/2), r.Header.Get("Range"))
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
		}), func(c *source.ClientConfig) { c.StallTimeout = time.Minute })

		began := time.Now()
		rep := &source.Report{ID: "rep-1", Status: "COMPLETED", Links: []source.Link{{Href: signed("http://s3.test", "/a.csv")}}}
		rows, err := collect(t, c.Open(context.Background(), rep, source.Position{}))
		require.NoError(t, err)
		checkBig(t, rows, 500)
		assert.EqualValues(t, 2, calls.Load())
		assert.GreaterOrEqual(t, time.Since(began), time.Minute, "the stalled body was abandoned after StallTimeout")
	})
}

// expiringStore serves path "/new" and refuses "/old" with 403, the way an
// object store refuses an expired pre-signed link; the API hands out "/new".
type expiringStore struct {
	apiGets  atomic.Int32
	refusals atomic.Int32
	url      string
}

func newExpiringStore(t *testing.T, body []byte, alwaysExpired bool) *expiringStore {
	s := &expiringStore{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/reports/raw/{id}", func(w http.ResponseWriter, r *http.Request) {
		checkAuth(t, r)
		s.apiGets.Add(1)
		fresh := "/new"
		if alwaysExpired {
			fresh = "/old"
		}
		writeJSON(w, 200, completedJSON(r.PathValue("id"), signed(s.url, fresh+"0"), signed(s.url, fresh+"1")))
	})
	mux.HandleFunc("GET /{obj}", func(w http.ResponseWriter, r *http.Request) {
		assert.Empty(t, r.Header.Get("Authorization"), "download sent the API token")
		if strings.HasPrefix(r.PathValue("obj"), "old") {
			s.refusals.Add(1)
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	})
	s.url = server(t, mux).URL
	return s
}

func TestDownloadRefreshesExpiredLink(t *testing.T) {
	t.Parallel()
	s := newExpiringStore(t, []byte("id\n1\n"), false)
	dir := t.TempDir()
	c, logs := newClient(t, s.url, func(c *source.ClientConfig) { c.TempDir = dir })

	rep := &source.Report{ID: "rep-1", Status: "COMPLETED", Links: []source.Link{
		{Href: signed(s.url, "/old0")}, {Href: signed(s.url, "/old1")},
	}}
	rows, err := collect(t, c.Open(context.Background(), rep, source.Position{}))
	require.NoError(t, err)
	assert.Len(t, rows, 2)
	assert.Equal(t, []int{0, 1}, []int{rows[0].Link, rows[1].Link})
	assert.EqualValues(t, 1, s.apiGets.Load(), "one refresh serves every link")
	assert.EqualValues(t, 1, s.refusals.Load())
	assert.Equal(t, signed(s.url, "/old0"), rep.Links[0].Href, "the caller's report is not modified")
	assert.Contains(t, logs.String(), "fetching fresh links")
	emptyDir(t, dir)
}

func TestDownloadRefreshIsBounded(t *testing.T) {
	t.Parallel()
	s := newExpiringStore(t, nil, true)
	dir := t.TempDir()
	c, _ := newClient(t, s.url, func(c *source.ClientConfig) { c.TempDir = dir; c.LinkRefreshes = 2 })

	rep := &source.Report{ID: "rep-1", Status: "COMPLETED", Links: []source.Link{{Href: signed(s.url, "/old0")}, {Href: signed(s.url, "/old1")}}}
	_, err := collect(t, c.Open(context.Background(), rep, source.Position{}))
	var de *source.DownloadError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, http.StatusForbidden, de.StatusCode)
	assert.Equal(t, 0, de.Link)
	assert.Equal(t, s.url+"/old0", de.URL)
	assert.EqualValues(t, 2, s.apiGets.Load())
	assert.EqualValues(t, 3, s.refusals.Load())
	assert.False(t, source.Retryable(err))
	assert.ErrorContains(t, err, "link 0 of freshchat report rep-1")
	assertClean(t, err)
	emptyDir(t, dir)
}

func TestDownloadServerErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		failN     int32
		code      int
		wantErr   bool
		wantCalls int32
	}{
		{name: "503 twice, then served", failN: 2, code: 503, wantCalls: 3},
		{name: "429 twice, then served", failN: 2, code: 429, wantCalls: 3},
		{name: "503 until attempts are spent", failN: 100, code: 503, wantErr: true, wantCalls: 4},
		{name: "410 is final", failN: 100, code: 410, wantErr: true, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			srv := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) <= tt.failN {
					w.WriteHeader(tt.code)
					return
				}
				io.WriteString(w, "id\n1\n")
			}))
			dir := t.TempDir()
			c, _ := newClient(t, srv.URL, func(c *source.ClientConfig) { c.TempDir = dir })

			rep := &source.Report{ID: "rep-1", Status: "COMPLETED", Links: []source.Link{{Href: signed(srv.URL, "/a")}}}
			rows, err := collect(t, c.Open(context.Background(), rep, source.Position{}))
			assert.Equal(t, tt.wantCalls, calls.Load())
			emptyDir(t, dir)
			if !tt.wantErr {
				require.NoError(t, err)
				assert.Len(t, rows, 1)
				return
			}
			var de *source.DownloadError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, tt.code, de.StatusCode)
			assert.Equal(t, tt.code >= 500, source.Retryable(err))
			assertClean(t, err)
		})
	}
}

func TestDownloadNetworkErrorIsClean(t *testing.T) {
	t.Parallel()
	srv := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		require.NoError(t, err)
		conn.Close()
	}))
	c, logs := newClient(t, srv.URL, nil)

	rep := &source.Report{ID: "rep-1", Status: "COMPLETED", Links: []source.Link{{Href: signed(srv.URL, "/a")}}}
	_, err := collect(t, c.Open(context.Background(), rep, source.Position{}))
	require.Error(t, err)
	assert.True(t, source.Retryable(err))
	assert.ErrorContains(t, err, "(gave up after 4 attempts)")
	assertClean(t, err)
	assert.Contains(t, logs.String(), srv.URL+"/a")
}

func TestDownloadRelativeHrefWithoutAuth(t *testing.T) {
	t.Parallel()
	var auth atomic.Value
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/reports/raw/{id}", func(w http.ResponseWriter, r *http.Request) {
		checkAuth(t, r)
		writeJSON(w, 200, map[string]any{"id": "rep-1", "status": "COMPLETED",
			"link": map[string]any{"rel": "extraction", "href": "/files/rep-1.csv?" + sigMarker}})
	})
	mux.HandleFunc("GET /files/rep-1.csv", func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		io.WriteString(w, "id\n1\n")
	})
	srv := server(t, mux)
	c, _ := newClient(t, srv.URL, nil)

	rep, err := c.Get(context.Background(), "rep-1")
	require.NoError(t, err)
	rows, err := collect(t, c.Open(context.Background(), rep, source.Position{}))
	require.NoError(t, err)
	assert.Len(t, rows, 1)
	assert.Equal(t, "", auth.Load(), "download sent the API token")
}

func TestDownloadLogsWithoutSignature(t *testing.T) {
	t.Parallel()
	store := newObjectStore(t, map[string][]byte{"/a.csv": []byte("id\n1\n")})
	c, logs := newClient(t, store.url, nil)

	rep := store.report("/a.csv")
	rep.Event, rep.Window = "Message-Sent", day
	_, err := collect(t, c.Open(context.Background(), rep, source.Position{}))
	require.NoError(t, err)
	out := logs.String()
	assert.Contains(t, out, "downloaded freshchat report link")
	assert.Contains(t, out, "href="+store.url+"/a.csv")
	assert.Contains(t, out, "bytes=5")
	assert.Contains(t, out, "duration=")
	assert.Contains(t, out, "event=Message-Sent")
	assert.Contains(t, out, "window=2024-01-01T00:00:00.000Z/2024-01-02T00:00:00.000Z")
	assert.Contains(t, out, "report=rep-1")
}
