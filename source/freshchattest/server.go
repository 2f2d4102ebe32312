package freshchattest

import (
	"crypto/rand"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"time"
)

// Server simulates the Freshchat raw reports API and the object store its
// download links point to. It implements http.Handler.
type Server struct {
	ts      *httptest.Server // nil for NewHandler
	mux     *http.ServeMux
	now     func() time.Time
	token   string
	gen     generator
	log     *slog.Logger
	tempDir string
	secret  []byte // signs download links
	reuse   bool   // Options.ReuseReports

	mu          sync.Mutex
	baseURL     string
	faults      Faults
	apiCalls    int         // API requests since the last SetFaults
	jobCount    int         // jobs submitted since the last SetFaults
	bodyGets    int         // downloads that would send a body, since the last SetFaults
	signedGets  int         // correctly signed downloads, since the last SetFaults
	submitTimes []time.Time // accepted submits of the last minute (Faults.SubmitsPerMinute)
	jobs        map[string]*job
	objects     map[string]*object
	stats       Stats
	cacheDir    string
	closed      bool
}

// Stats are the simulator's request counters since it was built.
type Stats struct {
	Submits          int         // POST /v2/reports/raw requests, whatever their outcome
	Gets             int         // GET /v2/reports/raw/{id} requests, whatever their outcome
	Downloads        int         // requests under /files/, whatever their outcome
	DownloadBytes    int64       // body bytes sent by downloads, as they are written (a cut download counts what was sent)
	CutDownloads     int         // downloads aborted by CutDownloadEvery
	ExpiredDownloads int         // downloads refused as expired (LinkTTL or ExpireDownloadEvery)
	AuthOnDownload   int         // downloads that wrongly carried an Authorization header (answered 400)
	Status           map[int]int // responses by status code, all routes (a cut download counts under 200/206)
}

// NewServer starts a simulator on an httptest.Server listening on 127.0.0.1.
// Close stops it and removes the cached files. It panics on invalid Options
// (see Faults.Validate and MaxRowsPerHour), as the test double it is.
func NewServer(opts Options) *Server {
	s := NewHandler(opts)
	s.ts = httptest.NewServer(s)
	s.SetBaseURL(s.ts.URL)
	return s
}

// NewHandler builds a simulator without listening, for a caller that serves
// it on its own listener. Call SetBaseURL with the address clients use before
// serving; until then download links are built from each request's Host.
// Close removes the cached files. It panics on invalid Options.
func NewHandler(opts Options) *Server {
	opts, err := opts.withDefaults()
	if err != nil {
		panic(err)
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	s := &Server{
		now:     opts.Now,
		token:   opts.Token,
		gen:     generator{rowsPerHour: int64(opts.RowsPerHour)},
		log:     opts.Logger,
		tempDir: opts.TempDir,
		secret:  secret,
		reuse:   opts.ReuseReports,
		faults:  opts.Faults,
		jobs:    make(map[string]*job),
		objects: make(map[string]*object),
		stats:   Stats{Status: make(map[int]int)},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v2/reports/raw", s.api(&s.stats.Submits, s.submit))
	mux.HandleFunc("GET /v2/reports/raw/{id}", s.api(&s.stats.Gets, s.getReport))
	mux.HandleFunc("GET /files/{key...}", s.download)
	s.mux = mux
	return s
}

// URL returns the API base URL including /v2, e.g.
// "http://127.0.0.1:41234/v2". For NewHandler it is what SetBaseURL set, or
// "" before that.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL
}

// SetBaseURL sets the API base URL clients use, e.g.
// "http://freshchat-sim:8080/v2" ("/v2" is appended when missing). Download
// links are absolute URLs on the same origin, under /files/.
func (s *Server) SetBaseURL(base string) {
	base = strings.TrimRight(base, "/")
	if !strings.HasSuffix(base, "/v2") {
		base += "/v2"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.baseURL = base
}

// SetToken replaces the bearer token the API accepts, as when an operator
// revokes the old one: requests with it are answered 401 from then on.
func (s *Server) SetToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// SetFaults replaces the fault knobs at runtime and restarts the fault
// counters (API requests, jobs, downloads). Jobs already submitted keep the
// PendingPolls/FailJobs/JobTTL they were submitted with; files already
// handed out keep their shape. It panics if f.Validate fails.
func (s *Server) SetFaults(f Faults) {
	if err := f.Validate(); err != nil {
		panic(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f.withDefaults()
	s.apiCalls, s.jobCount, s.bodyGets, s.signedGets = 0, 0, 0, 0
	s.submitTimes = nil
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Status = maps.Clone(s.stats.Status)
	return st
}

// Close stops the listener (NewServer), waiting for requests in flight, and
// removes the cached files. Afterwards every request answers 503.
func (s *Server) Close() {
	if s.ts != nil {
		s.ts.Close()
	}
	s.mu.Lock()
	s.closed = true
	dir := s.cacheDir
	s.cacheDir = ""
	s.mu.Unlock()
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
}

// ServeHTTP serves the API under /v2 and the downloads under /files/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w}
	if strings.HasPrefix(r.URL.Path, "/files/") {
		// Counted as written (see recorder.Write): a client that has
		// read a body finds it counted, though the handler may not have
		// returned yet.
		rec.sent = func(n int64) {
			s.mu.Lock()
			s.stats.DownloadBytes += n
			s.mu.Unlock()
		}
	}
	// Deferred so that an aborted (cut) download is still counted and logged.
	defer s.finish(r, rec, start)
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		writeError(rec, http.StatusServiceUnavailable, "simulator closed")
		return
	}
	s.mux.ServeHTTP(rec, r)
}

func (s *Server) finish(r *http.Request, rec *recorder, start time.Time) {
	code := rec.code
	if code == 0 {
		code = http.StatusOK
	}
	s.mu.Lock()
	s.stats.Status[code]++
	s.mu.Unlock()
	s.log.LogAttrs(r.Context(), slog.LevelDebug, "freshchat simulator request",
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path), // never the query: it holds the link signature
		slog.Int("status", code),
		slog.Int64("bytes", rec.bytes),
		slog.Duration("duration", time.Since(start)))
}

// recorder remembers the status code and counts body bytes.
type recorder struct {
	http.ResponseWriter
	code  int
	bytes int64
	sent  func(n int64) // told of every download body write; nil for the API
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	if r.sent != nil {
		// Before writing: the client may have read p before Write returns.
		r.sent(int64(len(p)))
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	if r.sent != nil && n < len(p) {
		r.sent(int64(n - len(p))) // take back what was not written
	}
	return n, err
}

func (r *recorder) Flush() { _ = http.NewResponseController(r.ResponseWriter).Flush() }

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
