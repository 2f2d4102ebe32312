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

	onWindow        func(WindowDone)
	policy          Policy
	deadLetterTopic string
	newWriter       func(context.Context) (*sink.Writer, error)
	obs             Observer

	// derived events have no embedded schema: schema is derived from the
	// report headers (nil until the first one), columns records how.
	derived    bool
	columns    [][]string
	framer     sink.Framer
	retry      backoff
	chunks     [2]chunk // reused from window to window (see windowRun)
	warnedCols map[string]bool
}

// Limits bounds a transaction.
type Limits struct {
	Rows  int
	Bytes int64
}

// run extracts windows until the walk is over (bounded) or ctx ends.
func (e *eventRunner) run(ctx context.Context, pos checkpoint.Position) error {
	failures := 0
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
				e.obs.Done(e.event)
				e.logger.Info("bounded range extracted", "event", e.event, "to", e.planner.To.Format(time.RFC3339Nano))
				return nil
			}
			if wait := ready.Sub(e.now()); wait > 0 {
				e.obs.Waiting(e.event, ready)
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
		if err == nil {
			pos, failures = next, 0
			continue
		}
		if ctx.Err() != nil || !recoverable(err) {
			return err
		}
		failures++
		delay := e.retry.delay(failures)
		e.logger.Warn("window failed; resuming from the last commit after a pause", "event", e.event, "window", w.String(),
			"error", err.Error(), "failures", failures, "retry_in", delay.Round(time.Millisecond).String())
		if err := sleep(ctx, delay); err != nil {
			return err
		}
		if pos, err = e.recover(ctx); err != nil {
			return err
		}
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

	var submittedAt time.Time
	onSubmit := func(ctx context.Context, id string) error {
		p := pos
		p.ReportID = id
		if err := e.commit(ctx, p); err != nil {
			return fmt.Errorf("recording submitted report %s: %w", id, err)
		}
		pos, submittedAt = p, e.now()
		return nil
	}
	report, err := e.src.Prepare(ctx, e.event, w, pos.ReportID, onSubmit)
	if err != nil {
		return pos, err
	}
	if !submittedAt.IsZero() {
		e.obs.ReportReady(e.event, e.now().Sub(submittedAt))
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
	wr := &windowRun{e: e, w: w, report: report, pos: pos, log: log,
		winHdr: []byte(w.String()), repHdr: []byte(report.ID), evHdr: []byte(e.event)}
	if err := wr.read(ctx, rows); err != nil {
		err = wr.abort(ctx, err)
		return wr.pos, err
	}
	if err := wr.finish(ctx); err != nil {
		return wr.pos, wr.abort(ctx, err)
	}
	p := wr.pos
	e.stats.windowDone(w)
	took := e.now().Sub(began)
	attrs := []any{"rows", p.Rows, "produced", p.Produced, "dead_lettered", p.DeadLettered,
		"took", took.Round(time.Millisecond).String(), "rows_per_sec", int64(float64(wr.handled) / max(took.Seconds(), 1e-3))}
	if p.Rows == 0 {
		log.Info("window committed: the report is empty", attrs...)
	} else {
		log.Info("window committed", attrs...)
	}
	if e.onWindow != nil {
		e.onWindow(WindowDone{Event: e.event, Topic: e.topic, Window: w, ReportID: report.ID,
			Rows: p.Rows, Produced: p.Produced, DeadLettered: p.DeadLettered, Took: took})
	}
	return p, nil
}

// windowRun is the state of one window's extraction.
//
// Rows are gathered in chunks. A full chunk is committed in the background
// while the next one is read and converted into the other of two buffers;
// the next chunk's records are handed to the producer once that commit is
// over (a producer has one transaction at a time). The reading goroutine
// thus never waits for a commit unless a whole chunk is ready before it.
type windowRun struct {
	e      *eventRunner
	w      source.Window
	report *source.Report
	log    *slog.Logger
	pos    checkpoint.Position // committed

	digest   checkpoint.Digest // over every row read so far, committed or not
	verified bool              // the rows skipped on resume matched pos.Digest
	handled  int64             // rows read and handled in this run (not skipped)
	last     *source.Row

	cur, spare *chunk         // cur is being filled; spare is free or being committed
	sent       int            // records of cur handed to the producer
	inTxn      bool           // a transaction is open for cur
	produced   int64          // records of cur for the event's topic
	dead       int64          // records of cur for the dead-letter topic
	pending    *pendingCommit // the commit running in the background, if any

	conv    *schemas.Converter
	convErr error // the current header cannot be converted at all
	convFor []string

	winHdr, repHdr, evHdr, fileHdr []byte
}

// pendingCommit is a chunk being committed in the background.
type pendingCommit struct {
	done     chan error
	pos      checkpoint.Position // what the commit records
	read     int64
	produced int64
	dead     int64
}

// read handles every row of the report, committing full chunks.
func (wr *windowRun) read(ctx context.Context, rows *source.Rows) error {
	e := wr.e
	wr.cur, wr.spare = &e.chunks[0], &e.chunks[1]
	wr.cur.reset()
	skip := wr.pos.Rows
	wr.digest, wr.verified = checkpoint.NewDigest, skip == 0
	for rows.Next() {
		row := rows.Row()
		wr.digest = wr.digest.AddRow(row.Fields)
		if row.Ordinal < skip {
			if row.Ordinal == skip-1 {
				if wr.digest != wr.pos.Digest {
					return &ResumeError{Event: e.event, Window: wr.w, ReportID: wr.report.ID, Committed: skip, Reason: "the rows read again differ from those committed"}
				}
				wr.verified = true
			}
			continue
		}
		if err := wr.handle(ctx, row); err != nil {
			return err
		}
		wr.handled++
		wr.last = row
		if err := wr.send(ctx, false); err != nil {
			return err
		}
		if wr.cur.n >= e.limits.Rows || wr.cur.bytes >= e.limits.Bytes {
			if err := wr.commitFull(ctx); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("event %s window %s report %s: %w", e.event, wr.w, wr.report.ID, err)
	}
	if !wr.verified {
		return &ResumeError{Event: e.event, Window: wr.w, ReportID: wr.report.ID, Committed: skip, Reason: "the report now has fewer rows"}
	}
	return nil
}

// handle converts one row into a record of the current chunk: for the
// event's topic, or for the dead-letter topic when it cannot be converted
// and the event's policy allows.
func (wr *windowRun) handle(ctx context.Context, row *source.Row) error {
	e, c := wr.e, wr.cur
	if wr.conv == nil && wr.convErr == nil || !sameHeader(wr.convFor, row.Header) {
		if e.derived {
			if err := e.adopt(ctx, row.Header); err != nil {
				return fmt.Errorf("event %s window %s report %s file %s: %w", e.event, wr.w, wr.report.ID, row.File, err)
			}
		}
		wr.conv, wr.convErr = e.schema.Converter(row.Header)
		wr.convFor = row.Header
		if wr.conv != nil {
			e.noteColumns(wr.log, row.File, wr.conv)
		}
	}
	if wr.fileHdr == nil || string(wr.fileHdr) != row.File {
		wr.fileHdr = []byte(row.File)
	}

	rec := c.next()
	var convErr error
	if wr.conv == nil {
		convErr = wr.convErr
	} else {
		buf := c.buf(len(e.prefix) + 64*len(row.Fields) + 256)
		from := len(buf)
		buf = append(buf, e.prefix...)
		if buf, convErr = wr.conv.Append(buf, row.Fields); convErr == nil {
			rec.Value = c.keep(buf, from)
			rec.Topic = e.topic
		}
	}
	if convErr != nil {
		rerr := newRowError(e.event, wr.w, wr.report.ID, row, convErr)
		if e.policy != PolicyDLQ {
			return rerr
		}
		value, err := deadLetterValue(rerr.(*RowError), row)
		if err != nil {
			return err
		}
		rec.Topic, rec.Value = e.deadLetterTopic, value
		e.stats.addDeadLettered(1)
		wr.log.Warn("row sent to the dead-letter topic", "topic", e.deadLetterTopic, "file", row.File, "line", row.Line, "cause", rerr.(*RowError).Err.Error())
	}
	if wr.conv != nil {
		kb := c.buf(64)
		kfrom := len(kb)
		if kb, ok := wr.conv.AppendKey(kb, row.Fields); ok {
			rec.Key = c.keep(kb, kfrom)
		}
	}
	lb := c.buf(20)
	lfrom := len(lb)
	lb = strconv.AppendInt(lb, row.Line, 10)
	line := c.keep(lb, lfrom)
	h := c.hdrs(5)
	h[0] = kgo.RecordHeader{Key: HeaderEvent, Value: wr.evHdr}
	h[1] = kgo.RecordHeader{Key: HeaderWindow, Value: wr.winHdr}
	h[2] = kgo.RecordHeader{Key: HeaderReportID, Value: wr.repHdr}
	h[3] = kgo.RecordHeader{Key: HeaderFile, Value: wr.fileHdr}
	h[4] = kgo.RecordHeader{Key: HeaderLine, Value: line}
	rec.Headers = h
	if rec.Topic == e.topic {
		wr.produced++
	} else {
		wr.dead++
	}
	return nil
}

// send hands the current chunk's records to the producer. While the
// previous chunk is still being committed it returns at once without
// sending (unless wait is set, then it waits for that commit).
func (wr *windowRun) send(ctx context.Context, wait bool) error {
	if !wr.inTxn {
		if wr.pending != nil {
			if !wait {
				select {
				case err := <-wr.pending.done:
					if err := wr.settle(err); err != nil {
						return err
					}
				default:
					return nil
				}
			} else if err := wr.waitPending(); err != nil {
				return err
			}
		}
		if wr.sent == wr.cur.n {
			return nil // nothing to send: no transaction needed yet
		}
		if err := wr.e.writer.Begin(); err != nil {
			return &kafkaError{err}
		}
		wr.inTxn = true
	}
	for ; wr.sent < wr.cur.n; wr.sent++ {
		wr.e.writer.Produce(ctx, wr.cur.record(wr.sent))
	}
	return nil
}

// position is the position reached once the current chunk commits.
func (wr *windowRun) position(done bool) (checkpoint.Position, error) {
	p := wr.pos
	p.ReportID, p.Done = wr.report.ID, done
	p.Produced += wr.produced
	p.DeadLettered += wr.dead
	p.Columns = wr.e.columns
	if wr.last != nil {
		p.Rows, p.Digest = wr.last.Ordinal+1, wr.digest
		p.File, p.Line = wr.last.File, wr.last.Line
	}
	if err := p.Reconcile(); err != nil {
		return p, fmt.Errorf("event %s window %s report %s: %w", wr.e.event, wr.w, wr.report.ID, err)
	}
	return p, nil
}

// commitFull starts committing the full current chunk in the background
// and makes the other buffer current.
func (wr *windowRun) commitFull(ctx context.Context) error {
	if err := wr.send(ctx, true); err != nil {
		return err
	}
	p, err := wr.position(false)
	if err != nil {
		return err
	}
	pc := &pendingCommit{done: make(chan error, 1), pos: p, read: p.Rows - wr.pos.Rows, produced: wr.produced, dead: wr.dead}
	e := wr.e
	go func() { pc.done <- e.commitOpen(ctx, p) }()
	wr.pending = pc
	wr.cur, wr.spare = wr.spare, wr.cur
	wr.cur.reset()
	wr.sent, wr.inTxn, wr.produced, wr.dead = 0, false, 0, 0
	return nil
}

// waitPending waits for the background commit, if any, and settles it.
func (wr *windowRun) waitPending() error {
	if wr.pending == nil {
		return nil
	}
	return wr.settle(<-wr.pending.done)
}

// settle records the outcome of the background commit.
func (wr *windowRun) settle(err error) error {
	pc := wr.pending
	wr.pending = nil
	if err != nil {
		return err
	}
	wr.pos = pc.pos
	wr.e.obs.ChunkCommitted(wr.e.event, pc.read, pc.produced, pc.dead)
	wr.e.stats.addRows(pc.produced)
	return nil
}

// finish commits the last chunk (or, for a window with nothing left, a
// checkpoint alone) and marks the window done.
func (wr *windowRun) finish(ctx context.Context) error {
	if err := wr.send(ctx, true); err != nil {
		return err
	}
	p, err := wr.position(true)
	if err != nil {
		return err
	}
	if !wr.inTxn {
		if err := wr.e.commit(ctx, p); err != nil {
			return err
		}
		wr.pos = p
		return nil
	}
	wr.inTxn = false
	if err := wr.e.commitOpen(ctx, p); err != nil {
		return err
	}
	wr.e.obs.ChunkCommitted(wr.e.event, p.Rows-wr.pos.Rows, wr.produced, wr.dead)
	wr.e.stats.addRows(wr.produced)
	wr.pos, wr.produced, wr.dead = p, 0, 0
	return nil
}

// abort waits for a background commit, aborts the open transaction, if
// any, and returns cause.
func (wr *windowRun) abort(ctx context.Context, cause error) error {
	if err := wr.waitPending(); err != nil && !errors.Is(cause, err) {
		cause = errors.Join(cause, err)
	}
	if wr.inTxn {
		wr.inTxn = false
		wr.e.obs.TransactionAborted(wr.e.event)
		if err := wr.e.writer.Abort(ctx); err != nil {
			return errors.Join(cause, err)
		}
	}
	return cause
}

// commitOpen commits the open transaction with p as its checkpoint.
func (e *eventRunner) commitOpen(ctx context.Context, p checkpoint.Position) error {
	p.CommittedAt = e.now()
	rec, err := e.store.Record(p)
	if err != nil {
		return err
	}
	began := time.Now()
	defer func() {
		e.logger.Debug("transaction committed", "event", e.event, "rows", p.Rows, "took", time.Since(began).String())
	}()
	if err := e.writer.Commit(ctx, rec); err != nil {
		e.obs.TransactionAborted(e.event)
		return &kafkaError{fmt.Errorf("event %s: committing chunk up to row %d: %w", e.event, p.Rows, err)}
	}
	return nil
}

// commit writes p in a transaction of its own (no rows).
func (e *eventRunner) commit(ctx context.Context, p checkpoint.Position) error {
	if err := e.writer.Begin(); err != nil {
		return &kafkaError{err}
	}
	if err := e.commitOpen(ctx, p); err != nil {
		return err
	}
	e.obs.CheckpointCommitted(e.event)
	return nil
}

// recover makes the event ready to go on after a failed window: the
// outcome of a commit that failed may be unknown, so the producer is
// started anew (which aborts whatever transaction of ours is still open)
// and the committed position is read back, exactly as after a crash.
// Both steps are retried until they succeed or ctx ends.
func (e *eventRunner) recover(ctx context.Context) (checkpoint.Position, error) {
	for attempt := 1; ; attempt++ {
		pos, err := e.reopen(ctx)
		if err == nil {
			e.logger.Info("resumed after failure", "event", e.event, "window_start", pos.WindowStart, "rows", pos.Rows, "done", pos.Done)
			return pos, nil
		}
		if ctx.Err() != nil || sink.IsFenced(err) {
			return pos, err
		}
		delay := e.retry.delay(attempt)
		e.logger.Warn("cannot resume yet", "event", e.event, "error", err.Error(), "retry_in", delay.Round(time.Millisecond).String())
		if err := sleep(ctx, delay); err != nil {
			return pos, err
		}
	}
}

func (e *eventRunner) reopen(ctx context.Context) (checkpoint.Position, error) {
	_ = e.writer.Close(ctx)
	w, err := e.newWriter(ctx)
	if err != nil {
		return checkpoint.Position{}, err
	}
	e.writer = w
	positions, err := e.store.Load(ctx)
	if err != nil {
		return checkpoint.Position{}, err
	}
	return positions[e.event], nil
}

// adopt makes the derived schema name every column of header: derived from
// it the first time, widened when it brings new columns. A new version is
// published through the framer (with the registry's compatibility check)
// before any record uses it.
func (e *eventRunner) adopt(ctx context.Context, header []string) error {
	var next *schemas.Schema
	var err error
	changed := true
	if e.schema == nil {
		next, err = schemas.Derive(e.event, header)
	} else {
		next, changed, err = schemas.Widen(e.schema, header)
	}
	if err != nil || !changed {
		return err
	}
	prefix, err := e.framer.Prefix(ctx, e.topic, next.Text, next.Fingerprint)
	if err != nil {
		return err
	}
	e.schema, e.prefix = next, prefix
	e.columns = append(slices.Clip(e.columns), slices.Clone(header))
	e.logger.Info("derived schema updated", "event", e.event, "schema", next.Name, "columns", len(next.Columns()), "versions", len(e.columns))
	return nil
}

// restoreDerived rebuilds a derived event's schema from the header column
// sets its checkpoint recorded, so that it stays the same across restarts.
func (e *eventRunner) restoreDerived(ctx context.Context, sets [][]string) error {
	if !e.derived {
		return nil
	}
	for _, h := range sets {
		if err := e.adopt(ctx, h); err != nil {
			return fmt.Errorf("event %s: restoring its derived schema: %w", e.event, err)
		}
	}
	return nil
}

// sameHeader reports whether two headers are equal, cheaply when they are
// the same slice (the source shares one header among a file's rows).
func sameHeader(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true
	}
	return slices.Equal(a, b)
}

// kafkaError marks a failure to write to Kafka, which is worth retrying
// from the last commit unless the producer was fenced.
type kafkaError struct{ err error }

func (k *kafkaError) Error() string { return k.err.Error() }
func (k *kafkaError) Unwrap() error { return k.err }

// recoverable says whether a failed window is worth extracting again from
// the last commit: Kafka trouble (broker down, restarted, unreachable) and
// source trouble that outlasted the client's own retries. Fencing, rows
// that cannot be converted, resume mismatches, refused API requests and
// reconciliation failures are not.
func recoverable(err error) bool {
	if sink.IsFenced(err) {
		return false
	}
	var ke *kafkaError
	return errors.As(err, &ke) || source.Retryable(err)
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
