package freshchattest_test

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

type s3Error struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func parseS3Error(t *testing.T, resp *http.Response, body []byte) s3Error {
	t.Helper()
	assert.Equal(t, "application/xml", resp.Header.Get("Content-Type"))
	var e s3Error
	require.NoError(t, xml.Unmarshal(body, &e), string(body))
	return e
}

func TestLinkExpiryAndRefresh(t *testing.T) {
	clk := newClock()
	s := newSim(t, freshchattest.Options{Now: clk.Now, Faults: freshchattest.Faults{LinkTTL: time.Minute}})
	id := submit(t, s, "Message-Sent", winStart, winEnd)
	first := completed(t, s, id).hrefs()[0]
	_, want := mustFetch(t, first)

	clk.Advance(time.Minute)
	mustFetch(t, first) // valid up to and including its expiry instant

	clk.Advance(time.Second)
	resp, body, err := fetch(t, first, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Equal(t, s3Error{Code: "AccessDenied", Message: "Request has expired"}, parseS3Error(t, resp, body))

	code, r := getReport(t, s, id)
	require.Equal(t, http.StatusOK, code)
	fresh := r.hrefs()[0]
	assert.NotEqual(t, first, fresh, "every GET hands out a fresh link")
	_, got := mustFetch(t, fresh)
	assert.Equal(t, want, got, "a refreshed link serves the same bytes")
}

func TestExpireDownloadEvery(t *testing.T) {
	s := newSim(t, freshchattest.Options{Faults: freshchattest.Faults{ExpireDownloadEvery: 3}})
	id := submit(t, s, "Message-Sent", winStart, winEnd)
	href := completed(t, s, id).hrefs()[0]
	var codes []int
	for range 6 {
		resp, body, err := fetch(t, href, nil)
		require.NoError(t, err)
		codes = append(codes, resp.StatusCode)
		if resp.StatusCode == http.StatusForbidden {
			assert.Equal(t, s3Error{Code: "AccessDenied", Message: "Request has expired"}, parseS3Error(t, resp, body))
		}
	}
	assert.Equal(t, []int{200, 200, 403, 200, 200, 403}, codes, "every third signed download is refused as expired")
	assert.Equal(t, 2, s.Stats().ExpiredDownloads)

	require.Error(t, freshchattest.Faults{ExpireDownloadEvery: 1}.Validate(), "1 would refuse every fresh link too")
}

func TestTamperedLink(t *testing.T) {
	s := newSim(t, freshchattest.Options{Faults: freshchattest.Faults{LinkTTL: time.Hour, LinksPerReport: 2}})
	r := completed(t, s, submit(t, s, "Message-Sent", winStart, winEnd))
	href := r.hrefs()[0]
	mustFetch(t, href)

	edit := func(f func(u *url.URL, q url.Values)) string {
		u, err := url.Parse(href)
		require.NoError(t, err)
		q := u.Query()
		f(u, q)
		u.RawQuery = q.Encode()
		return u.String()
	}
	tests := []struct {
		name string
		href string
		code string
	}{
		{name: "signature changed", code: "SignatureDoesNotMatch", href: edit(func(_ *url.URL, q url.Values) {
			sig := []byte(q.Get("X-Amz-Signature"))
			sig[0] ^= 1
			q.Set("X-Amz-Signature", string(sig))
		})},
		{name: "other object", code: "SignatureDoesNotMatch", href: edit(func(u *url.URL, _ url.Values) {
			u.Path = strings.Replace(u.Path, "/1-of-2", "/2-of-2", 1)
		})},
		{name: "expiry extended", code: "SignatureDoesNotMatch", href: edit(func(_ *url.URL, q url.Values) {
			q.Set("X-Amz-Expires", "604800")
		})},
		{name: "expiry removed", code: "SignatureDoesNotMatch", href: edit(func(_ *url.URL, q url.Values) {
			q.Del("X-Amz-Expires")
		})},
		{name: "date moved", code: "SignatureDoesNotMatch", href: edit(func(_ *url.URL, q url.Values) {
			q.Set("X-Amz-Date", "20991231T000000Z")
		})},
		{name: "signature missing", code: "AccessDenied", href: edit(func(_ *url.URL, q url.Values) {
			q.Del("X-Amz-Signature")
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NotEqual(t, href, tt.href)
			resp, body, err := fetch(t, tt.href, nil)
			require.NoError(t, err)
			require.Equal(t, http.StatusForbidden, resp.StatusCode, string(body))
			assert.Equal(t, tt.code, parseS3Error(t, resp, body).Code)
		})
	}
}

func TestAuthorizationOnDownload(t *testing.T) {
	s := newSim(t, freshchattest.Options{})
	href := completed(t, s, submit(t, s, "Message-Sent", winStart, winEnd)).hrefs()[0]
	resp, body, err := fetch(t, href, http.Header{"Authorization": {"Bearer " + token}})
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	e := parseS3Error(t, resp, body)
	assert.Equal(t, "InvalidArgument", e.Code)
	assert.Contains(t, e.Message, "Only one auth mechanism allowed")
	assert.Equal(t, 1, s.Stats().AuthOnDownload)

	mustFetch(t, href)
	assert.Equal(t, 1, s.Stats().AuthOnDownload)
}

func TestRangeRequest(t *testing.T) {
	s := newSim(t, freshchattest.Options{})
	href := completed(t, s, submit(t, s, "Conversation-Resolved", winStart, winEnd)).hrefs()[0]
	resp, full := mustFetch(t, href)
	assert.Equal(t, "bytes", resp.Header.Get("Accept-Ranges"))
	etag := resp.Header.Get("ETag")
	require.NotEmpty(t, etag)

	tests := []struct {
		name   string
		header http.Header
		code   int
		want   []byte
	}{
		{name: "middle", header: http.Header{"Range": {"bytes=10-99"}}, code: 206, want: full[10:100]},
		{name: "suffix", header: http.Header{"Range": {fmt.Sprintf("bytes=%d-", len(full)-7)}}, code: 206, want: full[len(full)-7:]},
		{name: "if-range matches", header: http.Header{"Range": {"bytes=5-"}, "If-Range": {etag}}, code: 206, want: full[5:]},
		{name: "if-range stale", header: http.Header{"Range": {"bytes=5-"}, "If-Range": {`"stale"`}}, code: 200, want: full},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body, err := fetch(t, href, tt.header)
			require.NoError(t, err)
			require.Equal(t, tt.code, resp.StatusCode)
			assert.Equal(t, tt.want, body)
		})
	}
}

func TestCutDownloadAndResume(t *testing.T) {
	s := newSim(t, freshchattest.Options{})
	href := completed(t, s, submit(t, s, "Message-Sent", winStart, winEnd)).hrefs()[0]
	_, full := mustFetch(t, href)

	s.SetFaults(freshchattest.Faults{CutDownloadEvery: 2})
	mustFetch(t, href) // 1st download since SetFaults: whole

	resp, part, err := fetch(t, href, nil) // 2nd: cut
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, strconv.Itoa(len(full)), resp.Header.Get("Content-Length"), "the full length is announced")
	assert.Equal(t, len(full)/2, len(part), "half of the body is sent")
	assert.Equal(t, full[:len(part)], part)

	resp, rest, err := fetch(t, href, http.Header{"Range": {fmt.Sprintf("bytes=%d-", len(part))}}) // 3rd: whole
	require.NoError(t, err)
	require.Equal(t, http.StatusPartialContent, resp.StatusCode)
	assert.Equal(t, full, append(part, rest...))
	assert.Equal(t, 1, s.Stats().CutDownloads)

	// Every download cut: resuming still converges, half the rest at a time.
	s.SetFaults(freshchattest.Faults{CutDownloadEvery: 1})
	var got []byte
	for range 64 {
		resp, b, err := fetch(t, href, http.Header{"Range": {fmt.Sprintf("bytes=%d-", len(got))}})
		got = append(got, b...)
		if err == nil {
			require.Equal(t, http.StatusPartialContent, resp.StatusCode)
			break
		}
	}
	assert.Equal(t, full, got)
}

func TestZipHoldsSeveralFilesEachWithHeader(t *testing.T) {
	s := newSim(t, freshchattest.Options{Faults: freshchattest.Faults{FilesPerZip: 3}})
	r := completed(t, s, submit(t, s, "First-Response-Time", winStart, winEnd))
	require.Len(t, r.hrefs(), 1)
	resp, body := mustFetch(t, r.hrefs()[0])
	assert.Equal(t, "application/zip", resp.Header.Get("Content-Type"))
	files := unpack(t, resp.Header.Get("Content-Type"), body)
	require.Len(t, files, 3)
	var rows [][]string
	for _, f := range files {
		assert.Equal(t, freshchattest.Columns("First-Response-Time"), f.header, f.name)
		assert.InDelta(t, 120, len(f.rows), 1, "rows are split evenly")
		assert.True(t, strings.HasSuffix(f.name, ".csv"))
		rows = append(rows, canonical(t, "First-Response-Time", f)...)
	}
	assert.Equal(t, s.Rows("First-Response-Time", winStart, winEnd.Add(time.Millisecond)), rows, "split in order")
}

func TestFormats(t *testing.T) {
	tests := []struct {
		format      string
		contentType string
		suffix      string
	}{
		{format: "", contentType: "application/zip", suffix: ".zip"},
		{format: "zip", contentType: "application/zip", suffix: ".zip"},
		{format: "csv", contentType: "text/csv; charset=utf-8", suffix: ".csv"},
		{format: "gzip", contentType: "application/gzip", suffix: ".csv.gz"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			s := newSim(t, freshchattest.Options{Faults: freshchattest.Faults{Format: tt.format, FilesPerZip: 1}})
			r := completed(t, s, submit(t, s, "Resolution-Time", winStart, winEnd))
			href := r.hrefs()[0]
			u, err := url.Parse(href)
			require.NoError(t, err)
			assert.True(t, strings.HasSuffix(u.Path, tt.suffix), u.Path)
			resp, body := mustFetch(t, href)
			assert.Equal(t, tt.contentType, resp.Header.Get("Content-Type"))
			files := unpack(t, resp.Header.Get("Content-Type"), body)
			require.Len(t, files, 1)
			assert.Equal(t, s.Rows("Resolution-Time", winStart, winEnd.Add(time.Millisecond)), canonical(t, "Resolution-Time", files[0]))
		})
	}
}

func TestFileShapeFixedAtCompletion(t *testing.T) {
	s := newSim(t, freshchattest.Options{Faults: freshchattest.Faults{Format: "csv"}})
	href := completed(t, s, submit(t, s, "Message-Sent", winStart, winEnd)).hrefs()[0]
	_, before := mustFetch(t, href)
	s.SetFaults(freshchattest.Faults{Format: "gzip", BOM: true, CRLF: true, ShuffleColumns: true})
	resp, after := mustFetch(t, href)
	assert.Equal(t, "text/csv; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Equal(t, before, after)
}

func TestClosedServerRemovesFiles(t *testing.T) {
	dir := t.TempDir()
	s := freshchattest.NewServer(freshchattest.Options{Now: newClock().Now, TempDir: dir})
	href := completed(t, s, submit(t, s, "Message-Sent", winStart, winEnd)).hrefs()[0]
	mustFetch(t, href)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	s.Close()
	entries, err = os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries)
}
