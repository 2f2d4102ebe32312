// Package lifecycle stops a run within a budget, and says truthfully
// whether its open transactions were aborted.
//
// A run is told to stop by its context (SIGINT, SIGTERM). Its pipeline then
// aborts its open transactions before Run returns; when the brokers do not
// answer, Run bounds that by closing the run's Kafka clients under it, so
// that the process exits on its own, saying what it did, instead of being
// killed at the end of its grace period.
package lifecycle

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// AbortBudget bounds how long a run, once told to stop (or once its
// pipeline ended on its own), waits for its open transactions to be aborted
// and its producers closed. Together with leaving the group and the metrics
// server's shutdown it stays well under Kubernetes' default grace period of
// 30 s (terminationGracePeriodSeconds), so that the process exits on its
// own, saying what it did, instead of being killed. (Leaving the group
// after that takes a few seconds more, bounded by the pipeline.) A transaction that
// could not be aborted in time (the brokers are unreachable) is never
// committed: the brokers abort it when the next instance starts and fences
// this one's producers, or when kafka.transaction_timeout expires.
const AbortBudget = 10 * time.Second

// stopGrace is how long Run waits for its pipeline to return once the
// budget is spent and its Kafka clients are closed.
const stopGrace = 5 * time.Second

// Pipeline is what Run runs and stops: *pipeline.Pipeline is one. Run
// returns once ctx ends, after aborting the open transactions; Close aborts
// any left and closes the producers, giving up when ctx ends.
type Pipeline interface {
	Run(ctx context.Context) error
	Close(ctx context.Context) error
}

// Stop says how a pipeline stopped.
type Stop struct {
	Deadline time.Time // for aborting and closing
	Forced   bool      // Run did not return in time: its clients were closed under it
	Stuck    bool      // Run did not return even then; the pipeline is left as it is
	CloseErr error     // aborting the open transactions and closing the producers failed
}

// Clean reports whether every open transaction was aborted (or none was
// open) as far as the pipeline could tell.
func (s Stop) Clean() bool { return !s.Forced && !s.Stuck && s.CloseErr == nil }

// Run runs p until it returns and says how it stopped, with Run's error.
// Once ctx ends, p aborts its open transactions before returning; it gets
// budget for that, after which clients (the hook that tracks p's Kafka
// clients) are closed, which ends the aborts still waiting for the brokers.
// A pipeline that does not return stopGrace after that is left running
// (Stop.Stuck). The budget starts when ctx ends, or when Run returns on its
// own, and also covers closing p: call Stop.Close next.
func Run(ctx context.Context, p Pipeline, clients *Clients, budget time.Duration) (Stop, error) {
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var st Stop
	select {
	case err := <-done:
		st.Deadline = time.Now().Add(budget)
		return st, err
	case <-ctx.Done():
	}
	st.Deadline = time.Now().Add(budget)
	t := time.NewTimer(budget)
	defer t.Stop()
	select {
	case err := <-done:
		return st, err
	case <-t.C:
	}
	st.Forced = true
	clients.closeAll()
	select {
	case err := <-done:
		return st, err
	case <-time.After(stopGrace):
		st.Stuck = true
		st.CloseErr = errors.New("the pipeline did not stop once its Kafka clients were closed")
		return st, ctx.Err()
	}
}

// Close aborts p's open transactions and closes its producers, giving up
// on the aborts at s.Deadline, and records a failure in s.CloseErr. It
// does nothing to a pipeline that is Stuck.
func (s *Stop) Close(ctx context.Context, p Pipeline) {
	if s.Stuck {
		return
	}
	cctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), s.Deadline)
	defer cancel()
	s.CloseErr = p.Close(cctx)
}

// Clients tracks the open Kafka clients of a pipeline, as a kgo hook
// (attach it with kgo.WithHooks), so that a stop can close them when the
// brokers do not answer in time: closing a client ends its pending
// requests at once. The zero value is ready to use.
type Clients struct {
	mu sync.Mutex
	m  map[*kgo.Client]struct{}
}

// OnNewClient implements kgo.HookNewClient.
func (o *Clients) OnNewClient(cl *kgo.Client) {
	o.mu.Lock()
	if o.m == nil {
		o.m = map[*kgo.Client]struct{}{}
	}
	o.m[cl] = struct{}{}
	o.mu.Unlock()
}

// OnClientClosed implements kgo.HookClientClosed.
func (o *Clients) OnClientClosed(cl *kgo.Client) {
	o.mu.Lock()
	delete(o.m, cl)
	o.mu.Unlock()
}

// closeAll closes every open client, all at once, and returns when they are
// closed.
func (o *Clients) closeAll() {
	o.mu.Lock()
	cls := make([]*kgo.Client, 0, len(o.m))
	for cl := range o.m {
		cls = append(cls, cl)
	}
	o.mu.Unlock()
	var wg sync.WaitGroup
	for _, cl := range cls {
		wg.Go(cl.Close)
	}
	wg.Wait()
}

// Outage says whether the last attempt to reach Kafka failed and, if so,
// since when and why; *connect.OutageWatch is one.
type Outage interface {
	Unreachable() (since time.Time, last error, down bool)
}

// Log says how a run stopped. signaled is whether the stop was the
// signal's, runErr Run's error, kafka what is known of the brokers (nil for
// nothing), and transactionTimeout when the brokers abort an open
// transaction themselves. A clean stop on a signal is an info line; a stop
// that may have left transactions open is a warning that says why that is
// safe; a clean stop that was no signal's says nothing.
func (s Stop) Log(logger *slog.Logger, signaled bool, runErr error, kafka Outage, transactionTimeout time.Duration) {
	var since time.Time
	var last error
	down := false
	if kafka != nil {
		since, last, down = kafka.Unreachable()
	}
	if s.Clean() && !(signaled && down) {
		if signaled {
			logger.Info("stopped on signal; open transactions were aborted, the next start resumes from the last commit")
		}
		return
	}
	attrs := []any{"transaction_timeout", transactionTimeout.String(), "abort_budget", AbortBudget.String()}
	if s.CloseErr != nil {
		attrs = append(attrs, "error", s.CloseErr.Error())
	}
	if s.Forced {
		attrs = append(attrs, "abort_gave_up", true)
		if runErr != nil && !errors.Is(runErr, context.Canceled) {
			attrs = append(attrs, "run_error", runErr.Error())
		}
	}
	if down {
		attrs = append(attrs, "kafka_unreachable_for", time.Since(since).Round(time.Millisecond).String(), "last_kafka_error", last.Error())
	}
	what := "stopped"
	if signaled {
		what = "stopped on signal"
	}
	logger.Warn(what+"; the open transactions could not be aborted (Kafka brokers unreachable or not answering): "+
		"they are aborted when the next instance starts and fences this one's producers, or when their transaction timeout expires, "+
		"so read_committed consumers never see their records; the next start resumes from the last commit", attrs...)
}
