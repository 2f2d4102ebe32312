package source_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/source"
)

// fakeJobs is a reports API whose report ids r1, r2, ... go through
// scripted statuses, one per GET (the last one repeats). A status "404"
// answers Not Found; "COMPLETED" answers with one link. It is served
// in-process (see inProcessClient).
type fakeJobs struct {
	t      *testing.T
	mu     sync.Mutex
	script map[string][]string
	gets   map[string]int
	events []string // "submit r1", "get r1" in order
	h      http.Handler
}

func newFakeJobs(t *testing.T, script map[string][]string) *fakeJobs {
	f := &fakeJobs{t: t, script: script, gets: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v2/reports/raw", func(w http.ResponseWriter, r *http.Request) {
		checkAuth(t, r)
		f.mu.Lock()
		submits := 0
		for _, e := range f.events {
			if strings.HasPrefix(e, "submit ") {
				submits++
			}
		}
		id := fmt.Sprintf("r%d", submits+1)
		f.events = append(f.events, "submit "+id)
		f.mu.Unlock()
		writeJSON(w, 202, map[string]any{"id": id, "link": map[string]any{"rel": "extracts", "href": "/reports/raw/" + id}})
	})
	mux.HandleFunc("GET /v2/reports/raw/{id}", func(w http.ResponseWriter, r *http.Request) {
		checkAuth(t, r)
		id := r.PathValue("id")
		f.mu.Lock()
		f.events = append(f.events, "get "+id)
		steps := f.script[id]
		n := f.gets[id]
		f.gets[id]++
		f.mu.Unlock()
		status := "404"
		if len(steps) > 0 {
			status = steps[min(n, len(steps)-1)]
		}
		switch status {
		case "404":
			writeJSON(w, 404, map[string]any{"code": 404, "status": "NOT_FOUND", "message": "report not found"})
		case "COMPLETED":
			writeJSON(w, 200, completedJSON(id, signed("https://s3.example", "/"+id+".zip")))
		case "LINK_IN_PROGRESS":
			rep := completedJSON(id, signed("https://s3.example", "/"+id+".zip"))
			rep["links"].([]any)[0].(map[string]any)["status"] = "IN_PROGRESS"
			writeJSON(w, 200, rep)
		default:
			writeJSON(w, 200, map[string]any{"id": id, "status": status})
		}
	})
	f.h = mux
	return f
}

func (f *fakeJobs) record(e string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, e)
}

func (f *fakeJobs) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.events...)
}

// compact drops repeated polls: "get r1", "get r1" -> "get r1".
func compact(events []string) []string {
	var out []string
	for _, e := range events {
		if len(out) == 0 || out[len(out)-1] != e {
			out = append(out, e)
		}
	}
	return out
}

func TestPrepare(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		script   map[string][]string
		resumeID string
		mod      func(*source.ClientConfig)
		want     []string // compacted events
		wantID   string
		wantErr  []string
	}{
		{
			name:   "submit, record, poll until completed",
			script: map[string][]string{"r1": {"PENDING", "PENDING", "IN_PROGRESS", "COMPLETED"}},
			want:   []string{"submit r1", "get r1"},
			wantID: "r1",
		},
		{
			name:     "resume a completed report without submitting",
			script:   map[string][]string{"old": {"COMPLETED"}},
			resumeID: "old",
			want:     []string{"get old"},
			wantID:   "old",
		},
		{
			name:     "resume a pending report without submitting",
			script:   map[string][]string{"old": {"PENDING", "PENDING", "COMPLETED"}},
			resumeID: "old",
			want:     []string{"get old"},
			wantID:   "old",
		},
		{
			name:     "resumed report gone (404): submit anew",
			script:   map[string][]string{"old": {"404"}, "r1": {"COMPLETED"}},
			resumeID: "old",
			want:     []string{"get old", "submit r1", "get r1"},
			wantID:   "r1",
		},
		{
			name:     "resumed report FAILED: submit anew",
			script:   map[string][]string{"old": {"FAILED"}, "r1": {"COMPLETED"}},
			resumeID: "old",
			want:     []string{"get old", "submit r1", "get r1"},
			wantID:   "r1",
		},
		{
			name:   "FAILED: submit again",
			script: map[string][]string{"r1": {"PENDING", "FAILED"}, "r2": {"COMPLETED"}},
			want:   []string{"submit r1", "get r1", "submit r2", "get r2"},
			wantID: "r2",
		},
		{
			name:   "report vanishes while pending: submit again",
			script: map[string][]string{"r1": {"PENDING", "404"}, "r2": {"COMPLETED"}},
			want:   []string{"submit r1", "get r1", "submit r2", "get r2"},
			wantID: "r2",
		},
		{
			name:   "a completed job waits for its links",
			script: map[string][]string{"r1": {"LINK_IN_PROGRESS", "LINK_IN_PROGRESS", "COMPLETED"}},
			want:   []string{"submit r1", "get r1"},
			wantID: "r1",
		},
		{
			name:   "pending past PendingTimeout: submit again",
			script: map[string][]string{"r1": {"PENDING"}, "r2": {"PENDING", "COMPLETED"}},
			mod:    func(c *source.ClientConfig) { c.PendingTimeout = 30 * time.Millisecond },
			want:   []string{"submit r1", "get r1", "submit r2", "get r2"},
			wantID: "r2",
		},
		{
			name:   "MaxSubmits spent",
			script: map[string][]string{"r1": {"FAILED"}, "r2": {"FAILED"}, "r3": {"FAILED"}},
			want: []string{"submit r1", "get r1", "submit r2", "get r2",
				"submit r3", "get r3"},
			wantErr: []string{"event Message-Sent", "window 2024-01-01T00:00:00.000Z/2024-01-02T00:00:00.000Z",
				"gave up after 3 submits", "last report r3: FAILED"},
		},
		{
			name:    "MaxSubmits spent on pending timeouts",
			script:  map[string][]string{"r1": {"PENDING"}},
			mod:     func(c *source.ClientConfig) { c.MaxSubmits = 1; c.PendingTimeout = 20 * time.Millisecond },
			want:    []string{"submit r1", "get r1"},
			wantErr: []string{"gave up after 1 submit ", "last report r1: PENDING after"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) { // polls and pending timeouts are timers
				f := newFakeJobs(t, tt.script)
				c, _ := inProcessClient(t, f.h, tt.mod)

				rep, err := c.Prepare(context.Background(), "Message-Sent", day, tt.resumeID)
				assert.Equal(t, tt.want, compact(f.log()))
				if len(tt.wantErr) > 0 {
					require.ErrorIs(t, err, source.ErrSubmitsExhausted)
					assert.False(t, source.Retryable(err))
					for _, w := range tt.wantErr {
						assert.ErrorContains(t, err, w)
					}
					return
				}
				require.NoError(t, err)
				assert.Equal(t, tt.wantID, rep.ID)
				assert.Equal(t, "COMPLETED", rep.Status)
				assert.Equal(t, "Message-Sent", rep.Event)
				assert.Equal(t, day, rep.Window)
				require.Len(t, rep.Links, 1)
				assert.Equal(t, signed("https://s3.example", "/"+tt.wantID+".zip"), rep.Links[0].Href)
			})
		})
	}
}

func TestPrepareStopsOnAPIError(t *testing.T) {
	t.Parallel()
	srv := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 401, map[string]any{"code": 401, "status": "UNAUTHORIZED", "message": "bad token"})
	}))
	c, _ := newClient(t, srv.URL, nil)

	_, err := c.Prepare(context.Background(), "Message-Sent", day, "")
	var ae *source.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 401, ae.StatusCode)
	assertClean(t, err)
}

func TestPrepareHonoursContext(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFakeJobs(t, map[string][]string{"r1": {"PENDING"}})
		c, _ := inProcessClient(t, f.h, func(c *source.ClientConfig) { c.PendingTimeout = time.Hour })
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()

		began := time.Now()
		_, err := c.Prepare(ctx, "Message-Sent", day, "")
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 50*time.Millisecond, time.Since(began), "Prepare stops when its context ends")
	})
}

func TestPreparePollsWithGrowingIntervals(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var (
			mu    sync.Mutex
			times []time.Time
		)
		mux := http.NewServeMux()
		mux.HandleFunc("POST /v2/reports/raw", func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			times = append(times, time.Now())
			mu.Unlock()
			writeJSON(w, 202, map[string]any{"id": "r1"})
		})
		mux.HandleFunc("GET /v2/reports/raw/r1", func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			times = append(times, time.Now())
			n := len(times)
			mu.Unlock()
			if n < 6 {
				writeJSON(w, 200, map[string]any{"id": "r1", "status": "PENDING"})
				return
			}
			writeJSON(w, 200, completedJSON("r1", signed("https://s3.example", "/r1.zip")))
		})
		c, _ := inProcessClient(t, mux, func(c *source.ClientConfig) {
			c.PollInterval, c.PollMaxInterval = 20*time.Millisecond, 45*time.Millisecond
		})

		rep, err := c.Prepare(context.Background(), "Message-Sent", day, "")
		require.NoError(t, err)
		assert.Len(t, rep.Links, 1)
		// submit, then polls after 20ms, 30ms, 45ms (capped), 45ms, 45ms.
		want := []time.Duration{20, 30, 45, 45, 45}
		require.Len(t, times, len(want)+1)
		for i, w := range want {
			assert.Equal(t, w*time.Millisecond, times[i+1].Sub(times[i]), "wait before poll %d", i+1)
		}
	})
}
