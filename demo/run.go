package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/connect"
	"github.com/freshstream/freshchat-kafka/pipeline"
)

// BuildFunc builds a pipeline for cfg, letting tweak adjust its options
// first: the caller's wiring (clients, metrics) around pipeline.New.
type BuildFunc func(ctx context.Context, cfg *config.Config, tweak func(*pipeline.Options)) (*pipeline.Pipeline, error)

// Run runs the connector of cfg in the world, writing what happens to out:
// it backfills every event up to a settled instant (each from its
// checkpoint when an earlier demo left one) with a progress line, prints
// what landed, one decoded record and how to consume it, then tails live
// windows until ctx ends. An end by ctx is a clean stop (nil) once the
// backfill is committed; during it, ctx's error is returned after saying
// that the next demo resumes.
func (w *World) Run(ctx context.Context, out io.Writer, cfg config.Config, now time.Time, build BuildFunc) error {
	// Backfill up to a settled instant, with a progress line: each event
	// from its checkpoint when an earlier demo left one (--to alone), else
	// from the start.
	to := now.Add(-cfg.Settle).Truncate(time.Second)
	cfg.Bounded = &config.Range{To: to}
	var progress Progress
	p, err := build(ctx, &cfg, func(o *pipeline.Options) {
		o.ProgressInterval = 10 * time.Second
		o.OnWindow = progress.OnWindow
	})
	if err != nil {
		return err
	}
	stopProgress := progress.Show(out, p, p.Positions(), &cfg, to)
	err = p.Run(ctx)
	stopProgress()
	p.Close(context.WithoutCancel(ctx))
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(out, "\nInterrupted; the next demo resumes where this one stopped.")
		}
		return err
	}
	fmt.Fprintf(out, "Backfill committed in %s.\n\n", progress.Elapsed().Round(time.Millisecond))

	opts := connect.KafkaOptions(cfg.Kafka, nil)
	if err := PrintSummary(ctx, out, opts, &cfg); err != nil {
		return err
	}
	rc, err := connect.Registry(cfg.SchemaRegistry)
	if err != nil {
		return err
	}
	if err := PrintOneRecord(ctx, out, opts, rc, cfg.Kafka.Topic("Message-Sent")); err != nil {
		return err
	}
	w.PrintHowToConsume(out, cfg.Kafka.Topic("Message-Sent"))

	// Live: windows of at least MinWindow, once they are Settle old.
	cfg.Bounded = nil
	fmt.Fprintf(out, "Tailing live windows (≥ %s, extracted %s after they end). Ctrl-C stops cleanly.\n", cfg.MinWindow, cfg.Settle)
	live, err := build(ctx, &cfg, func(o *pipeline.Options) { o.OnWindow = LiveWindows(out) })
	if err != nil {
		return err
	}
	defer live.Close(context.WithoutCancel(ctx))
	err = live.Run(ctx)
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(out, "\nStopped. Open transactions were aborted; run the demo again to resume from the last commit.")
		return nil
	}
	return err
}
