package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server serves, over plain HTTP:
//
//	GET /metrics  m's registry; OpenMetrics when the scraper asks for it.
//	              404 on a nil Metrics.
//	GET /healthz  200 "ok" while the process runs (liveness).
//	GET /readyz   200 "ok" when ready returns nil, otherwise 503 with the
//	              error's text (readiness).
//	GET /status   the JSON document SetStatus provides; 503 until then.
//	/debug/pprof/ net/http/pprof's profiles, once EnablePprof was called.
type Server struct {
	addr    string
	mux     *http.ServeMux
	handler http.Handler
	logger  *slog.Logger
	status  atomic.Pointer[func(context.Context) any]
	pprofOn atomic.Bool

	mu     sync.Mutex
	srv    *http.Server
	ln     net.Listener
	served chan struct{}
}

// NewServer returns a server for addr (host:port; ":0" picks a free port).
// ready may be nil (always ready), m may be nil (no /metrics), logger may be
// nil. Nothing listens until Start.
func NewServer(addr string, m *Metrics, ready func() error, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	if m != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
			ErrorLog:          promLogger{logger},
			ErrorHandling:     promhttp.ContinueOnError,
			Registry:          m.reg,
			EnableOpenMetrics: true,
		}))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if ready != nil {
			if err := ready(); err != nil {
				writeText(w, http.StatusServiceUnavailable, err.Error())
				return
			}
		}
		writeText(w, http.StatusOK, "ok")
	})
	s := &Server{addr: addr, mux: mux, handler: mux, logger: logger}
	mux.HandleFunc("GET /status", s.serveStatus)
	return s
}

// SetStatus makes GET /status answer status(ctx) encoded as JSON, ctx
// being the request's. status must be safe to call from any goroutine;
// a later call replaces it.
func (s *Server) SetStatus(status func(ctx context.Context) any) {
	s.status.Store(&status)
}

func (s *Server) serveStatus(w http.ResponseWriter, r *http.Request) {
	status := s.status.Load()
	if status == nil {
		writeText(w, http.StatusServiceUnavailable, "starting: no status yet")
		return
	}
	body, err := json.MarshalIndent((*status)(r.Context()), "", "  ")
	if err != nil {
		writeText(w, http.StatusInternalServerError, "encoding the status: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(append(body, '\n'))
}

// EnablePprof mounts net/http/pprof's handlers under /debug/pprof/: the
// index, cmdline, profile (CPU), symbol, trace and every named profile
// (heap, goroutine, ...). Opt-in (metrics.pprof): profiles show the
// process's internals to whoever reaches the port. Calling it again does
// nothing.
func (s *Server) EnablePprof() {
	if s.pprofOn.Swap(true) {
		return
	}
	s.mux.HandleFunc("/debug/pprof/", pprof.Index)
	s.mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	s.mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	s.mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	s.mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}

func writeText(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = fmt.Fprintln(w, body)
}

// Handler returns the server's routes, to mount elsewhere or to test.
func (s *Server) Handler() http.Handler { return s.handler }

// Start listens on the address and serves in the background; it returns
// once the port is bound (or could not be). A server starts once.
func (s *Server) Start() error {
	return s.start(func() (net.Listener, error) {
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			return nil, fmt.Errorf("metrics server: listening on %s: %w", s.addr, err)
		}
		return ln, nil
	})
}

// StartOn is Start on a listener the caller opened, such as one on a port
// it picked and must not lose to another process before the server
// starts. The server owns ln: Shutdown closes it, and so does a StartOn
// that fails.
func (s *Server) StartOn(ln net.Listener) error {
	err := s.start(func() (net.Listener, error) { return ln, nil })
	if err != nil {
		ln.Close()
	}
	return err
}

func (s *Server) start(listen func() (net.Listener, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return errors.New("metrics server: already started")
	}
	ln, err := listen()
	if err != nil {
		return err
	}
	s.ln = ln
	s.served = make(chan struct{})
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	s.logger.Info("metrics server listening", "addr", ln.Addr().String())
	go func() {
		defer close(s.served)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("metrics server stopped", "error", err.Error())
		}
	}()
	return nil
}

// Addr returns the address the server listens on (the port chosen for
// ":0"), or the configured address before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return s.ln.Addr().String()
	}
	return s.addr
}

// Shutdown stops listening and waits, until ctx ends, for requests in
// flight. It is a no-op on a server that was not started.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	srv, served := s.srv, s.served
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	if err := srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("metrics server: shutting down: %w", err)
	}
	<-served
	return nil
}

// promLogger hands promhttp's errors to the logger.
type promLogger struct{ l *slog.Logger }

func (p promLogger) Println(v ...any) { p.l.Warn("serving metrics", "error", fmt.Sprint(v...)) }
