package source_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/freshstream/freshchat-kafka/internal/logbuf"
	"github.com/freshstream/freshchat-kafka/source"
)

// inProcessClient is a client of the API at http://api.test served by h
// in-process (see inProcess), so that a synctest bubble fakes time across
// the client and the server; mod adjusts the test configuration.
func inProcessClient(t *testing.T, h http.Handler, mod func(*source.ClientConfig)) (*source.Client, *logbuf.Buffer) {
	t.Helper()
	return newClient(t, "http://api.test", func(c *source.ClientConfig) {
		c.HTTPClient = &http.Client{Transport: inProcess{h}}
		if mod != nil {
			mod(c)
		}
	})
}

// inProcess is an http.RoundTripper that serves requests with h, without
// sockets: synctest cannot fake time across a loopback connection, but it
// can across this. It behaves as a network transport does, as far as the
// client can tell:
//
//   - the handler runs on a goroutine of its own; the response comes back
//     once it has written its header (or returned), and the body streams
//     as it writes it, so a handler can stall halfway through a body;
//   - when the request's context ends, the round trip or the body read
//     fails with its error, and the handler's writes fail (its request
//     context is the same one);
//   - a handler that panics with http.ErrAbortHandler drops the
//     connection, and so does one that returns having written less than
//     the Content-Length it announced: the client sees an unexpected EOF.
type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx := r.Context()
	sr := r.Clone(ctx) // the handler's copy: ServeMux writes to it
	sr.RequestURI, sr.RemoteAddr = r.URL.RequestURI(), "192.0.2.1:40000"
	pr, pw := io.Pipe()
	w := &pipeWriter{header: http.Header{}, body: pw, sent: make(chan struct{})}
	go func() {
		err := io.ErrUnexpectedEOF // a dropped connection, unless the handler ends well
		defer func() {
			p := recover()
			if p != nil && p != http.ErrAbortHandler {
				pw.CloseWithError(err)
				panic(p)
			}
			if p == nil {
				w.WriteHeader(http.StatusOK) // a handler that wrote nothing answers 200
			}
			w.drop() // an aborted handler that sent no header: no answer at all
			pw.CloseWithError(err)
		}()
		t.h.ServeHTTP(w, sr)
		if w.complete() {
			err = nil
		}
	}()
	select {
	case <-w.sent:
	case <-ctx.Done():
		pr.CloseWithError(context.Cause(ctx))
		return nil, context.Cause(ctx)
	}
	if w.code == 0 {
		return nil, fmt.Errorf("in-process %s %s: connection dropped without an answer: %w", r.Method, r.URL.Path, io.ErrUnexpectedEOF)
	}
	stop := context.AfterFunc(ctx, func() { pr.CloseWithError(context.Cause(ctx)) })
	contentLength := int64(-1)
	if n, err := strconv.ParseInt(w.sentHeader.Get("Content-Length"), 10, 64); err == nil {
		contentLength = n
	}
	return &http.Response{
		Status:        strconv.Itoa(w.code) + " " + http.StatusText(w.code),
		StatusCode:    w.code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.sentHeader,
		ContentLength: contentLength,
		Body:          &pipeBody{PipeReader: pr, stop: stop},
		Request:       r,
	}, nil
}

// pipeWriter is the handler's http.ResponseWriter.
type pipeWriter struct {
	header     http.Header
	body       *io.PipeWriter
	once       sync.Once
	sent       chan struct{} // closed once the header is sent
	sentHeader http.Header
	code       int
	written    int64
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(code int) {
	w.once.Do(func() {
		w.code, w.sentHeader = code, w.header.Clone()
		close(w.sent)
	})
}

func (w *pipeWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	n, err := w.body.Write(p)
	w.written += int64(n)
	if errors.Is(err, io.ErrClosedPipe) {
		err = http.ErrHandlerTimeout // the client is gone, as a server would see it
	}
	return n, err
}

// drop ends the round trip without an answer, unless the header was sent.
func (w *pipeWriter) drop() { w.once.Do(func() { close(w.sent) }) }

// Flush is there for http.ResponseController: the pipe has no buffer.
func (w *pipeWriter) Flush() {}

// complete says whether the body is as long as the Content-Length sent.
func (w *pipeWriter) complete() bool {
	n, err := strconv.ParseInt(w.sentHeader.Get("Content-Length"), 10, 64)
	return err != nil || w.written >= n
}

// pipeBody is a response body that stops watching the request's context
// once closed.
type pipeBody struct {
	*io.PipeReader
	stop func() bool
}

func (b *pipeBody) Close() error {
	b.stop()
	return b.PipeReader.Close()
}
