package source_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/source"
)

// scriptedReport answers GET /v2/reports/raw/r1 with the answers of script
// in turn (the last one repeated): "NO_LINKS" is COMPLETED with an empty
// links array, "READY" is COMPLETED with one link, "404" is not found, any
// other value is sent as the job status. It records when each GET came.
type scriptedReport struct {
	script []string
	mu     sync.Mutex
	gets   []time.Time
}

func (s *scriptedReport) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := len(s.gets)
	s.gets = append(s.gets, time.Now())
	s.mu.Unlock()
	switch answer := s.script[min(n, len(s.script)-1)]; answer {
	case "NO_LINKS":
		writeJSON(w, 200, completedJSON("r1"))
	case "READY":
		writeJSON(w, 200, completedJSON("r1", signed("https://s3.example", "/r1.zip")))
	case "404":
		writeJSON(w, 404, map[string]any{"code": 404, "status": "NOT_FOUND", "message": "no such report"})
	default:
		writeJSON(w, 200, map[string]any{"id": "r1", "status": answer})
	}
}

func (s *scriptedReport) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.gets)
}

// TestAwait runs Client.Await under a fake clock: its polls, the empty
// settle time and the pending timeout are timers.
func TestAwait(t *testing.T) {
	tests := []struct {
		name   string
		script []string
		// wantLinks is the number of links of the report returned; -1
		// means Await must say the report needs a new submit.
		wantLinks  int
		wantReason string
		wantGets   int
		// lateLinks: the links come after the settle time, so the window
		// is taken as empty (the residual risk EmptySettle bounds).
		lateLinks bool
	}{
		{name: "completed without links, then links: the links are awaited",
			script: []string{"PENDING", "NO_LINKS", "NO_LINKS", "NO_LINKS", "READY"}, wantLinks: 1, wantGets: 5},
		{name: "links appear after several minutes without them",
			script:    []string{"NO_LINKS", "NO_LINKS", "NO_LINKS", "NO_LINKS", "NO_LINKS", "NO_LINKS", "NO_LINKS", "READY"},
			lateLinks: true},
		{name: "completed without links through the settle time: an empty window",
			script: []string{"NO_LINKS"}, wantLinks: 0},
		{name: "links in between restart the count",
			script: []string{"NO_LINKS", "NO_LINKS", "PENDING", "NO_LINKS", "NO_LINKS", "NO_LINKS", "NO_LINKS", "NO_LINKS", "NO_LINKS", "NO_LINKS"}, wantLinks: 0},
		{name: "an unknown status is pending, bounded by the pending timeout",
			script: []string{"QUEUED"}, wantLinks: -1, wantReason: "QUEUED after"},
		{name: "a report that vanishes is submitted again",
			script: []string{"PENDING", "404"}, wantLinks: -1, wantReason: "not found (404)", wantGets: 2},
		{name: "a failed report is submitted again",
			script: []string{"FAILED"}, wantLinks: -1, wantReason: "FAILED", wantGets: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := &scriptedReport{script: tt.script}
				settle, timeout := time.Minute, 10*time.Minute
				if tt.lateLinks {
					settle = 20 * time.Second
				}
				c, _ := budgetClient(t, h, func(c *source.ClientConfig) {
					c.PollInterval, c.PollMaxInterval = 10*time.Second, 30*time.Second
					c.EmptySettle, c.PendingTimeout = settle, timeout
				})
				began := time.Now()
				rep, err := c.Await(context.Background(), "Message-Sent", day, "r1", true)
				took := time.Since(began)
				if tt.lateLinks {
					require.NoError(t, err)
					assert.Empty(t, rep.Links, "taken as empty before its links came: the residual risk of EmptySettle")
					return
				}
				if tt.wantLinks < 0 {
					require.ErrorIs(t, err, source.ErrResubmit)
					var re *source.ResubmitError
					require.ErrorAs(t, err, &re)
					assert.Contains(t, re.Reason, tt.wantReason)
					assert.False(t, source.Retryable(err))
					if tt.wantReason == "QUEUED after" {
						assert.GreaterOrEqual(t, took, timeout)
						assert.Less(t, took, timeout+time.Minute)
					}
				} else {
					require.NoError(t, err)
					assert.Len(t, rep.Links, tt.wantLinks)
					assert.Equal(t, "Message-Sent", rep.Event)
				}
				if tt.wantLinks == 0 {
					// Taken as empty only after three answers spread over
					// the settle time.
					assert.GreaterOrEqual(t, took, settle)
					assert.GreaterOrEqual(t, h.count(), 3)
				}
				if tt.wantGets > 0 {
					assert.Equal(t, tt.wantGets, h.count())
				}
			})
		})
	}
}

// TestPrepareEmptyLinksThenLinks: a report that answers COMPLETED before
// its links are attached is read with its links, never as empty.
func TestPrepareEmptyLinksThenLinks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mux := http.NewServeMux()
		mux.HandleFunc("POST /v2/reports/raw", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 202, map[string]any{"id": "r1"})
		})
		h := &scriptedReport{script: []string{"NO_LINKS", "NO_LINKS", "READY"}}
		mux.Handle("GET /v2/reports/raw/r1", h)
		c, _ := budgetClient(t, mux, nil)
		rep, err := c.Prepare(context.Background(), "Message-Sent", day, "")
		require.NoError(t, err)
		assert.Len(t, rep.Links, 1, "a COMPLETED answer without links is not an empty report")
	})
}
