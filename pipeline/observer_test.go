package pipeline_test

import (
	"context"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/source"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

// failures is an Observer that records EventFailed calls and ignores the
// rest.
type failures struct {
	mu   sync.Mutex
	errs []string
}

func (*failures) ChunkCommitted(string, int64, int64, int64) {}
func (*failures) CheckpointCommitted(string)                 {}
func (*failures) TransactionAborted(string)                  {}
func (*failures) TransactionEnded(string, time.Duration)     {}
func (*failures) ReportReady(string, time.Duration)          {}
func (*failures) Waiting(string, time.Time)                  {}
func (*failures) Done(string)                                {}

func (f *failures) EventFailed(event string, err error) {
	f.mu.Lock()
	f.errs = append(f.errs, event+": "+err.Error())
	f.mu.Unlock()
}

func (f *failures) get() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.errs...)
}

// TestCommittedFollowsTheRun: Committed starts from the positions read at
// start and ends at the last commit of the run.
func TestCommittedFollowsTheRun(t *testing.T) {
	e := newEnv(t, 60, freshchattest.Faults{}, false)
	from, to := span(2)
	o := e.options(t, []string{"CSAT-Score"}, from, to)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := pipeline.New(ctx, o)
	require.NoError(t, err)
	defer p.Close(ctx)
	assert.True(t, p.Committed()["CSAT-Score"].IsZero(), "nothing committed yet")
	require.NoError(t, p.Run(ctx))
	pos := p.Committed()["CSAT-Score"]
	assert.True(t, pos.Done)
	assert.Equal(t, to, pos.WindowEnd.UTC())
}

// TestAFailureThatEndsTheRunIsObserved: an error retrying cannot fix is
// reported to the observer before the run ends with it.
func TestAFailureThatEndsTheRunIsObserved(t *testing.T) {
	e := newEnv(t, 60, freshchattest.Faults{}, false)
	from, to := span(1)
	o := e.options(t, []string{"CSAT-Score"}, from, to)
	o.Source = e.sourceWithToken(t, "revoked-token")
	obs := &failures{}
	o.Observer = obs
	err := run(t, o)
	require.Error(t, err)
	got := obs.get()
	require.Len(t, got, 1)
	assert.Contains(t, got[0], "CSAT-Score: ")
	assert.Contains(t, got[0], "401")
}

// sourceWithToken is a client of the env's simulator that sends tok.
func (e *env) sourceWithToken(t *testing.T, tok string) *source.Client {
	t.Helper()
	u, err := url.Parse(e.sim.URL())
	require.NoError(t, err)
	c, err := source.NewClient(source.ClientConfig{BaseURL: u, Token: tok, Logger: e.log, TempDir: t.TempDir()})
	require.NoError(t, err)
	return c
}
