package bench

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

// Source is the Freshchat simulator on loopback behind a report cache.
//
// The simulator generates a link's file on its first download and caches
// it, but every submit makes a new job with new links, so a connector that
// submits its own report would wait for a fresh file to be generated (in
// the bench process, several seconds per million rows) inside its measured
// wall time. Generating a report is Freshchat's work, not the connector's:
// the cache in front answers a submit that repeats an earlier successful
// one (same event, start, end and format, with the right token) with that
// earlier job's answer, so [Source.Generate] can build the file once,
// untimed, and every later run polls and downloads the same, already
// generated, report through the simulator's real API. Everything else goes
// to the simulator unchanged.
type Source struct {
	Sim   *freshchattest.Server
	token string
	ts    *httptest.Server
	cache *reportCache
}

// NewSource starts a simulator with opts (opts.Token is required) behind a
// report cache on 127.0.0.1.
func NewSource(opts freshchattest.Options) *Source {
	sim := freshchattest.NewHandler(opts)
	c := &reportCache{next: sim, token: opts.Token, answers: map[submitKey][]byte{}}
	ts := httptest.NewServer(c)
	sim.SetBaseURL(ts.URL)
	return &Source{Sim: sim, token: opts.Token, ts: ts, cache: c}
}

// URL is the API base URL, ending in /v2.
func (s *Source) URL() string { return s.Sim.URL() }

// Close stops the listener and removes the simulator's files.
func (s *Source) Close() {
	s.ts.Close()
	s.Sim.Close()
}

// Requests counts API requests.
type Requests struct {
	Submits       int   // POST /v2/reports/raw, answered by the cache or the simulator
	Gets          int   // GET /v2/reports/raw/{id}
	Downloads     int   // GET /files/...
	DownloadBytes int64 // body bytes the downloads sent
}

// Total is every request.
func (r Requests) Total() int { return r.Submits + r.Gets + r.Downloads }

// Sub returns the requests made since before.
func (r Requests) Sub(before Requests) Requests {
	return Requests{
		Submits:       r.Submits - before.Submits,
		Gets:          r.Gets - before.Gets,
		Downloads:     r.Downloads - before.Downloads,
		DownloadBytes: r.DownloadBytes - before.DownloadBytes,
	}
}

// Requests returns the counters since the source started: gets and
// downloads from the simulator's Stats, submits and download bytes from the
// cache in front. (The simulator adds a download's bytes after its handler
// returns, which may be after the client has read them all; the cache
// counts them as they are written, so a client that has read a body is
// already counted.)
func (s *Source) Requests() Requests {
	st := s.Sim.Stats()
	s.cache.mu.Lock()
	submits := s.cache.submits
	s.cache.mu.Unlock()
	return Requests{Submits: submits, Gets: st.Gets, Downloads: st.Downloads, DownloadBytes: s.cache.downloaded.Load()}
}

// Report is a generated report.
type Report struct {
	ID    string
	Links int
	Bytes int64         // size of its files, summed over links
	Took  time.Duration // submit to last byte: the simulator generating the files
}

// APITime is how windows are written in API requests.
const APITime = "2006-01-02T15:04:05.000Z"

// Generate submits the report of event for the half-open window [from, to)
// exactly as the connector does (end = to − 1 ms), polls it until it is
// completed, and downloads every link once so that the simulator generates
// and caches its file. Later submits of the same window get this report.
func (s *Source) Generate(ctx context.Context, event string, from, to time.Time) (Report, error) {
	began := time.Now()
	body, err := json.Marshal(map[string]string{
		"event": event, "format": "csv",
		"start": from.UTC().Format(APITime), "end": to.Add(-time.Millisecond).UTC().Format(APITime),
	})
	if err != nil {
		return Report{}, err
	}
	var sub struct {
		ID string `json:"id"`
	}
	if err := s.call(ctx, http.MethodPost, s.URL()+"/reports/raw", body, &sub); err != nil {
		return Report{}, fmt.Errorf("submitting the %s report: %w", event, err)
	}
	var rep struct {
		Status string `json:"status"`
		Links  []struct {
			Link struct {
				Href string `json:"href"`
			} `json:"link"`
		} `json:"links"`
	}
	for rep.Status != "COMPLETED" {
		if err := s.call(ctx, http.MethodGet, s.URL()+"/reports/raw/"+sub.ID, nil, &rep); err != nil {
			return Report{}, fmt.Errorf("polling report %s: %w", sub.ID, err)
		}
		if rep.Status == "FAILED" {
			return Report{}, fmt.Errorf("report %s failed", sub.ID)
		}
	}
	out := Report{ID: sub.ID, Links: len(rep.Links)}
	for i, l := range rep.Links {
		n, err := fetch(ctx, l.Link.Href)
		if err != nil {
			return Report{}, fmt.Errorf("downloading link %d of report %s: %w", i, sub.ID, err)
		}
		out.Bytes += n
	}
	out.Took = time.Since(began)
	return out, nil
}

func (s *Source) call(ctx context.Context, method, url string, body []byte, into any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, req.URL.Path, resp.Status, bytes.TrimSpace(data))
	}
	return json.Unmarshal(data, into)
}

func fetch(ctx context.Context, href string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, href, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", req.URL.Path, resp.Status)
	}
	return io.Copy(io.Discard, resp.Body)
}

// submitKey identifies a report request.
type submitKey struct {
	event, format string
	start, end    int64 // unix ms
}

func parseSubmit(body []byte) (submitKey, bool) {
	var req struct {
		Event  string `json:"event"`
		Format string `json:"format"`
		Start  string `json:"start"`
		End    string `json:"end"`
	}
	if json.Unmarshal(body, &req) != nil {
		return submitKey{}, false
	}
	start, err1 := time.Parse(time.RFC3339Nano, req.Start)
	end, err2 := time.Parse(time.RFC3339Nano, req.End)
	if err1 != nil || err2 != nil {
		return submitKey{}, false
	}
	return submitKey{event: strings.ToLower(req.Event), format: req.Format, start: start.UnixMilli(), end: end.UnixMilli()}, true
}

// reportCache answers repeated submits with the first answer; see Source.
type reportCache struct {
	next  http.Handler
	token string

	mu      sync.Mutex
	answers map[submitKey][]byte
	submits int

	downloaded atomic.Int64 // body bytes written by downloads
}

func (c *reportCache) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/files/") {
		c.next.ServeHTTP(&countingWriter{ResponseWriter: w, n: &c.downloaded}, r)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v2/reports/raw" {
		c.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	key, keyOK := parseSubmit(body)
	c.mu.Lock()
	c.submits++
	answer, hit := c.answers[key]
	c.mu.Unlock()
	if hit && keyOK && c.authorized(r) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write(answer)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	c.next.ServeHTTP(rec, r)
	if rec.Code == http.StatusAccepted && keyOK {
		c.mu.Lock()
		c.answers[key] = bytes.Clone(rec.Body.Bytes())
		c.mu.Unlock()
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// countingWriter adds the body bytes written to n.
type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

// Write counts p before writing it (the client may receive it before the
// inner Write returns), and takes back what was not written.
func (w *countingWriter) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	n, err := w.ResponseWriter.Write(p)
	w.n.Add(int64(n - len(p)))
	return n, err
}

func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (c *reportCache) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Bearer") &&
		subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(c.token)) == 1
}
