package pipeline_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

// TestCompletedBoundedRunReports100Percent runs a one-window bounded range
// whose --to has a fraction finer than a millisecond (as the default --to,
// now, has): the run's last progress line and Progress say it is all done,
// not 0.0% with a window left.
func TestCompletedBoundedRunReports100Percent(t *testing.T) {
	e := newEnv(t, 60, freshchattest.Faults{}, false)
	from, to := span(1)
	o := e.options(t, []string{"CSAT-Score"}, from, to)
	o.Planner.To = to.Add(123456789 * time.Nanosecond)
	o.Planner.Window = 2 * time.Hour

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := pipeline.New(ctx, o)
	require.NoError(t, err)
	defer p.Close(ctx)
	require.NoError(t, p.Run(ctx))

	pr := p.Progress()
	require.Len(t, pr, 1)
	assert.EqualValues(t, 1, pr[0].Windows)
	assert.Equal(t, 100.0, pr[0].Percent)
	assert.Zero(t, pr[0].WindowsLeft)
	assert.Zero(t, pr[0].ETA)
	assert.Contains(t, e.logs.String(), "percent=100.0% windows=1")
}

// TestFailureBeforeAnyCommitSaysSo fails the event's very first commit:
// nothing is committed when it resumes, which the log says instead of
// naming Go's zero time as the window it resumes from.
func TestFailureBeforeAnyCommitSaysSo(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0))
	require.NoError(t, err)
	defer c.Close()
	e := newEnv(t, 60, freshchattest.Faults{}, false)
	e.kafka = []kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)}
	from, to := span(1)
	o := e.options(t, []string{"CSAT-Score"}, from, to)
	o.Retry = pipeline.Backoff{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond}

	var ends atomic.Int32
	c.ControlKey(int16(kmsg.EndTxn), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if ends.Add(1) == 1 {
			resp := req.ResponseKind().(*kmsg.EndTxnResponse)
			resp.ErrorCode = kerr.UnknownServerError.Code
			return resp, nil, true
		}
		return nil, nil, false
	})
	require.NoError(t, run(t, o))
	logs := e.logs.String()
	assert.Contains(t, logs, "resumed after failure: nothing is committed yet, the event starts again from its start")
	assert.Contains(t, logs, "start="+from.Format(time.RFC3339Nano))
	assert.NotContains(t, logs, "0001-01-01")
	e.assertExactlyOnce(t, "CSAT-Score", o.Topic("CSAT-Score"), from, to)
}
