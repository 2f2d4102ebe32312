package source_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/source"
)

// objectStore serves fixed bodies by path, like a bucket behind pre-signed
// links, and fails the test if a request carries an Authorization header.
type objectStore struct {
	t     *testing.T
	files map[string][]byte
	calls atomic.Int32
	url   string
}

func newObjectStore(t *testing.T, files map[string][]byte) *objectStore {
	s := &objectStore{t: t, files: files}
	s.url = server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		assert.Empty(t, r.Header.Get("Authorization"), "download sent the API token")
		assert.Equal(t, "SIGNATURE", r.URL.Query().Get("X-Sig"), "download lost its signature")
		body, ok := s.files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	})).URL
	return s
}

// report is a completed report linking the given paths of the store.
func (s *objectStore) report(paths ...string) *source.Report {
	rep := &source.Report{ID: "rep-1", Status: "COMPLETED", Links: []source.Link{}}
	for _, p := range paths {
		rep.Links = append(rep.Links, source.Link{Status: "COMPLETED", Href: signed(s.url, p)})
	}
	return rep
}

// apiOnly is a client whose API must not be called.
func apiOnly(t *testing.T, dir string) *source.Client {
	t.Helper()
	srv := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected API call %s %s", r.Method, r.URL.Path)
		w.WriteHeader(500)
	}))
	c, _ := newClient(t, srv.URL, func(c *source.ClientConfig) { c.TempDir = dir })
	return c
}

const hdr = "interaction_id,created_at,actor_name"

func TestOpenReadsFormats(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body []byte
		want []string // gotRow.String()
	}{
		{
			name: "plain csv",
			body: []byte(hdr + "\ni1,2024-01-01T00:00:00.000Z,Ann\ni2,2024-01-01T00:00:01.000Z,Bob\n"),
			want: []string{
				`#0 link0:2 [interaction_id|created_at|actor_name] ["i1" "2024-01-01T00:00:00.000Z" "Ann"]`,
				`#1 link0:3 [interaction_id|created_at|actor_name] ["i2" "2024-01-01T00:00:01.000Z" "Bob"]`,
			},
		},
		{
			name: "gzip",
			body: gzipOf(t, hdr+"\ni1,t,Ann\n"),
			want: []string{`#0 link0:2 [interaction_id|created_at|actor_name] ["i1" "t" "Ann"]`},
		},
		{
			name: "zip with two CSVs, a directory and macOS metadata",
			body: zipOf(t,
				"out/", "",
				"out/a.csv", hdr+"\ni1,t,Ann\ni2,t,Bob\n",
				"__MACOSX/out/._a.csv", "junk",
				"out/b.csv", "\ufeffinteraction_id,value\r\ni3,5\r\n",
				"out/empty.csv", "",
			),
			want: []string{
				`#0 link0/out/a.csv:2 [interaction_id|created_at|actor_name] ["i1" "t" "Ann"]`,
				`#1 link0/out/a.csv:3 [interaction_id|created_at|actor_name] ["i2" "t" "Bob"]`,
				`#2 link0/out/b.csv:2 [interaction_id|value] ["i3" "5"]`,
			},
		},
		{
			name: "BOM and CRLF",
			body: []byte("\ufeff" + hdr + "\r\ni1,t,Ann\r\ni2,t,Bob\r\n"),
			want: []string{
				`#0 link0:2 [interaction_id|created_at|actor_name] ["i1" "t" "Ann"]`,
				`#1 link0:3 [interaction_id|created_at|actor_name] ["i2" "t" "Bob"]`,
			},
		},
		{
			name: "quoted commas, doubled quotes, embedded newlines, UTF-8",
			body: []byte(hdr + "\n" +
				`i1,t,"Smith, Ann"` + "\n" +
				`i2,t,"say ""hi"""` + "\n" +
				"i3,t,\"two\r\nlines\"\n" +
				"i4,t,Zoë 日本 🙂\n"),
			want: []string{
				`#0 link0:2 [interaction_id|created_at|actor_name] ["i1" "t" "Smith, Ann"]`,
				`#1 link0:3 [interaction_id|created_at|actor_name] ["i2" "t" "say \"hi\""]`,
				`#2 link0:4 [interaction_id|created_at|actor_name] ["i3" "t" "two\nlines"]`,
				`#3 link0:6 [interaction_id|created_at|actor_name] ["i4" "t" "Zoë 日本 🙂"]`,
			},
		},
		{
			name: "ragged records and empty trailing lines",
			body: []byte(hdr + "\ni1,t\ni2,t,Ann,extra\n\n\n  \n"),
			want: []string{
				`#0 link0:2 [interaction_id|created_at|actor_name] ["i1" "t"]`,
				`#1 link0:3 [interaction_id|created_at|actor_name] ["i2" "t" "Ann" "extra"]`,
			},
		},
		{name: "empty file", body: nil},
		{name: "only a BOM", body: []byte("\ufeff")},
		{name: "header only", body: []byte(hdr + "\r\n")},
		{name: "empty zip", body: zipOf(t)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := newObjectStore(t, map[string][]byte{"/a": tt.body})
			dir := t.TempDir()
			c := apiOnly(t, dir)

			rows, err := collect(t, c.Open(context.Background(), store.report("/a"), source.Position{}))
			require.NoError(t, err)
			var got []string
			for _, r := range rows {
				got = append(got, r.String())
			}
			assert.Equal(t, tt.want, got)
			emptyDir(t, dir)
		})
	}
}

func TestOpenReadsLinksInOrder(t *testing.T) {
	t.Parallel()
	store := newObjectStore(t, map[string][]byte{
		"/first.zip": zipOf(t, "a.csv", "id\n1\n2\n", "b.csv", "id\n3\n"),
		"/empty":     nil,
		"/third.gz":  gzipOf(t, "id\n4\n"),
	})
	dir := t.TempDir()
	c := apiOnly(t, dir)

	rows, err := collect(t, c.Open(context.Background(), store.report("/first.zip", "/empty", "/third.gz"), source.Position{}))
	require.NoError(t, err)
	want := []gotRow{
		{Ordinal: 0, Link: 0, File: "link0/a.csv", Line: 2, Header: "id", Fields: []string{"1"}},
		{Ordinal: 1, Link: 0, File: "link0/a.csv", Line: 3, Header: "id", Fields: []string{"2"}},
		{Ordinal: 2, Link: 0, File: "link0/b.csv", Line: 2, Header: "id", Fields: []string{"3"}},
		{Ordinal: 3, Link: 2, File: "link2", Line: 2, Header: "id", Fields: []string{"4"}},
	}
	assert.Equal(t, want, rows)
	emptyDir(t, dir)
}

func TestOpenEmptyReport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := apiOnly(t, dir)

	rows, err := collect(t, c.Open(context.Background(), &source.Report{ID: "r", Status: "COMPLETED"}, source.Position{}))
	require.NoError(t, err)
	assert.Empty(t, rows)
}

func TestOpenRefusesUnfinishedReport(t *testing.T) {
	t.Parallel()
	c := apiOnly(t, t.TempDir())
	for _, rep := range []*source.Report{
		nil,
		{ID: "r", Status: "PENDING"},
		{ID: "r", Status: "COMPLETED", Links: []source.Link{{Status: "IN_PROGRESS", Href: "https://x/a"}}},
	} {
		_, err := collect(t, c.Open(context.Background(), rep, source.Position{}))
		assert.Error(t, err)
	}
}

func TestOpenReportsCSVErrors(t *testing.T) {
	t.Parallel()
	store := newObjectStore(t, map[string][]byte{"/a.zip": zipOf(t, "x.csv", "id,name\n1,ok\n2,bad\"quote\n3,never\n")})
	dir := t.TempDir()
	c := apiOnly(t, dir)

	rows, err := collect(t, c.Open(context.Background(), store.report("/a.zip"), source.Position{}))
	require.Error(t, err)
	assert.Len(t, rows, 1)
	assert.ErrorContains(t, err, "rep-1, link0/x.csv")
	assert.ErrorContains(t, err, "line 3")
	assert.False(t, source.Retryable(err))
	emptyDir(t, dir)
}

// TestOpenReportsDamagedBodies: a compressed body is inflated on a
// goroutine of its own, ahead of the parser, over several buffers; the rows
// before the damage still arrive, then the decoder's own error, unchanged
// and not retryable (the same bytes would fail the same way).
func TestOpenReportsDamagedBodies(t *testing.T) {
	t.Parallel()
	const rows = 40_000 // about 1.3 MB of CSV: several read-ahead buffers
	var csv strings.Builder
	csv.WriteString("id,name\n")
	for i := range rows {
		fmt.Fprintf(&csv, "%d,name number %d\n", i, i)
	}

	gz := gzipOf(t, csv.String())
	truncated := gz[:len(gz)*2/3]

	// A stored (uncompressed) zip entry with one digit changed: the CSV
	// stays valid, so only the CRC-32 check at the end of the entry fails.
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "x.csv", Method: zip.Store})
	require.NoError(t, err)
	_, err = w.Write([]byte(csv.String()))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	damaged := bytes.Replace(zbuf.Bytes(), []byte("\n20000,"), []byte("\n20001,"), 1)
	require.NotEqual(t, zbuf.Bytes(), damaged)

	for _, tt := range []struct {
		name string
		body []byte
		want error
		all  bool // every row arrives before the error
	}{
		{name: "truncated gzip", body: truncated, want: io.ErrUnexpectedEOF},
		{name: "zip entry with a bad checksum", body: damaged, want: zip.ErrChecksum, all: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := newObjectStore(t, map[string][]byte{"/a": tt.body})
			dir := t.TempDir()
			got, err := collect(t, apiOnly(t, dir).Open(context.Background(), store.report("/a"), source.Position{}))
			require.ErrorIs(t, err, tt.want)
			assert.False(t, source.Retryable(err))
			if tt.all {
				assert.Len(t, got, rows)
			} else {
				assert.NotEmpty(t, got)
				assert.Less(t, len(got), rows)
			}
			for i, r := range got {
				if r.Fields[0] != strconv.Itoa(i) && !(tt.all && i == 20000) {
					t.Fatalf("row %d is %q", i, r.Fields)
				}
			}
			emptyDir(t, dir)
		})
	}
}

func TestCloseMidwayRemovesTempFiles(t *testing.T) {
	t.Parallel()
	store := newObjectStore(t, map[string][]byte{"/a": []byte("id\n1\n2\n3\n")})
	dir := t.TempDir()
	c := apiOnly(t, dir)

	rows := c.Open(context.Background(), store.report("/a"), source.Position{})
	require.True(t, rows.WaitNext(context.Background()))
	entries, err := readDirNames(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "the download is spooled to TempDir")
	require.NoError(t, rows.Close())
	require.NoError(t, rows.Close())
	assert.False(t, rows.WaitNext(context.Background()))
	emptyDir(t, dir)
}

func TestRowIsReused(t *testing.T) {
	t.Parallel()
	store := newObjectStore(t, map[string][]byte{"/a": []byte("id,v\n1,a\n2,b\n")})
	c := apiOnly(t, t.TempDir())

	rows := c.Open(context.Background(), store.report("/a"), source.Position{})
	defer rows.Close()
	require.True(t, rows.WaitNext(context.Background()))
	first := rows.Row()
	header := first.Header
	require.True(t, rows.WaitNext(context.Background()))
	assert.Equal(t, "2", first.Fields[0], "Row is valid only until Next")
	assert.Equal(t, header, rows.Row().Header, "rows of a file share the header")
	assert.Equal(t, "id|v", strings.Join(header, "|"))
}

// TestOpenResumesFromPosition: Open after a position re-reads the rows
// before it, checks them against its digest, and returns only the rows
// after it; a report that differs from what the position accounts for, or
// holds fewer rows now, ends with a ResumeError.
func TestOpenResumesFromPosition(t *testing.T) {
	t.Parallel()
	store := newObjectStore(t, map[string][]byte{
		"/a": []byte("id,v\n1,a\n2,b\n"),
		"/b": []byte("id,v\n3,c\n4,d\n"),
	})
	c := apiOnly(t, t.TempDir())
	rep := store.report("/a", "/b")

	// Read everything once to learn the positions a reader would store.
	rows := c.Open(context.Background(), rep, source.Position{})
	var at []source.Position
	for rows.WaitNext(context.Background()) {
		at = append(at, rows.Position())
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	require.Len(t, at, 4)
	assert.Equal(t, int64(3), at[2].Rows)
	assert.Equal(t, 1, at[2].Link)

	tests := []struct {
		name    string
		from    source.Position
		want    []string // ids returned
		wantErr string
	}{
		{"from the start", source.Position{}, []string{"1", "2", "3", "4"}, ""},
		{"after two rows, across a link", at[1], []string{"3", "4"}, ""},
		{"after every row", at[3], nil, ""},
		{"rows that differ", source.Position{Rows: 2, Digest: at[0].Digest}, nil, "differ"},
		{"fewer rows than committed", source.Position{Rows: 5, Digest: at[3].Digest}, nil, "the report now has 4 rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := collect(t, c.Open(context.Background(), rep, tt.from))
			if tt.wantErr != "" {
				var re *source.ResumeError
				require.ErrorAs(t, err, &re)
				assert.Contains(t, re.Error(), tt.wantErr)
				assert.False(t, source.Retryable(err))
				return
			}
			require.NoError(t, err)
			var ids []string
			for _, r := range rows {
				ids = append(ids, r.Fields[0])
			}
			assert.Equal(t, tt.want, ids)
		})
	}
}

// TestNextNeverWaitsForADownload: Next returns false with Pending while the
// link the next row needs is still downloading; Wait then Next goes on.
func TestNextNeverWaitsForADownload(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		_, _ = w.Write([]byte("id\n" + strings.TrimPrefix(r.URL.Path, "/") + "\n"))
	}))
	c := apiOnly(t, t.TempDir())
	rep := &source.Report{ID: "r", Status: "COMPLETED", Links: []source.Link{
		{Status: "COMPLETED", Href: signed(srv.URL, "/fast")},
		{Status: "COMPLETED", Href: signed(srv.URL, "/slow")},
	}}
	rows := c.Open(context.Background(), rep, source.Position{})
	defer rows.Close()
	require.NoError(t, rows.Wait(context.Background()))
	require.True(t, rows.Next())
	assert.Equal(t, "fast", rows.Row().Fields[0])
	assert.False(t, rows.Next(), "the second link is still downloading")
	assert.True(t, rows.Pending())
	assert.NoError(t, rows.Err())
	close(release)
	require.NoError(t, rows.Wait(context.Background()))
	require.True(t, rows.Next())
	assert.Equal(t, "slow", rows.Row().Fields[0])
	assert.False(t, rows.Next())
	assert.False(t, rows.Pending())
	assert.NoError(t, rows.Err())
}
