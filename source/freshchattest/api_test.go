package freshchattest_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/internal/logbuf"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestSubmitValidation(t *testing.T) {
	s := newSim(t, freshchattest.Options{})
	valid := submitBody("Message-Sent", winStart, winEnd)
	tests := []struct {
		name    string
		bearer  string
		body    string
		code    int
		status  string
		message string // substring of the error message
	}{
		{name: "valid", bearer: token, body: valid, code: 202},
		{name: "should_exclude_pii accepted", bearer: token, code: 202,
			body: `{"start":"2025-05-31T00:00:00.000Z","end":"2025-05-31T05:59:59.000Z","event":"CSAT-Score","format":"csv","should_exclude_pii":true}`},
		{name: "exactly one month", bearer: token, code: 202,
			body: submitBody("Agent-Activity", winStart, winStart.AddDate(0, 1, 0))},
		{name: "start equals end", bearer: token, code: 202,
			body: submitBody("Agent-Activity", winStart, winStart)},
		{name: "no token", body: valid, code: 401, status: "UNAUTHORIZED", message: "bearer token"},
		{name: "wrong token", bearer: "not-the-token", body: valid, code: 401, status: "UNAUTHORIZED", message: "bearer token"},
		{name: "invalid JSON", bearer: token, body: `{"start":`, code: 400, status: "BAD_REQUEST", message: "invalid JSON body"},
		{name: "missing event", bearer: token, code: 400, status: "BAD_REQUEST", message: "event is required",
			body: `{"start":"2025-05-31T00:00:00.000Z","end":"2025-05-31T05:59:59.000Z","format":"csv"}`},
		{name: "format not csv", bearer: token, code: 400, status: "BAD_REQUEST", message: `format must be "csv"`,
			body: `{"start":"2025-05-31T00:00:00.000Z","end":"2025-05-31T05:59:59.000Z","event":"Message-Sent","format":"json"}`},
		{name: "missing start", bearer: token, code: 400, status: "BAD_REQUEST", message: "start is required",
			body: `{"end":"2025-05-31T05:59:59.000Z","event":"Message-Sent","format":"csv"}`},
		{name: "start with offset", bearer: token, code: 400, status: "BAD_REQUEST", message: "start must be a UTC time",
			body: `{"start":"2025-05-31T02:00:00.000+02:00","end":"2025-05-31T05:59:59.000Z","event":"Message-Sent","format":"csv"}`},
		{name: "end not a time", bearer: token, code: 400, status: "BAD_REQUEST", message: "end must be a UTC time",
			body: `{"start":"2025-05-31T00:00:00.000Z","end":"yesterday","event":"Message-Sent","format":"csv"}`},
		{name: "end before start", bearer: token, body: submitBody("Message-Sent", winEnd, winStart),
			code: 400, status: "BAD_REQUEST", message: "end must not be earlier than start"},
		{name: "start older than 15 months", bearer: token,
			body: submitBody("Message-Sent", testNow.AddDate(0, -15, 0).Add(-time.Millisecond), testNow.AddDate(0, -15, 1)),
			code: 400, status: "BAD_REQUEST", message: "15 months"},
		{name: "end more than a month after start", bearer: token,
			body: submitBody("Message-Sent", winStart, winStart.AddDate(0, 1, 0).Add(time.Millisecond)),
			code: 400, status: "BAD_REQUEST", message: "a month from start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := call(t, http.MethodPost, s.URL()+"/reports/raw", tt.bearer, tt.body)
			require.Equal(t, tt.code, resp.StatusCode, string(b))
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			if tt.code == http.StatusAccepted {
				var out struct {
					ID   string `json:"id"`
					Link link   `json:"link"`
				}
				require.NoError(t, json.Unmarshal(b, &out))
				assert.Regexp(t, uuidV4, out.ID)
				assert.Equal(t, link{Rel: "extracts", Href: "/reports/raw/" + out.ID}, out.Link)
				return
			}
			var e apiError
			require.NoError(t, json.Unmarshal(b, &e), string(b))
			assert.Equal(t, tt.code, e.Code)
			assert.Equal(t, tt.status, e.Status)
			assert.Contains(t, e.Message, tt.message)
			assert.NotContains(t, string(b), token, "the token must never be echoed")
		})
	}
}

func TestJobLifecycle(t *testing.T) {
	tests := []struct {
		name   string
		faults freshchattest.Faults
		// statuses of the first job's successive GETs, then of a second job's
		first, second []string
	}{
		{name: "completes at once", first: []string{"COMPLETED", "COMPLETED"}, second: []string{"COMPLETED"}},
		{name: "pending polls", faults: freshchattest.Faults{PendingPolls: 2},
			first: []string{"PENDING", "PENDING", "COMPLETED", "COMPLETED"}, second: []string{"PENDING", "PENDING", "COMPLETED"}},
		{name: "first job fails", faults: freshchattest.Faults{PendingPolls: 1, FailJobs: 1},
			first: []string{"PENDING", "FAILED", "FAILED"}, second: []string{"PENDING", "COMPLETED"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, freshchattest.Options{Faults: tt.faults})
			for _, want := range [][]string{tt.first, tt.second} {
				id := submit(t, s, "Conversation-Created", winStart, winEnd)
				for i, status := range want {
					code, r := getReport(t, s, id)
					require.Equal(t, http.StatusOK, code)
					require.Equal(t, status, r.Status, "GET %d", i+1)
					assert.Equal(t, id, r.ID)
					assert.Equal(t, "2025-05-31 00:00:00.0_2025-05-31 05:59:59.999", r.Interval)
					if status != "COMPLETED" {
						assert.Empty(t, r.hrefs())
						continue
					}
					require.Len(t, r.Links, 1)
					l := r.Links[0]
					assert.Equal(t, "COMPLETED", l.Status)
					assert.Equal(t, "2025-05-31T00:00:00Z", l.From)
					assert.Equal(t, "2025-05-31T05:59:59.999Z", l.To)
					assert.Equal(t, "extraction", l.Link.Rel)
					assert.True(t, strings.HasPrefix(l.Link.Href, strings.TrimSuffix(s.URL(), "/v2")+"/files/"), l.Link.Href)
				}
			}
		})
	}
}

func TestJobNotFound(t *testing.T) {
	clk := newClock()
	s := newSim(t, freshchattest.Options{Now: clk.Now, Faults: freshchattest.Faults{JobTTL: time.Hour, PendingPolls: 100}})
	code, _ := getReport(t, s, "1ac520cf-b1a4-4741-8b01-e383563ae402")
	assert.Equal(t, http.StatusNotFound, code)

	id := submit(t, s, "Message-Sent", winStart, winEnd)
	clk.Advance(time.Hour - time.Millisecond)
	code, r := getReport(t, s, id)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "PENDING", r.Status)

	clk.Advance(time.Millisecond)
	resp, b := call(t, http.MethodGet, s.URL()+"/reports/raw/"+id, token, "")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	var e apiError
	require.NoError(t, json.Unmarshal(b, &e))
	assert.Equal(t, apiError{Code: 404, Status: "NOT_FOUND", Message: e.Message}, e)
}

func TestInjectedAPIErrors(t *testing.T) {
	tests := []struct {
		name       string
		faults     freshchattest.Faults
		codes      []int // of successive API requests (a submit, then GETs)
		retryAfter string
	}{
		{name: "429 every 3rd", faults: freshchattest.Faults{RateLimitEvery: 3, RetryAfter: 1500 * time.Millisecond},
			codes: []int{202, 200, 429, 200, 200, 429}, retryAfter: "2"},
		{name: "429 default Retry-After", faults: freshchattest.Faults{RateLimitEvery: 1},
			codes: []int{429, 429}, retryAfter: "1"},
		{name: "503 every 2nd", faults: freshchattest.Faults{ServerErrorEvery: 2},
			codes: []int{202, 503, 200, 503}},
		{name: "429 wins over 503", faults: freshchattest.Faults{RateLimitEvery: 2, ServerErrorEvery: 2},
			codes: []int{202, 429, 200, 429}, retryAfter: "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, freshchattest.Options{})
			// The job id comes from a clean simulator's submit; faults start after.
			id := submit(t, s, "Message-Sent", winStart, winEnd)
			s.SetFaults(tt.faults)
			for i, want := range tt.codes {
				method, url, body := http.MethodGet, s.URL()+"/reports/raw/"+id, ""
				if i == 0 {
					method, url, body = http.MethodPost, s.URL()+"/reports/raw", submitBody("Message-Sent", winStart, winEnd)
				}
				resp, b := call(t, method, url, token, body)
				require.Equal(t, want, resp.StatusCode, "request %d: %s", i+1, b)
				if want < 400 {
					continue
				}
				var e apiError
				require.NoError(t, json.Unmarshal(b, &e), string(b))
				assert.Equal(t, want, e.Code)
				assert.NotEmpty(t, e.Message)
				if want == http.StatusTooManyRequests {
					assert.Equal(t, "TOO_MANY_REQUESTS", e.Status)
					assert.Equal(t, tt.retryAfter, resp.Header.Get("Retry-After"))
				} else {
					assert.Equal(t, "SERVICE_UNAVAILABLE", e.Status)
				}
			}
		})
	}
}

func TestLegacyLinkShape(t *testing.T) {
	s := newSim(t, freshchattest.Options{Faults: freshchattest.Faults{LegacyLinkShape: true, LinksPerReport: 3}})
	id := submit(t, s, "CSAT-Score", winStart, winEnd)
	resp, b := call(t, http.MethodGet, s.URL()+"/reports/raw/"+id, token, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(b, &raw))
	assert.NotContains(t, raw, "links")
	require.Contains(t, raw, "link")
	var r report
	require.NoError(t, json.Unmarshal(b, &r))
	assert.Equal(t, "extraction", r.Link.Rel)
	rows, _ := servedRows(t, "CSAT-Score", r)
	assert.Equal(t, s.Rows("CSAT-Score", winStart, winEnd.Add(time.Millisecond)), rows)
}

func TestStatsAndLogging(t *testing.T) {
	// The simulator logs a request once it has answered it: after the
	// client may have read the answer.
	var logs logbuf.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := newSim(t, freshchattest.Options{Logger: logger})
	id := submit(t, s, "Response-Time", winStart, winEnd)
	r := completed(t, s, id)
	_, body := mustFetch(t, r.hrefs()[0])
	call(t, http.MethodGet, s.URL()+"/reports/raw/nope", token, "")
	_, _, err := fetch(t, r.hrefs()[0], http.Header{"Authorization": {"Bearer " + token}})
	require.NoError(t, err)

	st := s.Stats()
	assert.Equal(t, 1, st.Submits)
	assert.Equal(t, 2, st.Gets)
	assert.Equal(t, 2, st.Downloads)
	assert.Equal(t, 1, st.AuthOnDownload)
	assert.GreaterOrEqual(t, st.DownloadBytes, int64(len(body)))
	assert.Equal(t, map[int]int{202: 1, 200: 2, 404: 1, 400: 1}, st.Status)

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	assert.Len(t, lines, 5, "one line per request")
	for _, l := range lines {
		assert.Contains(t, l, "level=DEBUG")
	}
	assert.NotContains(t, logs.String(), token)
	assert.NotContains(t, logs.String(), "X-Amz-Signature")
}

func TestNewHandler(t *testing.T) {
	h := freshchattest.NewHandler(freshchattest.Options{Now: newClock().Now, TempDir: t.TempDir()})
	t.Cleanup(h.Close)
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	assert.Empty(t, h.URL())

	// Without a base URL, links follow the Host the client used.
	base := ts.URL + "/v2"
	resp, b := call(t, http.MethodPost, base+"/reports/raw", token, submitBody("Agent-Activity", winStart, winEnd))
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	var sub struct{ ID string }
	require.NoError(t, json.Unmarshal(b, &sub))
	resp, b = call(t, http.MethodGet, base+"/reports/raw/"+sub.ID, token, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var r report
	require.NoError(t, json.Unmarshal(b, &r))
	assert.True(t, strings.HasPrefix(r.hrefs()[0], ts.URL+"/files/"), r.hrefs()[0])
	mustFetch(t, r.hrefs()[0])

	h.SetBaseURL("http://freshchat-sim:8080/")
	assert.Equal(t, "http://freshchat-sim:8080/v2", h.URL())
	_, b = call(t, http.MethodGet, base+"/reports/raw/"+sub.ID, token, "")
	require.NoError(t, json.Unmarshal(b, &r))
	assert.True(t, strings.HasPrefix(r.hrefs()[0], "http://freshchat-sim:8080/files/"), r.hrefs()[0])
}

func TestInvalidOptionsPanic(t *testing.T) {
	assert.Panics(t, func() { freshchattest.NewHandler(freshchattest.Options{RowsPerHour: freshchattest.MaxRowsPerHour + 1}) })
	assert.Panics(t, func() { freshchattest.NewHandler(freshchattest.Options{Faults: freshchattest.Faults{Format: "xlsx"}}) })
	s := freshchattest.NewHandler(freshchattest.Options{})
	defer s.Close()
	assert.Panics(t, func() { s.SetFaults(freshchattest.Faults{Format: "parquet"}) })
	assert.NoError(t, freshchattest.Faults{Format: "gzip"}.Validate())
}

func TestReuseReportsAnswersARepeatedSubmitWithTheCompletedJob(t *testing.T) {
	s := newSim(t, freshchattest.Options{ReuseReports: true, Faults: freshchattest.Faults{PendingPolls: 1}})
	id := submit(t, s, "CSAT-Score", winStart, winEnd)
	assert.NotEqual(t, id, submit(t, s, "CSAT-Score", winStart, winEnd), "a job not completed yet is not reused")
	first := completed(t, s, id)
	resp, body := mustFetch(t, first.hrefs()[0])

	again := submit(t, s, "CSAT-Score", winStart, winEnd)
	assert.Equal(t, id, again, "the same window gets the completed job")
	code, r := getReport(t, s, again)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "COMPLETED", r.Status, "at once")
	resp2, body2 := mustFetch(t, r.hrefs()[0])
	assert.Equal(t, resp.Header.Get("ETag"), resp2.Header.Get("ETag"), "the same file")
	assert.Equal(t, body, body2)

	assert.NotEqual(t, id, submit(t, s, "CSAT-Score", winStart, winEnd.Add(-time.Minute)), "another window is a new job")
	assert.NotEqual(t, id, submit(t, s, "Message-Sent", winStart, winEnd), "another event too")
	unauthorized, _ := call(t, http.MethodPost, s.URL()+"/reports/raw", "wrong-token", submitBody("CSAT-Score", winStart, winEnd))
	assert.Equal(t, http.StatusUnauthorized, unauthorized.StatusCode, "reuse does not bypass authentication")
	assert.Equal(t, 6, s.Stats().Submits, "every submit is counted")

	plain := newSim(t, freshchattest.Options{})
	id = submit(t, plain, "CSAT-Score", winStart, winEnd)
	completed(t, plain, id)
	assert.NotEqual(t, id, submit(t, plain, "CSAT-Score", winStart, winEnd), "without ReuseReports every submit is a new job")
}

func TestDownloadBytesAreCountedOnceRead(t *testing.T) {
	s := newSim(t, freshchattest.Options{})
	r := completed(t, s, submit(t, s, "Message-Sent", winStart, winEnd))
	_, body := mustFetch(t, r.hrefs()[0])
	assert.Equal(t, int64(len(body)), s.Stats().DownloadBytes, "counted by the time the client has read the body")
}
