package pipeline_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

// The tests of this file put the connector against the world as it is:
// reports that answer COMPLETED before their files exist, object stores
// slower than the transaction timeout, reports that vanish or change while
// they are read, and a broker that aborts a transaction left open too long.
// Each fails on a connector that commits an empty window for a report
// without links, keeps a transaction open while it downloads, exits on a
// report that vanished, or takes a broker's timeout abort for fencing.

// TestCompletedWithoutLinksLosesNothing: a report that answers COMPLETED
// with an empty links array, before its links are attached, is polled
// again, and every row arrives.
func TestCompletedWithoutLinksLosesNothing(t *testing.T) {
	e := newEnv(t, 120, freshchattest.Faults{EmptyLinksPolls: 3}, false)
	from, to := span(4)
	events := []string{"Message-Sent", "CSAT-Score"}
	o := e.options(t, events, from, to)
	require.NoError(t, run(t, o))
	for _, ev := range events {
		e.assertExactlyOnce(t, ev, o.Topic(ev), from, to)
	}
	assert.NotContains(t, e.logs.String(), "the report is empty")
}

// TestSlowDownloadsKeepNoTransactionOpen: links whose download takes
// longer than the transaction timeout, a slow first byte or a bandwidth
// cap, end with every row once and no fencing: no transaction is open while
// a download is awaited.
func TestSlowDownloadsKeepNoTransactionOpen(t *testing.T) {
	tests := []struct {
		name   string
		faults freshchattest.Faults
		rows   int
	}{
		{"object store answers late", freshchattest.Faults{LinksPerReport: 3, DownloadDelay: 1500 * time.Millisecond}, 600},
		{"bandwidth-capped object store", freshchattest.Faults{LinksPerReport: 2, DownloadBytesPerSecond: 40 << 10}, 3000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tt.rows, tt.faults, false)
			from, to := span(2)
			o := e.options(t, []string{"Message-Sent"}, from, to)
			o.Planner.Window = 2 * time.Hour // one report, several slow links
			o.Limits.Rows = 1 << 20          // chunks would span links
			o.TransactionTimeout = time.Second
			require.NoError(t, run(t, o))
			e.assertExactlyOnce(t, "Message-Sent", o.Topic("Message-Sent"), from, to)
			logs := e.logs.String()
			assert.NotContains(t, logs, "fenced")
			assert.NotContains(t, logs, "transaction timeout")
			st := e.sim.Stats()
			assert.Greater(t, st.DownloadBytes, int64(0))
		})
	}
}

// TestReportThatVanishesMidReadIsSubmittedAgain: a report that 404s after
// some of its links were read, or whose links turn IN_PROGRESS again, is
// submitted again within the run; reading goes on after the last committed
// row (checked against the digest) and every row arrives once.
func TestReportThatVanishesMidReadIsSubmittedAgain(t *testing.T) {
	tests := []struct {
		name   string
		faults freshchattest.Faults
		reason string
	}{
		{"report and links 404", freshchattest.Faults{LinksPerReport: 3, VanishJobs: 2, VanishAfterLinks: 1}, "not found (404)"},
		{"links IN_PROGRESS again on a refresh", freshchattest.Faults{LinksPerReport: 3, RelapseJobs: 1, ExpireDownloadEvery: 2}, "IN_PROGRESS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 600, tt.faults, false)
			from, to := span(3)
			o := e.options(t, []string{"Response-Time"}, from, to)
			o.Limits.Rows = 100 // rows of the first links are committed before the report vanishes
			require.NoError(t, run(t, o))
			e.assertExactlyOnce(t, "Response-Time", o.Topic("Response-Time"), from, to)
			logs := e.logs.String()
			assert.Contains(t, logs, "submitting again")
			assert.Contains(t, logs, tt.reason)
			assert.Greater(t, e.sim.Stats().Submits, 3, "windows were submitted again")
		})
	}
}

// TestReportThatAlwaysVanishesEndsInAClearError: the submits of a window
// are counted across restarts, so a report that vanishes every time ends
// in an error that names the window and the setting, not in a loop.
func TestReportThatAlwaysVanishesEndsInAClearError(t *testing.T) {
	e := newEnv(t, 600, freshchattest.Faults{LinksPerReport: 2, VanishJobs: 1000, VanishAfterLinks: 1}, false)
	from, to := span(1)
	o := e.options(t, []string{"Response-Time"}, from, to)
	o.Limits.Rows = 50
	var errs []string
	for range 3 { // restarts
		err := run(t, o)
		require.Error(t, err)
		errs = append(errs, err.Error())
	}
	for _, msg := range errs {
		assert.Contains(t, msg, "freshchat.max_submits")
		assert.Contains(t, msg, "Response-Time")
	}
	assert.LessOrEqual(t, e.sim.Stats().Submits, 5, "the default of 5 submits a window holds across restarts")
}

// TestBrokerTimeoutAbortIsNotFencing: when the broker aborts a transaction
// that stayed open past the transaction timeout (here: Kafka itself is
// slow to take a chunk's records), the connector reopens its producer and
// goes on from the last commit, logging the cause; it does not report
// fencing, which only another producer taking the transactional ID over is.
func TestBrokerTimeoutAbortIsNotFencing(t *testing.T) {
	aborted := make(txnTimeouts, 1)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0), kfake.WithLogger(aborted))
	require.NoError(t, err)
	defer c.Close()
	e := newEnv(t, 600, freshchattest.Faults{}, false)
	e.kafka = []kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)}
	from, to := span(2)
	o := e.options(t, []string{"Response-Time"}, from, to)
	o.Limits.Rows = 200
	o.TransactionTimeout = time.Second
	o.Retry = pipeline.Backoff{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond}

	var ends, slowed atomic.Int32
	c.ControlKey(int16(kmsg.EndTxn), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		// Hold the commit of the fourth transaction (a chunk of rows) back
		// until the broker has aborted the transaction for its timeout,
		// bumping the producer's epoch.
		if ends.Add(1) == 4 {
			slowed.Add(1)
			c.SleepControl(func() {
				select {
				case <-aborted:
				case <-time.After(time.Minute): // the assertions below say what went wrong
				}
			})
		}
		return nil, nil, false
	})
	require.NoError(t, run(t, o))
	require.EqualValues(t, 1, slowed.Load())
	logs := e.logs.String()
	assert.Contains(t, logs, "longer than the transaction timeout")
	assert.Contains(t, logs, "resumed after failure")
	assert.NotContains(t, logs, "producer fenced")
	e.assertExactlyOnce(t, "Response-Time", o.Topic("Response-Time"), from, to)
}

// txnTimeouts is a kfake logger that signals when the broker aborts a
// transaction that outlived its timeout.
type txnTimeouts chan struct{}

func (c txnTimeouts) Logf(_ kfake.LogLevel, format string, _ ...any) {
	if strings.HasPrefix(format, "txn timeout abort") {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

// TestOneFailingEventStopsOthersAsCancelled: when one event fails (the API
// refuses its name, in its other error shape), the others, still waiting
// for their reports, stop and say so; none reports the failing event's
// error as its own, and the error names the event and window refused.
func TestOneFailingEventStopsOthersAsCancelled(t *testing.T) {
	e := newEnv(t, 60, freshchattest.Faults{PendingPolls: 1 << 20}, false)
	from, to := span(2)
	o := e.options(t, []string{"Message-Sent", "Chat-Log", "CSAT-Score"}, from, to)
	err := run(t, o)
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, "event Chat-Log for window "+from.Format("2006-01-02T15:04:05.000Z"))
	assert.Contains(t, msg, "No matching event name (error_code 5)")
	assert.NotContains(t, msg, "Message-Sent")
	logs := e.logs.String()
	assert.Equal(t, 2, strings.Count(logs, "event stopped: another event failed"), logs)
	assert.NotContains(t, logs, "submitting again")
}

// TestWaitingForReportsHoldsNoReadingSlot: concurrency bounds the events
// reading at once, not those waiting for Freshchat to generate a report;
// with one slot, every event's first report is submitted before the first
// window is committed.
func TestWaitingForReportsHoldsNoReadingSlot(t *testing.T) {
	e := newEnv(t, 60, freshchattest.Faults{PendingPolls: 5}, false)
	from, to := span(2)
	events := []string{"Message-Sent", "CSAT-Score", "Response-Time"}
	o := e.options(t, events, from, to)
	o.Concurrency = 1
	require.NoError(t, run(t, o))
	for _, ev := range events {
		e.assertExactlyOnce(t, ev, o.Topic(ev), from, to)
	}
	logs := e.logs.String()
	firstCommit := strings.Index(logs, `msg="window committed"`)
	require.Positive(t, firstCommit)
	assert.Equal(t, len(events), strings.Count(logs[:firstCommit], `msg="submitted freshchat report"`),
		"reports submitted before the first window was committed")
}
