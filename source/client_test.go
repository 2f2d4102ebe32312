package source_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/internal/logbuf"
	"github.com/freshstream/freshchat-kafka/source"
)

var day = source.Window{
	Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
	End:   time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC),
}

func TestSubmitSendsExactBody(t *testing.T) {
	t.Parallel()
	for _, code := range []int{http.StatusAccepted, http.StatusOK, http.StatusCreated} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			t.Parallel()
			var body, path, contentType string
			srv := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				checkAuth(t, r)
				b, _ := io.ReadAll(r.Body)
				body, path, contentType = string(b), r.Method+" "+r.URL.Path, r.Header.Get("Content-Type")
				writeJSON(w, code, map[string]any{"id": "rep-1", "link": map[string]any{"rel": "extracts", "href": "/reports/raw/rep-1"}})
			}))
			c, _ := newClient(t, srv.URL, nil)

			id, err := c.Submit(context.Background(), "Message-Sent", day)
			require.NoError(t, err)
			assert.Equal(t, "rep-1", id)
			assert.Equal(t, "POST /v2/reports/raw", path)
			assert.Equal(t, "application/json", contentType)
			assert.Equal(t, `{"start":"2024-01-01T00:00:00.000Z","end":"2024-01-01T23:59:59.999Z","event":"Message-Sent","format":"csv"}`, body)
		})
	}
}

func TestSubmitRejectsBadInput(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	c, _ := newClient(t, srv.URL, nil)

	_, err := c.Submit(context.Background(), "", day)
	assert.ErrorContains(t, err, "event name is empty")
	_, err = c.Submit(context.Background(), "Message-Sent", source.Window{Start: day.End, End: day.Start})
	assert.ErrorContains(t, err, "end must be after start")
	assert.Zero(t, calls.Load())
}

func TestAPIErrorsAreNotRetried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		code   int
		body   string
		status string
		want   []string
	}{
		{
			name: "400 start too old", code: 400, status: "BAD_REQUEST",
			body: `{"code":400,"status":"BAD_REQUEST","message":"start date cannot be older than 15 months"}`,
			want: []string{"freshchat API POST /reports/raw: 400 BAD_REQUEST: start date cannot be older than 15 months", "request refused", "15 months"},
		},
		{
			name: "401 echoes the token", code: 401, status: "UNAUTHORIZED",
			body: `{"code":401,"status":"UNAUTHORIZED","message":"invalid token Bearer ` + testToken + `"}`,
			want: []string{"freshchat API POST /reports/raw: 401 UNAUTHORIZED: invalid token Bearer [REDACTED]", "check the API token"},
		},
		{
			name: "403", code: 403, status: "FORBIDDEN",
			body: `{"code":403,"status":"FORBIDDEN","message":"access denied"}`,
			want: []string{"403 FORBIDDEN: access denied", "lacks permission", "plan"},
		},
		{
			name: "404 wrong base URL", code: 404, status: "",
			body: `<html>not here</html>`,
			want: []string{"404 Not Found: <html>not here</html>", "check the base URL"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			srv := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.WriteHeader(tt.code)
				io.WriteString(w, tt.body)
			}))
			c, logs := newClient(t, srv.URL, nil)

			_, err := c.Submit(context.Background(), "Message-Sent", day)
			require.Error(t, err)
			assert.EqualValues(t, 1, calls.Load(), "must not retry")
			assert.False(t, source.Retryable(err))
			var ae *source.APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tt.code, ae.StatusCode)
			assert.Equal(t, tt.status, ae.Status)
			assert.Equal(t, "POST /reports/raw", ae.Op)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assertClean(t, err)
			assert.NotContains(t, logs.String(), testToken)
		})
	}
}

func TestTransientErrorsAreRetried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fail    func(t *testing.T, w http.ResponseWriter)
		failN   int32
		mod     func(*source.ClientConfig)
		minTime time.Duration
	}{
		{
			name:  "503 then 202",
			failN: 2,
			fail: func(t *testing.T, w http.ResponseWriter) {
				writeJSON(w, 503, map[string]any{"code": 503, "status": "SERVICE_UNAVAILABLE", "message": "try later"})
			},
		},
		{
			name:  "500 then 202",
			failN: 1,
			fail:  func(t *testing.T, w http.ResponseWriter) { w.WriteHeader(500) },
		},
		{
			name:  "connection dropped",
			failN: 2,
			fail:  func(t *testing.T, w http.ResponseWriter) { panic(http.ErrAbortHandler) },
		},
		{
			// One attempt only: 429 answers do not count against attempts.
			name:  "429 honours Retry-After",
			failN: 1,
			fail: func(t *testing.T, w http.ResponseWriter) {
				w.Header().Set("Retry-After", "1")
				writeJSON(w, 429, map[string]any{"code": 429, "status": "TOO_MANY_REQUESTS", "message": "slow down"})
			},
			mod:     func(c *source.ClientConfig) { c.Retry.MaxAttempts = 1 },
			minTime: time.Second,
		},
		{
			name:  "429 without Retry-After backs off",
			failN: 3,
			fail:  func(t *testing.T, w http.ResponseWriter) { w.WriteHeader(429) },
			mod:   func(c *source.ClientConfig) { c.Retry.MaxAttempts = 1 },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) { // backoffs and Retry-After are timers
				var calls atomic.Int32
				c, logs := inProcessClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					checkAuth(t, r)
					if calls.Add(1) <= tt.failN {
						tt.fail(t, w)
						return
					}
					writeJSON(w, 202, map[string]any{"id": "rep-ok"})
				}), tt.mod)

				start := time.Now()
				id, err := c.Submit(context.Background(), "Message-Sent", day)
				require.NoError(t, err)
				assert.Equal(t, "rep-ok", id)
				assert.Equal(t, tt.failN+1, calls.Load())
				assert.GreaterOrEqual(t, time.Since(start), tt.minTime)
				assert.Contains(t, logs.String(), "retrying")
			})
		})
	}
}

func TestRetriesAreBounded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		code      int
		wantCalls int32
		want      string
	}{
		{"5xx spends MaxAttempts", 503, 4, "(gave up after 4 attempts)"},
		{"429 spends MaxThrottled", 429, 6, "(gave up after 6 attempts)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) { // backoffs are timers
				var calls atomic.Int32
				c, _ := inProcessClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					calls.Add(1)
					w.WriteHeader(tt.code)
				}), nil) // MaxAttempts 4, MaxThrottled 5

				_, err := c.Get(context.Background(), "rep-1")
				require.Error(t, err)
				assert.Equal(t, tt.wantCalls, calls.Load())
				assert.ErrorContains(t, err, tt.want)
				assert.True(t, source.Retryable(err), "still transient for the caller")
				var ae *source.APIError
				require.ErrorAs(t, err, &ae)
				assert.Equal(t, tt.code, ae.StatusCode)
			})
		})
	}
}

func TestStalledRequestIsRetried(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) { // the stall watchdog is a timer
		var calls atomic.Int32
		c, _ := inProcessClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				<-r.Context().Done() // no answer until the client gives up
				return
			}
			writeJSON(w, 200, map[string]any{"id": "rep-1", "status": "PENDING"})
		}), func(c *source.ClientConfig) { c.StallTimeout = time.Minute })

		began := time.Now()
		rep, err := c.Get(context.Background(), "rep-1")
		require.NoError(t, err)
		assert.Equal(t, "PENDING", rep.Status)
		assert.EqualValues(t, 2, calls.Load())
		assert.GreaterOrEqual(t, time.Since(began), time.Minute, "the first attempt was abandoned after StallTimeout")
		assert.Less(t, time.Since(began), time.Minute+time.Second, "and retried after a short backoff")
	})
}

func TestCancelledContextStopsRetries(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) { // the backoff is a timer
		c, _ := inProcessClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }),
			func(c *source.ClientConfig) {
				c.Retry = source.RetryConfig{Base: time.Hour, Max: time.Hour, MaxAttempts: 10}
			})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()

		began := time.Now()
		_, err := c.Get(ctx, "rep-1")
		require.Error(t, err)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.False(t, source.Retryable(err))
		assert.Equal(t, 50*time.Millisecond, time.Since(began), "the backoff ends with the context, not an hour later")
	})
}

func TestGetReadsBothLinkShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want source.Report
	}{
		{
			name: "links array",
			body: `{"id":"r1","status":"COMPLETED","interval":"2020-09-14 00:01:00.0_2020-09-14 23:59:00.0","links":[
				{"from":"2020-09-14T00:01:00Z","to":"2020-09-14T11:59:59Z","status":"COMPLETED","link":{"rel":"extraction","href":"https://s3/a.zip?sig=1"}},
				{"from":"2020-09-14T12:00:00Z","to":"2020-09-14T23:59:00Z","status":"SUCCESS","link":{"rel":"extraction","href":"https://s3/b.zip?sig=2"}}]}`,
			want: source.Report{ID: "r1", Status: "COMPLETED", Links: []source.Link{
				{From: "2020-09-14T00:01:00Z", To: "2020-09-14T11:59:59Z", Status: "COMPLETED", Href: "https://s3/a.zip?sig=1"},
				{From: "2020-09-14T12:00:00Z", To: "2020-09-14T23:59:00Z", Status: "SUCCESS", Href: "https://s3/b.zip?sig=2"},
			}},
		},
		{
			name: "legacy link object with nested link",
			body: `{"id":"r1","status":"COMPLETED","link":{"from":"a","to":"b","status":"COMPLETED","link":{"rel":"extraction","href":"https://s3/a.zip"}}}`,
			want: source.Report{ID: "r1", Status: "COMPLETED", Links: []source.Link{{From: "a", To: "b", Status: "COMPLETED", Href: "https://s3/a.zip"}}},
		},
		{
			name: "legacy flat link object",
			body: `{"id":"r1","status":"completed","link":{"rel":"extraction","href":"https://s3/a.zip"}}`,
			want: source.Report{ID: "r1", Status: "COMPLETED", Links: []source.Link{{Href: "https://s3/a.zip"}}},
		},
		{
			name: "pending with a link to itself",
			body: `{"id":"r1","status":"PENDING","link":{"rel":"extracts","href":"/reports/raw/r1"}}`,
			want: source.Report{ID: "r1", Status: "PENDING", Links: []source.Link{}},
		},
		{
			name: "id missing from the answer",
			body: `{"status":"FAILED"}`,
			want: source.Report{ID: "r1", Status: "FAILED", Links: []source.Link{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var path string
			srv := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				checkAuth(t, r)
				path = r.Method + " " + r.URL.Path
				io.WriteString(w, tt.body)
			}))
			c, _ := newClient(t, srv.URL, nil)

			rep, err := c.Get(context.Background(), "r1")
			require.NoError(t, err)
			assert.Equal(t, "GET /v2/reports/raw/r1", path)
			assert.Equal(t, tt.want, *rep)
		})
	}
}

func TestGetNotFound(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeJSON(w, 404, map[string]any{"code": 404, "status": "NOT_FOUND", "message": "no such report"})
	}))
	c, _ := newClient(t, srv.URL, nil)

	_, err := c.Get(context.Background(), "gone")
	require.ErrorIs(t, err, source.ErrReportNotFound)
	var ae *source.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "GET /reports/raw/gone", ae.Op)
	assert.EqualValues(t, 1, calls.Load())
	assert.False(t, source.Retryable(err))
	assert.Contains(t, err.Error(), "404 NOT_FOUND: no such report")
}

func TestMalformedAnswers(t *testing.T) {
	t.Parallel()
	srv := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			writeJSON(w, 202, map[string]any{"link": map[string]any{}})
			return
		}
		io.WriteString(w, "<html>maintenance</html>")
	}))
	c, _ := newClient(t, srv.URL, nil)

	_, err := c.Submit(context.Background(), "Message-Sent", day)
	assert.ErrorContains(t, err, "answer has no report id")
	_, err = c.Get(context.Background(), "r1")
	assert.ErrorContains(t, err, "malformed answer <html>maintenance</html>")
	assert.False(t, source.Retryable(err))
}

func TestRetryable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"cancelled", fmt.Errorf("x: %w", context.Canceled), false},
		{"deadline", context.DeadlineExceeded, false},
		{"not found", source.ErrReportNotFound, false},
		{"submits exhausted", fmt.Errorf("x: %w", source.ErrSubmitsExhausted), false},
		{"api 400", &source.APIError{StatusCode: 400}, false},
		{"api 401", &source.APIError{StatusCode: 401}, false},
		{"api 403", &source.APIError{StatusCode: 403}, false},
		{"api 408", &source.APIError{StatusCode: 408}, true},
		{"api 429", &source.APIError{StatusCode: 429}, true},
		{"api 502", fmt.Errorf("x: %w", &source.APIError{StatusCode: 502}), true},
		{"download 403", &source.DownloadError{StatusCode: 403}, false},
		{"download 503", &source.DownloadError{StatusCode: 503}, true},
		{"unexpected EOF", fmt.Errorf("x: %w", io.ErrUnexpectedEOF), true},
		{"url error", &url.Error{Op: "Get", URL: "https://x", Err: errors.New("connection reset")}, true},
		{"dial error", &net.OpError{Op: "dial", Err: errors.New("refused")}, true},
		{"http client timeout", &url.Error{Op: "Get", URL: "https://x", Err: context.DeadlineExceeded}, true},
		{"plain error", errors.New("boom"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, source.Retryable(tt.err))
		})
	}
}

func TestNewClientValidates(t *testing.T) {
	t.Parallel()
	ftp, _ := url.Parse("ftp://x/v2")
	tests := []struct {
		name string
		cfg  source.ClientConfig
		want []string
	}{
		{"empty", source.ClientConfig{}, []string{"BaseURL is required", "Token is required"}},
		{"bad scheme", source.ClientConfig{BaseURL: ftp, Token: "t"}, []string{"scheme must be http or https"}},
		{"negative", source.ClientConfig{BaseURL: &url.URL{Scheme: "https", Host: "x"}, Token: "t", PollInterval: -1, MaxSubmits: -1},
			[]string{"PollInterval must not be negative", "MaxSubmits must not be negative"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := source.NewClient(tt.cfg)
			require.Error(t, err)
			for _, w := range tt.want {
				assert.ErrorContains(t, err, w)
			}
		})
	}
}

func TestTokenNeverPrinted(t *testing.T) {
	t.Parallel()
	base, _ := url.Parse("https://user:pw@acme.freshchat.com/v2")
	cfg := source.ClientConfig{BaseURL: base, Token: testToken}
	c, err := source.NewClient(cfg)
	require.NoError(t, err)

	var logs logbuf.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "cfg", cfg, "client", c)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "cfg", cfg, "client", c)
	for _, s := range []string{
		fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%+v", &cfg),
		fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%+v", *c),
		logs.String(),
	} {
		assert.NotContains(t, s, testToken)
		assert.NotContains(t, s, "pw")
	}
	assert.Contains(t, fmt.Sprint(cfg), "acme.freshchat.com/v2")
}

func TestLinkStringHidesSignature(t *testing.T) {
	t.Parallel()
	rep := source.Report{ID: "r", Status: "COMPLETED", Links: []source.Link{{Status: "COMPLETED", Href: signed("https://s3.example", "/a.zip")}}}
	for _, s := range []string{fmt.Sprint(rep), fmt.Sprintf("%+v", rep), fmt.Sprintf("%v", &rep)} {
		assert.NotContains(t, s, sigMarker)
		assert.True(t, strings.Contains(s, "https://s3.example/a.zip"), s)
	}
}
