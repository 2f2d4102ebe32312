// Package telemetry is a run's metrics and health server: it starts the
// server (/metrics, /healthz, /readyz, /status), connects a pipeline's
// options and progress to the metrics, and records how the run ended.
// Every method of a nil *Telemetry (metrics off) does nothing.
package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/freshstream/freshchat-kafka/buildinfo"
	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/metrics"
	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/sink"
	"github.com/freshstream/freshchat-kafka/source"
	"github.com/freshstream/freshchat-kafka/status"
)

// Telemetry is the metrics and health server of a run. Every method is a
// no-op when metrics are off (a nil *Telemetry).
type Telemetry struct {
	m      *metrics.Metrics
	ready  *metrics.Readiness
	srv    *metrics.Server
	logger *slog.Logger

	watched      bool               // the source's stats are collected
	stopProgress context.CancelFunc // ends the progress loop of the last started pipeline
}

// Start starts the server when cfg.Metrics.Addr is set, on ln when the
// caller already listens (else on the address), and returns nil when it is
// not. It listens before Kafka is reached, so /readyz answers "not
// connected" meanwhile. The only error is the server's failing to listen;
// it names the setting to change.
func Start(cfg *config.Config, ln net.Listener, logger *slog.Logger) (*Telemetry, error) {
	if cfg.Metrics.Addr == "" {
		return nil, nil
	}
	r := &metrics.Readiness{}
	b := buildinfo.Current()
	m := metrics.New(metrics.Options{Version: b.Version, Commit: b.Commit, Readiness: r})
	srv := metrics.NewServer(cfg.Metrics.Addr, m, r.Probe(cfg.Metrics.StuckAfter), logger)
	paths := "/metrics /healthz /readyz /status"
	if cfg.Metrics.Pprof {
		srv.EnablePprof()
		paths += " /debug/pprof/"
	}
	start := srv.Start
	if ln != nil {
		start = func() error { return srv.StartOn(ln) }
	}
	if err := start(); err != nil {
		return nil, fmt.Errorf("%w (choose another metrics.addr / METRICS_ADDR, or off)", err)
	}
	logger.Info("serving metrics and health", "addr", srv.Addr(), "paths", paths)
	return &Telemetry{m: m, ready: r, srv: srv, logger: logger}, nil
}

// Attach makes the pipeline report to the metrics.
func (t *Telemetry) Attach(o *pipeline.Options) {
	if t == nil {
		return
	}
	o.Kafka = append(o.Kafka, t.m.KafkaHooks())
	o.Observer = t.m // also told of refused accounts (pipeline.AccountObserver)
	prev := o.OnWindow
	o.OnWindow = func(d pipeline.WindowDone) {
		t.m.WindowCommitted(d.Unit, d.Window.End)
		if prev != nil {
			prev(d)
		}
	}
	prevUnits := o.OnUnits
	o.OnUnits = func(owned, gained, lost []string) {
		t.m.SetUnits(owned)
		if len(gained)+len(lost) > 0 {
			t.m.Rebalanced(len(gained), len(lost))
		}
		if prevUnits != nil {
			prevUnits(owned, gained, lost)
		}
	}
	if o.Source != nil && !t.watched {
		t.watched = true
		stats := map[string]func() source.Stats{}
		for _, a := range o.Accounts {
			stats[a.Name] = a.Source.Stats
		}
		if len(stats) == 0 {
			stats[checkpoint.DefaultAccount] = o.Source.Stats
		}
		if err := t.m.WatchSources(stats); err != nil {
			t.logger.Warn("source metrics unavailable", "error", err.Error())
		}
	}
}

// Started records that the pipeline is connected and where events stand,
// then keeps progress gauges fresh until ctx ends.
func (t *Telemetry) Started(ctx context.Context, p *pipeline.Pipeline, events []string) {
	if t == nil {
		return
	}
	t.ready.SetConnected(true)
	t.m.InitEvents(events...)
	for ev, pos := range p.Positions() {
		if !pos.IsZero() {
			t.m.SetCommittedEnd(ev, pos.Next())
		}
	}
	if t.stopProgress != nil {
		t.stopProgress()
	}
	ctx, t.stopProgress = context.WithCancel(ctx)
	go func() {
		tick := time.NewTicker(15 * time.Second)
		defer tick.Stop()
		for {
			for _, pr := range p.Progress() {
				if !pr.Cursor.IsZero() {
					t.m.SetProgress(pr.Event, pr.Cursor, pr.Target)
					t.m.SetBackfillETA(pr.Event, pr.ETA)
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

// WatchAPI makes api_ready and /readyz follow src's view of the Freshchat
// API until Attach replaces it with the pipeline's client.
func (t *Telemetry) WatchAPI(src *source.Client) {
	if t == nil || src == nil {
		return
	}
	t.m.WatchAPI(func() source.APIHealth { return src.Stats().API })
}

// Finished records how the run ended.
func (t *Telemetry) Finished(err error) {
	if t == nil {
		return
	}
	if sink.IsFenced(err) {
		t.ready.SetFenced(err)
	}
}

// Stop shuts the server down.
func (t *Telemetry) Stop() {
	if t == nil {
		return
	}
	if t.stopProgress != nil {
		t.stopProgress()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := t.srv.Shutdown(ctx); err != nil {
		// Scrapes still open after the grace were cut; nothing else is lost.
		t.logger.Warn("metrics server did not stop cleanly", "error", err.Error())
	}
}

// Readiness is the run's readiness; nil when metrics are off.
func (t *Telemetry) Readiness() *metrics.Readiness {
	if t == nil {
		return nil
	}
	return t.ready
}

// ServeStatus makes the metrics server's GET /status answer status.Live.
func (t *Telemetry) ServeStatus(cfg *config.Config, p *pipeline.Pipeline) {
	if t == nil {
		return
	}
	t.srv.SetStatus(func(ctx context.Context) any {
		return status.Live(ctx, cfg, p.Committed, p.Member(), t.m, time.Now().UTC())
	})
}

// Addr is the address the server listens on; empty when metrics are off.
func (t *Telemetry) Addr() string {
	if t == nil {
		return ""
	}
	return t.srv.Addr()
}
