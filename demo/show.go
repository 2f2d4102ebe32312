package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/internal/kread"
	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/termview"
)

// Progress counts the windows and rows a backfill commits, and shows them
// while it runs. The zero value is ready; OnWindow may be called from any
// goroutine.
type Progress struct {
	windows, rows atomic.Int64
	total         int64
	began         time.Time
}

// OnWindow counts a committed window: it is a pipeline.Options.OnWindow.
func (p *Progress) OnWindow(w pipeline.WindowDone) { p.windows.Add(1); p.rows.Add(w.Produced) }

// Show says what the backfill of cfg's events up to to extracts, each
// event from its position in positions or else from cfg.Start, then shows
// its progress on out until the returned stop is called: pl's progress
// redrawn in place on a terminal, a line of counts a second otherwise.
func (p *Progress) Show(out io.Writer, pl termview.Progressing, positions map[string]checkpoint.Position, cfg *config.Config, to time.Time) (stop func()) {
	total, resumed := BackfillWindows(positions, cfg.Events, cfg.Start, to, cfg.Window)
	if resumed {
		fmt.Fprintf(out, "Resuming %d events from the checkpoints of an earlier demo, up to %s in %s windows…\n", len(cfg.Events), to.Format(time.RFC3339), cfg.Window)
	} else {
		fmt.Fprintf(out, "Backfilling %d events from %s to %s in %s windows…\n", len(cfg.Events), cfg.Start.Format(time.RFC3339), to.Format(time.RFC3339), cfg.Window)
	}
	p.total, p.began = total, time.Now()
	if termview.IsTerminal(out) {
		return termview.ShowProgress(out, pl, 500*time.Millisecond)
	}
	return progressLine(out, p.line)
}

// Elapsed is the time since Show.
func (p *Progress) Elapsed() time.Duration { return time.Since(p.began) }

// line is the progress in a line: share and count of the windows, rows
// and rows a second.
func (p *Progress) line() string {
	el := p.Elapsed().Seconds()
	n, rows := p.windows.Load(), p.rows.Load()
	return fmt.Sprintf("  %3d%%  %d/%d windows  %d rows  %.0f rows/s", 100*n/max(p.total, n, 1), n, max(p.total, n), rows, float64(rows)/max(el, 0.001))
}

// BackfillWindows is how many windows the backfill to `to` extracts: each
// event's from its checkpoint (the window in progress included), or from
// start without one; resumed reports whether any checkpoint was found.
func BackfillWindows(positions map[string]checkpoint.Position, events []string, start, to time.Time, window time.Duration) (total int64, resumed bool) {
	for _, ev := range events {
		from := start
		if pos, ok := positions[ev]; ok {
			from, resumed = pos.Next(), true
		}
		if to.After(from) {
			total += int64((to.Sub(from) + window - 1) / window)
		}
	}
	return total, resumed
}

// progressLine prints line() every second until the returned stop is
// called, then prints it a last time.
func progressLine(w io.Writer, line func() string) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprintln(w, line())
				return
			case <-t.C:
				fmt.Fprintln(w, line())
			}
		}
	}()
	return func() { close(done); <-finished }
}

// PrintSummary writes, per topic of cfg's events and in total, how many
// records a read_committed consumer sees and how many distinct keys they
// have.
func PrintSummary(ctx context.Context, w io.Writer, opts []kgo.Opt, cfg *config.Config) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tRECORDS (read_committed)\tKEYS")
	var sum int64
	for _, ev := range cfg.Events {
		topic := cfg.Kafka.Topic(ev)
		var n int64
		keys := map[string]struct{}{}
		if err := kread.Each(ctx, opts, topic, func(r *kgo.Record) {
			n++
			keys[string(r.Key)] = struct{}{}
		}); err != nil {
			return err
		}
		sum += n
		fmt.Fprintf(tw, "%s\t%d\t%d\n", topic, n, len(keys))
	}
	fmt.Fprintf(tw, "total\t%d\t\n", sum)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	return nil
}

// PrintOneRecord decodes the first record of topic the way a registry-aware
// consumer does: schema ID from the Confluent header, schema from the
// registry, Avro body with that schema.
func PrintOneRecord(ctx context.Context, w io.Writer, opts []kgo.Opt, rc *sr.Client, topic string) error {
	var first *kgo.Record
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	err := kread.Each(cctx, opts, topic, func(r *kgo.Record) {
		if first == nil {
			first = r
			cancel()
		}
	})
	if first == nil {
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "No record on %s yet.\n\n", topic)
		return nil
	}
	var header sr.ConfluentHeader
	id, avroBody, err := header.DecodeID(first.Value)
	if err != nil {
		return fmt.Errorf("record on %s is not in the Confluent wire format: %w", topic, err)
	}
	ss, err := rc.SchemaByID(ctx, id)
	if err != nil {
		return fmt.Errorf("looking up schema %d: %w", id, err)
	}
	schema, err := avro.Parse(ss.Schema)
	if err != nil {
		return err
	}
	var v map[string]any
	if err := avro.Unmarshal(schema, avroBody, &v); err != nil {
		return fmt.Errorf("decoding a record of %s: %w", topic, err)
	}
	body, err := json.MarshalIndent(v, "  ", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "One record of %s (partition %d, offset %d), decoded with schema ID %d from the registry:\n", topic, first.Partition, first.Offset, id)
	fmt.Fprintf(w, "  key     %s\n", first.Key)
	for _, h := range first.Headers {
		fmt.Fprintf(w, "  header  %s = %s\n", h.Key, h.Value)
	}
	fmt.Fprintf(w, "  value   %s\n\n", body)
	return nil
}

// PrintHowToConsume writes how to consume topic from the world while it
// runs: a kcat command line, and the registry's URL.
func (w *World) PrintHowToConsume(out io.Writer, topic string) {
	fmt.Fprintln(out, "Consume the topics while the demo runs, for example:")
	fmt.Fprintf(out, "  kcat -b %s -C -t %s -X isolation.level=read_committed -o beginning -e -f '%%k %%h\\n'\n", w.Brokers[0], topic)
	fmt.Fprintf(out, "  Schema Registry URL for Avro-aware consumers (confluent-kafka AvroConsumer, ksqlDB, Flink): %s\n\n", w.RegistryURL)
}

// LiveWindows returns a pipeline.Options.OnWindow that writes a line to
// out for every committed window: when (UTC), the event, the window, its
// rows and topic. Lines of concurrent calls do not interleave.
func LiveWindows(out io.Writer) func(pipeline.WindowDone) {
	var mu sync.Mutex
	return func(w pipeline.WindowDone) {
		mu.Lock()
		defer mu.Unlock()
		noun := "rows"
		if w.Produced == 1 {
			noun = "row "
		}
		// Window times are UTC (as in the logs and the headers), so the
		// commit time is too.
		fmt.Fprintf(out, "  %s  %-30s %s → %s  %4d %s  → %s\n", time.Now().UTC().Format("15:04:05"), w.Event,
			w.Window.Start.Format("15:04:05.000"), w.Window.End.Format("15:04:05.000"), w.Produced, noun, w.Topic)
	}
}
