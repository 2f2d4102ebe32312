package cli

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/connect"
	"github.com/freshstream/freshchat-kafka/pipeline"
)

// How a run stops: within a budget, saying truthfully whether its open
// transactions were aborted.

// abortBudget bounds how long a run, once told to stop (or once its
// pipeline ended on its own), waits for its open transactions to be aborted
// and its producers closed. Together with leaving the group and the metrics
// server's shutdown it stays well under Kubernetes' default grace period of
// 30 s (terminationGracePeriodSeconds), so that the process exits on its
// own, saying what it did, instead of being killed. (Leaving the group
// after that takes a few seconds more, bounded by the pipeline.) A transaction that
// could not be aborted in time (the brokers are unreachable) is never
// committed: the brokers abort it when the next instance starts and fences
// this one's producers, or when kafka.transaction_timeout expires.
const abortBudget = 10 * time.Second

// stopGrace is how long a run waits for its pipeline to return once
// abortBudget is spent and its Kafka clients are closed.
const stopGrace = 5 * time.Second

// logUnaborted warns that the run stopped without aborting its open
// transactions, and says why that is safe. runErr is the pipeline's error.
func logUnaborted(logger *slog.Logger, cfg *config.Config, watch *connect.OutageWatch, st stopState, signaled bool, runErr error) {
	attrs := []any{"transaction_timeout", cfg.Kafka.TransactionTimeout.String(), "abort_budget", abortBudget.String()}
	if st.closeErr != nil {
		attrs = append(attrs, "error", st.closeErr.Error())
	}
	if st.forced {
		attrs = append(attrs, "abort_gave_up", true)
		if runErr != nil && !errors.Is(runErr, context.Canceled) {
			attrs = append(attrs, "run_error", runErr.Error())
		}
	}
	if since, last, down := watch.Unreachable(); down {
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

// logRunError logs the error that ends a run, if any: a stop on a signal
// is no error.
func logRunError(logger *slog.Logger, err error) {
	if err != nil && !errors.Is(err, context.Canceled) {
		logger.Error("connector stopped", "error", err.Error())
	}
}

// watchDown reports whether the last attempt to reach Kafka failed.
func watchDown(w *connect.OutageWatch) bool {
	_, _, down := w.Unreachable()
	return down
}

// stopState says how a pipeline stopped.
type stopState struct {
	deadline time.Time // for aborting and closing
	forced   bool      // Run did not return in time: its clients were closed under it
	stuck    bool      // Run did not return even then; the pipeline is left as it is
	closeErr error     // aborting the open transactions and closing the producers failed
}

// clean reports whether every open transaction was aborted (or none was
// open) as far as the pipeline could tell.
func (s stopState) clean() bool { return !s.forced && !s.stuck && s.closeErr == nil }

// runBounded runs p until it returns. Once ctx ends, p aborts its open
// transactions before returning; it gets budget for that, after which its
// Kafka clients are closed, which ends the aborts still waiting for the
// brokers. The budget starts when ctx ends, or when Run returns on its own,
// and also covers closing p (closeBy).
func runBounded(ctx context.Context, p *pipeline.Pipeline, clients *openClients, budget time.Duration) (stopState, error) {
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var st stopState
	select {
	case err := <-done:
		st.deadline = time.Now().Add(budget)
		return st, err
	case <-ctx.Done():
	}
	st.deadline = time.Now().Add(budget)
	t := time.NewTimer(budget)
	defer t.Stop()
	select {
	case err := <-done:
		return st, err
	case <-t.C:
	}
	st.forced = true
	clients.closeAll()
	select {
	case err := <-done:
		return st, err
	case <-time.After(stopGrace):
		st.stuck = true
		st.closeErr = errors.New("the pipeline did not stop once its Kafka clients were closed")
		return st, ctx.Err()
	}
}

// closeBy aborts p's open transactions and closes its producers, giving up
// on the aborts at deadline.
func closeBy(ctx context.Context, p *pipeline.Pipeline, deadline time.Time) error {
	cctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	return p.Close(cctx)
}

// openClients tracks the open Kafka clients of a pipeline, as a kgo hook,
// so that a stop can close them when the brokers do not answer in time:
// closing a client ends its pending requests at once.
type openClients struct {
	mu sync.Mutex
	m  map[*kgo.Client]struct{}
}

// OnNewClient implements kgo.HookNewClient.
func (o *openClients) OnNewClient(cl *kgo.Client) {
	o.mu.Lock()
	if o.m == nil {
		o.m = map[*kgo.Client]struct{}{}
	}
	o.m[cl] = struct{}{}
	o.mu.Unlock()
}

// OnClientClosed implements kgo.HookClientClosed.
func (o *openClients) OnClientClosed(cl *kgo.Client) {
	o.mu.Lock()
	delete(o.m, cl)
	o.mu.Unlock()
}

// closeAll closes every open client, all at once, and returns when they are
// closed.
func (o *openClients) closeAll() {
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
