package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/schemas"
	"github.com/freshstream/freshchat-kafka/sink"
	"github.com/freshstream/freshchat-kafka/source"
)

// Header keys that carry each record's provenance.
const (
	HeaderEvent    = "freshchat.event"
	HeaderWindow   = "freshchat.window"
	HeaderReportID = "freshchat.report_id"
	HeaderFile     = "freshchat.file"
	HeaderLine     = "freshchat.line"
)

// eventRunner walks one event forward window by window.
type eventRunner struct {
	event   string
	topic   string
	schema  *schemas.Schema
	prefix  []byte // value framing (single-object or Confluent)
	src     *source.Client
	writer  *sink.Writer
	store   *checkpoint.Store
	planner Planner
	start   time.Time // where to begin without a checkpoint
	limits  Limits
	sem     chan struct{}
	now     func() time.Time
	logger  *slog.Logger
	stats   *eventStats

	onWindow   func(WindowDone)
	chunk      chunk
	warnedCols map[string]bool
}

// Limits bounds a transaction.
type Limits struct {
	Rows  int
	Bytes int64
}

// run extracts windows until the walk is over (bounded) or ctx ends.
func (e *eventRunner) run(ctx context.Context, pos checkpoint.Position) error {
	for {
		var w source.Window
		if !pos.IsZero() && !pos.Done {
			// A window was in progress: finish it as it was planned.
			w = source.Window{Start: pos.WindowStart, End: pos.WindowEnd}
			e.stats.setCursor(w.Start)
		} else {
			cursor := e.start
			if !pos.IsZero() && pos.Next().After(cursor) {
				cursor = pos.Next()
			}
			var ready time.Time
			var done bool
			w, ready, done = e.planner.Plan(cursor, e.now())
			e.stats.setCursor(cursor)
			if done {
				e.logger.Info("bounded range extracted", "event", e.event, "to", e.planner.To.Format(time.RFC3339Nano))
				return nil
			}
			if wait := ready.Sub(e.now()); wait > 0 {
				e.logger.Debug("waiting for the next window to settle", "event", e.event, "window", w.String(), "wait", wait.Round(time.Second).String())
				if err := sleep(ctx, wait); err != nil {
					return err
				}
				continue
			}
			pos = checkpoint.Position{Event: e.event, WindowStart: w.Start, WindowEnd: w.End, Digest: checkpoint.NewDigest}
		}
		select {
		case e.sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		next, err := e.extract(ctx, w, pos)
		<-e.sem
		if err != nil {
			return err
		}
		pos = next
	}
}

// extract reads one window's report and commits its rows in chunks, each
// chunk in one transaction with the checkpoint that accounts for it. pos is
// the committed position inside the window (zero rows for a new window).
func (e *eventRunner) extract(ctx context.Context, w source.Window, pos checkpoint.Position) (checkpoint.Position, error) {
	began := e.now()
	log := e.logger.With("event", e.event, "window", w.String())
	if pos.Rows > 0 || pos.ReportID != "" {
		log.Info("resuming window", "report", pos.ReportID, "committed_rows", pos.Rows)
	}

	onSubmit := func(ctx context.Context, id string) error {
		p := pos
		p.ReportID = id
		if err := e.commit(ctx, p); err != nil {
			return fmt.Errorf("recording submitted report %s: %w", id, err)
		}
		pos = p
		return nil
	}
	report, err := e.src.Prepare(ctx, e.event, w, pos.ReportID, onSubmit)
	if err != nil {
		return pos, err
	}
	if report.ID != pos.ReportID {
		// Prepare resumed a report submitted before the last checkpoint;
		// record it so a restart polls it instead of submitting again.
		if err := onSubmit(ctx, report.ID); err != nil {
			return pos, err
		}
	}
	log = log.With("report", report.ID)

	rows := e.src.Open(ctx, report)
	defer rows.Close()

	skip, want := pos.Rows, pos.Digest
	digest := checkpoint.NewDigest
	verified := skip == 0
	var (
		conv    *schemas.Converter
		convFor []string
		inTxn   bool
		read    int64
		last    *source.Row
		winHdr  = []byte(w.String())
		repHdr  = []byte(report.ID)
		fileHdr []byte
		evHdr   = []byte(e.event)
	)
	abort := func(cause error) error {
		if inTxn {
			if err := e.writer.Abort(ctx); err != nil {
				return errors.Join(cause, err)
			}
		}
		return cause
	}
	for rows.Next() {
		row := rows.Row()
		if row.Ordinal < skip {
			digest = digest.AddRow(row.Fields)
			if row.Ordinal == skip-1 {
				if digest != want {
					return pos, &ResumeError{Event: e.event, Window: w, ReportID: report.ID, Committed: skip, Reason: "the rows read again differ from those committed"}
				}
				verified = true
			}
			continue
		}
		if conv == nil || !slices.Equal(convFor, row.Header) {
			c, err := e.schema.Converter(row.Header)
			if err != nil {
				return pos, abort(newRowError(e.event, w, report.ID, row, err))
			}
			conv, convFor = c, slices.Clone(row.Header)
			e.noteColumns(log, row.File, c)
		}
		if fileHdr == nil || string(fileHdr) != row.File {
			fileHdr = []byte(row.File)
		}
		if !inTxn {
			if err := e.writer.Begin(); err != nil {
				return pos, err
			}
			inTxn = true
			e.chunk.reset()
		}
		rec := e.chunk.next()
		buf := e.chunk.buf(len(e.prefix) + 64*len(row.Fields) + 256)
		from := len(buf)
		buf = append(buf, e.prefix...)
		buf, err := conv.Append(buf, row.Fields)
		if err != nil {
			return pos, abort(newRowError(e.event, w, report.ID, row, err))
		}
		rec.Value = e.chunk.keep(buf, from)
		kb := e.chunk.buf(64)
		kfrom := len(kb)
		if kb, ok := conv.AppendKey(kb, row.Fields); ok {
			rec.Key = e.chunk.keep(kb, kfrom)
		}
		lb := e.chunk.buf(20)
		lfrom := len(lb)
		lb = strconv.AppendInt(lb, row.Line, 10)
		line := e.chunk.keep(lb, lfrom)
		h := e.chunk.hdrs(5)
		h[0] = kgo.RecordHeader{Key: HeaderEvent, Value: evHdr}
		h[1] = kgo.RecordHeader{Key: HeaderWindow, Value: winHdr}
		h[2] = kgo.RecordHeader{Key: HeaderReportID, Value: repHdr}
		h[3] = kgo.RecordHeader{Key: HeaderFile, Value: fileHdr}
		h[4] = kgo.RecordHeader{Key: HeaderLine, Value: line}
		rec.Headers = h
		rec.Topic = e.topic
		e.writer.Produce(ctx, rec)

		digest = digest.AddRow(row.Fields)
		read++
		last = row
		if e.chunk.n >= e.limits.Rows || e.chunk.bytes >= e.limits.Bytes {
			p := pos
			p.ReportID, p.Rows, p.Digest = report.ID, row.Ordinal+1, digest
			p.Produced += int64(e.chunk.n)
			p.File, p.Line = row.File, row.Line
			if err := e.commitOpen(ctx, p); err != nil {
				return pos, err
			}
			inTxn = false
			e.stats.addRows(int64(e.chunk.n))
			pos = p
		}
	}
	if err := rows.Err(); err != nil {
		return pos, abort(fmt.Errorf("event %s window %s report %s: %w", e.event, w, report.ID, err))
	}
	if !verified {
		return pos, abort(&ResumeError{Event: e.event, Window: w, ReportID: report.ID, Committed: skip, Reason: "the report now has fewer rows"})
	}
	p := pos
	p.ReportID, p.Done = report.ID, true
	if last != nil {
		p.Rows, p.Digest = last.Ordinal+1, digest
		p.File, p.Line = last.File, last.Line
	}
	if inTxn {
		p.Produced += int64(e.chunk.n)
		if err := e.commitOpen(ctx, p); err != nil {
			return pos, err
		}
		e.stats.addRows(int64(e.chunk.n))
	} else if err := e.commit(ctx, p); err != nil {
		return pos, err
	}
	e.stats.windowDone(w)
	took := e.now().Sub(began)
	log.Info("window committed", "rows", p.Rows, "produced", p.Produced, "took", took.Round(time.Millisecond).String(),
		"rows_per_sec", int64(float64(read)/max(took.Seconds(), 1e-3)))
	if e.onWindow != nil {
		e.onWindow(WindowDone{Event: e.event, Topic: e.topic, Window: w, ReportID: report.ID, Rows: p.Rows, Produced: p.Produced, Took: took})
	}
	return p, nil
}

// commitOpen commits the open transaction with p as its checkpoint.
func (e *eventRunner) commitOpen(ctx context.Context, p checkpoint.Position) error {
	p.CommittedAt = e.now()
	rec, err := e.store.Record(p)
	if err != nil {
		return err
	}
	if err := e.writer.Commit(ctx, rec); err != nil {
		return fmt.Errorf("event %s: committing chunk up to row %d: %w", e.event, p.Rows, err)
	}
	return nil
}

// commit writes p in a transaction of its own (no rows).
func (e *eventRunner) commit(ctx context.Context, p checkpoint.Position) error {
	if err := e.writer.Begin(); err != nil {
		return err
	}
	return e.commitOpen(ctx, p)
}

// noteColumns logs, once per event and column, header columns the schema
// does not name (carried in extra_columns) and schema fields the header
// lacks (written as null).
func (e *eventRunner) noteColumns(log *slog.Logger, file string, c *schemas.Converter) {
	var unknown, missing []string
	for _, col := range c.Unknown() {
		if !e.warnedCols["+"+col] {
			e.warnedCols["+"+col] = true
			unknown = append(unknown, col)
		}
	}
	for _, col := range c.Missing() {
		if !e.warnedCols["-"+col] {
			e.warnedCols["-"+col] = true
			missing = append(missing, col)
		}
	}
	if len(unknown) > 0 {
		log.Warn("columns not in the schema are carried in extra_columns", "file", file, "columns", unknown)
	}
	if len(missing) > 0 {
		log.Info("schema fields absent from the report are written as null", "file", file, "fields", missing)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
