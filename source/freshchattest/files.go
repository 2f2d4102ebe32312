package freshchattest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/freshstream/freshchat-kafka/internal/ctxsleep"
)

// Download links imitate S3 pre-signed URLs (signature version 4 query
// parameters). The signature is an HMAC over the path and the other query
// parameters with a per-simulator secret, so any change to the link answers
// 403 SignatureDoesNotMatch.
const (
	amzDateLayout = "20060102T150405Z"
	paramSig      = "X-Amz-Signature"
	paramDate     = "X-Amz-Date"
	paramExpires  = "X-Amz-Expires"
)

// object is one downloadable file: the rows of one link.
type object struct {
	key     string // path under /files/
	event   *eventDef
	from    int64 // the link's sub-period in unix ms, half-open
	to      int64
	rowsTo  int64 // min(to, completion time + 1ms): rows served are [from, rowsTo)
	modTime time.Time
	shape   fileShape
	// headerDrift is Faults.HeaderDrift at completion. It is kept out of
	// shape so that the ETags of files without drift stay what they were
	// before the knob existed.
	headerDrift bool
	etag        string
	job         *job // the job the object belongs to (guarded by Server.mu)

	mu   sync.Mutex // guards path; held while generating
	path string     // cached file, "" until generated
}

// fileShape is the snapshot of the content knobs taken when the job completed.
type fileShape struct {
	format         string
	filesPerZip    int
	bom            bool
	crlf           bool
	altTimestamps  bool
	shuffleColumns bool
	malformedEvery int
}

// newShape snapshots the content knobs of f (defaults applied).
func newShape(f Faults) fileShape {
	return fileShape{
		format:         f.Format,
		filesPerZip:    f.FilesPerZip,
		bom:            f.BOM,
		crlf:           f.CRLF,
		altTimestamps:  f.AltTimestamps,
		shuffleColumns: f.ShuffleColumns,
		malformedEvery: f.MalformedEvery,
	}
}

// zipped reports whether a link is a zip, which may hold several CSV files.
func (f fileShape) zipped() bool { return f.format != "csv" && f.format != "gzip" }

func (f fileShape) ext() string {
	switch f.format {
	case "csv":
		return ".csv"
	case "gzip":
		return ".csv.gz"
	}
	return ".zip"
}

func (f fileShape) contentType() string {
	switch f.format {
	case "csv":
		return "text/csv; charset=utf-8"
	case "gzip":
		return "application/gzip"
	}
	return "application/zip"
}

// origin is where download links point: the base URL's origin, or the
// request's when no base URL is set. Called with s.mu held.
func (s *Server) origin(r *http.Request) string {
	if s.baseURL != "" {
		return strings.TrimSuffix(s.baseURL, "/v2")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) signature(path string, q url.Values) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte("GET\n" + path + "\n" + q.Encode()))
	return hex.EncodeToString(m.Sum(nil))
}

// signedURL hands out a fresh link to key, valid until now+ttl rounded up to
// a whole second (forever when ttl is 0).
func (s *Server) signedURL(origin, key string, now time.Time, ttl time.Duration) string {
	issued := now.UTC().Truncate(time.Second)
	q := url.Values{}
	q.Set("X-Amz-Algorithm", "AWS4-HMAC-SHA256")
	q.Set("X-Amz-Credential", "FRESHCHATSIM/"+issued.Format("20060102")+"/us-east-1/s3/aws4_request")
	q.Set(paramDate, issued.Format(amzDateLayout))
	if ttl > 0 {
		secs := (now.Add(ttl).Sub(issued) + time.Second - 1) / time.Second
		q.Set(paramExpires, strconv.FormatInt(int64(secs), 10))
	}
	q.Set("X-Amz-SignedHeaders", "host")
	path := "/files/" + key
	sig := s.signature(path, q)
	return origin + path + "?" + q.Encode() + "&" + paramSig + "=" + sig
}

// s3Error is the object store's XML error shape.
type s3Error struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Expires   string   `xml:"Expires,omitempty"`
	Server    string   `xml:"ServerTime,omitempty"`
	RequestID string   `xml:"RequestId"`
}

func writeS3Error(w http.ResponseWriter, code int, e s3Error) {
	e.RequestID = strings.ToUpper(newUUID()[:16])
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(e)
}

// download serves GET/HEAD /files/{key...}: no Authorization header allowed,
// a valid unexpired signature required, the body served with
// http.ServeContent from the cached file (so Range requests work).
func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	s.mu.Lock()
	s.stats.Downloads++
	if r.Header.Get("Authorization") != "" {
		s.stats.AuthOnDownload++
		s.mu.Unlock()
		writeS3Error(w, http.StatusBadRequest, s3Error{
			Code:    "InvalidArgument",
			Message: "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
		})
		return
	}
	s.mu.Unlock()

	q := r.URL.Query()
	got := q.Get(paramSig)
	q.Del(paramSig)
	if got == "" {
		writeS3Error(w, http.StatusForbidden, s3Error{Code: "AccessDenied", Message: "Access Denied"})
		return
	}
	if !hmac.Equal([]byte(got), []byte(s.signature(r.URL.Path, q))) {
		writeS3Error(w, http.StatusForbidden, s3Error{
			Code:    "SignatureDoesNotMatch",
			Message: "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
		})
		return
	}
	s.mu.Lock()
	s.signedGets++
	forced := s.faults.ExpireDownloadEvery > 0 && s.signedGets%s.faults.ExpireDownloadEvery == 0
	s.mu.Unlock()
	exp, ok := linkExpiry(q)
	if forced || ok && now.After(exp) {
		if !ok || forced {
			exp = now.Add(-time.Second)
		}
		s.mu.Lock()
		s.stats.ExpiredDownloads++
		s.mu.Unlock()
		writeS3Error(w, http.StatusForbidden, s3Error{
			Code:    "AccessDenied",
			Message: "Request has expired",
			Expires: exp.Format(time.RFC3339),
			Server:  now.UTC().Format(time.RFC3339),
		})
		return
	}

	s.mu.Lock()
	o := s.objects[r.PathValue("key")]
	if o != nil && o.job.vanished {
		o = nil
	}
	cut := false
	delay, rate := s.faults.DownloadDelay, s.faults.DownloadBytesPerSecond
	if o != nil && r.Method == http.MethodGet {
		s.bodyGets++
		cut = s.faults.CutDownloadEvery > 0 && s.bodyGets%s.faults.CutDownloadEvery == 0
		if j := o.job; !cut {
			// A served body counts towards the job's vanishing or relapse:
			// this body is still served, later requests find it gone.
			j.bodiesServed++
			if j.vanishAfter > 0 && j.bodiesServed >= j.vanishAfter {
				j.vanished = true
			}
		}
	}
	s.mu.Unlock()
	if o == nil {
		writeS3Error(w, http.StatusNotFound, s3Error{Code: "NoSuchKey", Message: "The specified key does not exist."})
		return
	}

	path, err := s.ensureFile(o)
	if err != nil {
		s.log.Error("freshchat simulator: generating file", "key", o.key, "error", err)
		writeS3Error(w, http.StatusInternalServerError, s3Error{Code: "InternalError", Message: "We encountered an internal error. Please try again."})
		return
	}
	f, err := os.Open(path)
	if err != nil {
		writeS3Error(w, http.StatusInternalServerError, s3Error{Code: "InternalError", Message: "We encountered an internal error. Please try again."})
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", o.shape.contentType())
	w.Header().Set("ETag", o.etag)
	if delay > 0 || rate > 0 {
		w = &slowWriter{ResponseWriter: w, ctx: r.Context(), delay: delay, rate: rate}
	}
	if cut {
		w = &cutWriter{ResponseWriter: w, limit: -1, onCut: func() {
			s.mu.Lock()
			s.stats.CutDownloads++
			s.mu.Unlock()
		}}
	}
	http.ServeContent(w, r, "", o.modTime, f)
}

// linkExpiry returns when a link expires; ok is false for links that never do.
func linkExpiry(q url.Values) (time.Time, bool) {
	secs, err := strconv.ParseInt(q.Get(paramExpires), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	issued, err := time.Parse(amzDateLayout, q.Get(paramDate))
	if err != nil {
		return time.Time{}, false
	}
	return issued.Add(time.Duration(secs) * time.Second), true
}

// slowWriter holds the body back for delay, then sends it at rate bytes a
// second (0: at once), in slices of at most a tenth of a second's worth.
type slowWriter struct {
	http.ResponseWriter
	ctx     context.Context
	delay   time.Duration
	rate    int64
	started bool
}

func (w *slowWriter) Write(p []byte) (int, error) {
	if !w.started {
		w.started = true
		_ = http.NewResponseController(w.ResponseWriter).Flush()
		if err := ctxsleep.For(w.ctx, w.delay); err != nil {
			return 0, err
		}
	}
	if w.rate <= 0 {
		return w.ResponseWriter.Write(p)
	}
	step := int(max(w.rate/10, 1))
	n := 0
	for n < len(p) {
		m := min(step, len(p)-n)
		k, err := w.ResponseWriter.Write(p[n : n+m])
		n += k
		if err != nil {
			return n, err
		}
		_ = http.NewResponseController(w.ResponseWriter).Flush()
		if err := ctxsleep.For(w.ctx, time.Duration(int64(m)*int64(time.Second)/w.rate)); err != nil {
			return n, err
		}
	}
	return n, nil
}

func (w *slowWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// cutWriter sends half of the announced body, then aborts the connection.
type cutWriter struct {
	http.ResponseWriter
	limit int64 // -1: not cutting this response
	sent  int64
	onCut func()
}

func (c *cutWriter) WriteHeader(code int) {
	if code == http.StatusOK || code == http.StatusPartialContent {
		if n, err := strconv.ParseInt(c.Header().Get("Content-Length"), 10, 64); err == nil && n >= 2 {
			c.limit = n / 2
		}
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if c.limit < 0 {
		return c.ResponseWriter.Write(p)
	}
	room := c.limit - c.sent
	if int64(len(p)) < room {
		n, err := c.ResponseWriter.Write(p)
		c.sent += int64(n)
		return n, err
	}
	n, _ := c.ResponseWriter.Write(p[:room])
	c.sent += int64(n)
	_ = http.NewResponseController(c.ResponseWriter).Flush()
	c.onCut()
	panic(http.ErrAbortHandler)
}

func (c *cutWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// ensureFile generates o's content into the cache on first use and returns
// the cached file's path. Concurrent callers for one object wait for the
// first; other objects are not blocked.
func (s *Server) ensureFile(o *object) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.path != "" {
		return o.path, nil
	}
	dir, err := s.cache()
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, "report-*"+o.shape.ext())
	if err != nil {
		return "", err
	}
	err = writeObject(f, o, s.gen)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return "", fmt.Errorf("writing %s: %w", o.key, err)
	}
	o.path = f.Name()
	return o.path, nil
}

// cache returns the simulator's cache directory, creating it on first use.
func (s *Server) cache() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", fmt.Errorf("simulator closed")
	}
	if s.cacheDir == "" {
		dir, err := os.MkdirTemp(s.tempDir, "freshchattest-")
		if err != nil {
			return "", err
		}
		s.cacheDir = dir
	}
	return s.cacheDir, nil
}
