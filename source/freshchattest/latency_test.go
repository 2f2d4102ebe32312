package freshchattest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

func TestReportLatencyGrowsWithRows(t *testing.T) {
	clk := newClock()
	s := newSim(t, freshchattest.Options{Now: clk.Now, RowsPerHour: 10, Faults: freshchattest.Faults{
		ReportLatency: time.Minute, ReportTimePerRow: time.Second,
	}})
	// 6 hours at 10 rows an hour: 60 rows, so 1m + 60s.
	small := submit(t, s, "Message-Sent", winStart, winEnd)
	// 12 hours: 120 rows, so 1m + 120s.
	large := submit(t, s, "Message-Sent", winStart, winStart.Add(12*time.Hour-time.Millisecond))
	status := func(id string) string {
		code, r := getReport(t, s, id)
		require.Equal(t, http.StatusOK, code)
		return r.Status
	}
	assert.Equal(t, "PENDING", status(small))
	clk.Advance(2*time.Minute - time.Millisecond)
	assert.Equal(t, "PENDING", status(small))
	clk.Advance(time.Millisecond)
	assert.Equal(t, "COMPLETED", status(small))
	assert.Equal(t, "PENDING", status(large))
	clk.Advance(time.Minute)
	assert.Equal(t, "COMPLETED", status(large))
}

func TestSubmitBudgetAnswers429(t *testing.T) {
	clk := newClock()
	s := newSim(t, freshchattest.Options{Now: clk.Now, Faults: freshchattest.Faults{SubmitsPerMinute: 2}})
	body := submitBody("Message-Sent", winStart, winEnd)
	for range 2 {
		resp, b := call(t, http.MethodPost, s.URL()+"/reports/raw", token, body)
		require.Equal(t, http.StatusAccepted, resp.StatusCode, string(b))
		clk.Advance(20 * time.Second)
	}
	resp, b := call(t, http.MethodPost, s.URL()+"/reports/raw", token, body)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, string(b))
	assert.Equal(t, "20", resp.Header.Get("Retry-After"), "until the first submit is a minute old")
	clk.Advance(20 * time.Second)
	resp, b = call(t, http.MethodPost, s.URL()+"/reports/raw", token, body)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, string(b))
	assert.Equal(t, 4, s.Stats().Submits, "refused submits count as requests")
}

func TestMaxReportRowsFailsLargeReports(t *testing.T) {
	s := newSim(t, freshchattest.Options{RowsPerHour: 10, Faults: freshchattest.Faults{MaxReportRows: 60}})
	ok := submit(t, s, "Message-Sent", winStart, winEnd) // 60 rows
	tooLarge := submit(t, s, "Message-Sent", winStart, winEnd.Add(time.Hour))
	assert.Equal(t, "COMPLETED", completed(t, s, ok).Status)
	code, r := getReport(t, s, tooLarge)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "FAILED", r.Status)
}
