package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/internal/ctxsleep"
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
	// HeaderAccount names the Freshchat account the row came from
	// (checkpoint.DefaultAccount in a single-account configuration).
	HeaderAccount = "freshchat.account"
)

// eventRunner walks one unit of work, an event of an account, forward
// window by window.
type eventRunner struct {
	event   string // the event's name, as Freshchat and the schemas know it
	key     string // the unit key (checkpoint.UnitKey): how checkpoints, observers and logs name the unit
	account string // the account's name
	// posAccount is what positions record as the account: "" for the
	// default account, whose records predate accounts.
	posAccount string
	topic      string
	schema     *schemas.Schema
	prefix     []byte // value framing (single-object or Confluent)
	src        *source.Client
	writer     *sink.Writer
	store      *checkpoint.Store
	planner    Planner
	queue      *windowQueue // the windows after the one in progress, and the density that sizes them
	start      time.Time    // where to begin without a checkpoint
	limits     Limits
	sem        chan struct{}
	now        func() time.Time
	logger     *slog.Logger
	stats      *eventStats

	onWindow        func(WindowDone)
	policy          Policy
	deadLetterTopic string
	newWriter       func(context.Context) (*sink.Writer, error)
	obs             Observer

	// derived events have no embedded schema: schema is derived from the
	// report headers (nil until the first one), columns records how.
	derived bool
	columns [][]string
	// initialSchema and initialPrefix are the schema and framing the unit
	// starts with, before any checkpoint's columns shaped it: a unit taken
	// over in group mode begins from them again.
	initialSchema *schemas.Schema
	initialPrefix []byte
	framer        sink.Framer
	retry         backoff
	chunks        [2]chunk // reused from window to window (see windowRun)
	warnedCols    map[string]bool

	// committed is the newest position this process committed: recover
	// never resumes behind it.
	committed checkpoint.Position
	// others, when set, names another running instance with the same
	// transactional ID prefix ("" when none): see reopen.
	others func(context.Context) (string, error)
}

// Limits bounds a transaction.
type Limits struct {
	Rows  int
	Bytes int64
}

// run extracts windows until the walk is over (bounded) or ctx ends.
func (e *eventRunner) run(ctx context.Context, pos checkpoint.Position) error {
	defer e.startQueue(ctx, pos)()
	failures := 0
	for {
		var w source.Window
		bounded := !e.planner.To.IsZero()
		inFlight := !pos.IsZero() && !pos.Done
		if inFlight && bounded && !pos.WindowStart.Before(e.planner.To) {
			// A window in progress beyond a bounded range is left to the
			// run that started it: the range is already committed.
			inFlight = false
		}
		if inFlight {
			// A window was in progress: finish it as it was planned, even
			// past the end of a bounded range (its report is fixed, and
			// resuming it row by row is what keeps it exactly once).
			w = source.Window{Start: pos.WindowStart, End: pos.WindowEnd}
			if bounded && w.End.After(e.planner.To) {
				e.logger.Warn("finishing the window in progress, which ends after --to; the next run continues from its end",
					"event", e.event, "window", w.String(), "to", e.planner.To.Format(time.RFC3339Nano))
			}
			e.stats.setCursor(w.Start)
		} else {
			// The checkpoint decides where to go on; the start only
			// matters without one (checkResume vetted the two).
			cursor := e.start
			if !pos.IsZero() {
				cursor = pos.Next()
			}
			var ready time.Time
			var done bool
			n, ahead := e.queue.next(cursor, e.now())
			w, ready, done = n.Window, n.Ready, n.Done
			e.stats.setCursor(cursor)
			if done {
				e.obs.Done(e.key)
				e.logger.Info("bounded range extracted", "event", e.event, "to", e.planner.To.Format(time.RFC3339Nano))
				return nil
			}
			if wait := ready.Sub(e.now()); wait > 0 {
				e.obs.Waiting(e.key, ready)
				e.logger.Debug("waiting for the next window to settle", "event", e.event, "window", w.String(), "wait", wait.Round(time.Second).String())
				if err := ctxsleep.For(ctx, wait); err != nil {
					return err
				}
				continue
			}
			covered := w.Start
			if !pos.IsZero() {
				covered = pos.Covered()
			}
			pos = checkpoint.Position{Account: e.posAccount, Event: e.event, WindowStart: w.Start, WindowEnd: w.End, Digest: checkpoint.NewDigest, CoveredFrom: covered}
			pos = e.startWindow(pos, n, ahead)
		}
		next, err := e.extract(ctx, w, pos)
		if err == nil {
			pos, failures = next, 0
			e.queue.done(next)
			continue
		}
		if ctx.Err() != nil {
			return err
		}
		e.obs.EventFailed(e.key, err)
		if !recoverable(err) {
			return err
		}
		failures++
		delay := e.retry.delay(failures)
		e.logger.Warn("window failed; resuming from the last commit after a pause", "event", e.event, "window", w.String(),
			"error", err.Error(), "failures", failures, "retry_in", delay.Round(time.Millisecond).String())
		if err := ctxsleep.For(ctx, delay); err != nil {
			return err
		}
		var te *sink.TimeoutError
		if pos, err = e.recover(ctx, errors.As(err, &te)); err != nil {
			return err
		}
		e.queue.reset(pos)
	}
}

// extract reads one window's report and commits its rows in chunks, each
// chunk in one transaction with the checkpoint that accounts for it. pos is
// the committed position inside the window (zero rows for a new window).
//
// A submit is a change of position: the new report ID (and the window's
// submit count) is committed, in a transaction of its own, before anything
// waits on the report, so that a restart polls that report instead of
// submitting again, and a window whose reports keep failing or vanishing
// ends in ErrSubmitsExhausted however often the connector restarts. A
// report that must be submitted again (it FAILED, vanished, stayed pending,
// or changed while it was read) is, within the run, and reading goes on
// after the last committed row.
func (e *eventRunner) extract(ctx context.Context, w source.Window, pos checkpoint.Position) (checkpoint.Position, error) {
	began := e.now()
	log := e.logger.With("event", e.event, "window", w.String())
	if pos.Rows > 0 || pos.ReportID != "" {
		log.Info("resuming window", "report", pos.ReportID, "committed_rows", pos.Rows, "submits", pos.Submits)
	}
	var last *source.ResubmitError
	for {
		fresh := false
		var submittedAt time.Time
		if pos.ReportID == "" {
			if pos.Submits >= e.src.MaxSubmits() {
				return pos, e.src.Exhausted(e.event, w, pos.Submits, last)
			}
			var p checkpoint.Position
			var id string
			var err error
			w, p, id, log, err = e.submitWindow(ctx, log, w, pos)
			if errors.Is(err, errWindowLost) {
				return p, nil
			}
			if err != nil {
				return pos, err
			}
			if err := e.commit(ctx, p); err != nil {
				return pos, fmt.Errorf("freshchat report %s submitted, but recording it failed: %w", id, err)
			}
			pos, fresh, submittedAt = p, true, e.now()
		}
		report, err := e.await(ctx, w, pos, fresh)
		if errors.As(err, &last) {
			log.Warn("freshchat report cannot be read, submitting again", "report", last.ReportID, "reason", last.Reason,
				"submits", pos.Submits, "max_submits", e.src.MaxSubmits(), "committed_rows", pos.Rows)
			pos.ReportID = ""
			if split, p, ok := e.splitFailing(log, w, pos, last); ok {
				w, pos, log = split, p, e.logger.With("event", e.event, "window", split.String())
			}
			continue
		}
		if err != nil {
			return pos, err
		}
		if fresh {
			e.obs.ReportReady(e.key, e.now().Sub(submittedAt))
		}
		e.noteReady(pos.ReportID, submittedAt, fresh)

		// Concurrency bounds the events reading at once, not those waiting
		// for Freshchat to generate a report: every event's report is
		// generated meanwhile, and an event stuck waiting starves no other.
		select {
		case e.sem <- struct{}{}:
		case <-ctx.Done():
			return pos, ctx.Err()
		}
		wr := &windowRun{e: e, w: w, report: report, pos: pos, log: log.With("report", report.ID),
			winHdr: []byte(w.String()), repHdr: []byte(report.ID), evHdr: []byte(e.event), accHdr: []byte(e.account)}
		rows := e.src.Open(ctx, report, source.Position{ReportID: report.ID, Rows: pos.Rows, Digest: pos.Digest})
		err = wr.read(ctx, rows)
		if cerr := rows.Close(); cerr != nil {
			log.Warn("removing the report's temp files failed", "error", cerr.Error())
		}
		if err == nil {
			err = wr.finish(ctx)
		}
		if err != nil {
			err = wr.abort(ctx, err)
		}
		<-e.sem
		if err != nil {
			if errors.As(err, &last) && !errors.Is(err, errCommit) {
				// Every row read before is committed (see windowRun.read):
				// go on after them in a new report.
				log.Warn("freshchat report changed or vanished while it was read, submitting again", "report", last.ReportID,
					"reason", last.Reason, "submits", wr.pos.Submits, "max_submits", e.src.MaxSubmits(), "committed_rows", wr.pos.Rows)
				pos = wr.pos
				pos.ReportID = ""
				continue
			}
			return wr.pos, err
		}
		p := wr.pos
		e.stats.windowDone(w)
		took := e.now().Sub(began)
		attrs := []any{"report", report.ID, "rows", p.Rows, "produced", p.Produced, "dead_lettered", p.DeadLettered,
			"took", took.Round(time.Millisecond).String(), "rows_per_sec", int64(float64(wr.handled) / max(took.Seconds(), 1e-3))}
		if p.Rows == 0 {
			log.Info("window committed: the report is empty", attrs...)
		} else {
			log.Info("window committed", attrs...)
		}
		if e.onWindow != nil {
			e.onWindow(WindowDone{Unit: e.key, Account: e.account, Event: e.event, Topic: e.topic, Window: w, ReportID: report.ID,
				Rows: p.Rows, Produced: p.Produced, DeadLettered: p.DeadLettered, Took: took})
		}
		return p, nil
	}
}

// commitOpen commits the open transaction with p as its checkpoint.
func (e *eventRunner) commitOpen(ctx context.Context, p checkpoint.Position) error {
	p.CommittedAt, p.Ahead = e.now(), e.queue.snapshot()
	rec, err := e.store.Record(p)
	if err != nil {
		return err
	}
	began := time.Now()
	open := e.writer.OpenFor()
	err = e.writer.Commit(ctx, rec)
	e.obs.TransactionEnded(e.key, open+time.Since(began))
	if err != nil {
		e.obs.TransactionAborted(e.key)
		var te *sink.TimeoutError
		if errors.As(err, &te) {
			e.logger.Warn("the broker aborted a transaction that stayed open longer than the transaction timeout; resuming from the last commit",
				"event", e.event, "open", te.Open.Round(time.Millisecond).String(), "transaction_timeout", te.Timeout.String(), "rows", p.Rows)
		}
		return &kafkaError{fmt.Errorf("event %s: committing chunk up to row %d: %w: %w", e.key, p.Rows, errCommit, err)}
	}
	e.committed = p
	e.stats.setCommitted(p)
	e.logger.Debug("transaction committed", "event", e.event, "rows", p.Rows, "took", time.Since(began).String())
	return nil
}

// errCommit marks a failed commit: its outcome is unknown until the
// position is read back (see recover).
var errCommit = errors.New("commit failed")

// commit writes p in a transaction of its own (no rows).
func (e *eventRunner) commit(ctx context.Context, p checkpoint.Position) error {
	if err := e.writer.Begin(); err != nil {
		return &kafkaError{err}
	}
	if err := e.commitOpen(ctx, p); err != nil {
		return err
	}
	e.obs.CheckpointCommitted(e.key)
	return nil
}

// recover makes the event ready to go on after a failed window: the
// outcome of a commit that failed may be unknown, so the producer is
// started anew (which aborts whatever transaction of ours is still open)
// and the committed position is read back, exactly as after a crash.
// Both steps are retried until they succeed or ctx ends.
//
// epochBumped says the failure was an epoch error the broker's transaction
// timeout explains: reopen then first makes sure no other instance took the
// transactional ID over.
func (e *eventRunner) recover(ctx context.Context, epochBumped bool) (checkpoint.Position, error) {
	pos, err := e.open(ctx, epochBumped)
	if err != nil {
		return pos, err
	}
	if pos.IsZero() {
		e.logger.Info("resumed after failure: nothing is committed yet, the event starts again from its start",
			"event", e.event, "start", e.start.UTC().Format(time.RFC3339Nano))
	} else {
		e.logger.Info("resumed after failure", "event", e.event, "window_start", pos.WindowStart, "rows", pos.Rows, "done", pos.Done)
	}
	return pos, nil
}

// open is reopen retried until it succeeds, fails for good or ctx ends:
// the unit's producer started and its committed position read.
func (e *eventRunner) open(ctx context.Context, askOthers bool) (checkpoint.Position, error) {
	for attempt := 1; ; attempt++ {
		pos, err := e.reopen(ctx, askOthers)
		if err == nil {
			return pos, nil
		}
		if ctx.Err() != nil || sink.IsFenced(err) {
			return pos, err
		}
		delay := e.retry.delay(attempt)
		e.logger.Warn("cannot resume yet", "event", e.event, "error", err.Error(), "retry_in", delay.Round(time.Millisecond).String())
		if err := ctxsleep.For(ctx, delay); err != nil {
			return pos, err
		}
	}
}

// reopen starts a new producer (aborting whatever transaction of ours is
// still open) and reads the event's committed position back. After an
// epoch error (askOthers), before it starts the producer, which would fence
// another instance that took this event's transactional ID over, it asks
// Others whether one runs: then this instance is the stale one and stops
// (ErrFenced). Other failures (a broker down, a lost answer) cannot come
// from another instance, and a crashed instance stays listed for a while:
// they do not ask.
func (e *eventRunner) reopen(ctx context.Context, askOthers bool) (checkpoint.Position, error) {
	if e.writer != nil {
		if err := e.writer.Close(ctx); err != nil {
			e.logger.Debug("closing the failed producer", "event", e.event, "error", err.Error())
		}
		e.writer = nil
	}
	if e.others != nil && askOthers {
		other, err := e.others(ctx)
		if err != nil {
			return checkpoint.Position{}, fmt.Errorf("asking whether another instance runs: %w", err)
		}
		if other != "" {
			return checkpoint.Position{}, fmt.Errorf("%w: %s runs with the same transactional ID prefix", sink.ErrFenced, other)
		}
	}
	w, err := e.newWriter(ctx)
	if err != nil {
		return checkpoint.Position{}, err
	}
	e.writer = w
	positions, err := e.store.Load(ctx)
	if err != nil {
		return checkpoint.Position{}, err
	}
	pos := positions[e.key]
	if pos.Behind(e.committed) {
		// The broker confirmed that commit, so it stands even though the
		// topic read back does not show it yet: going on from the older
		// position would produce rows again.
		e.logger.Warn("the checkpoint read back is behind the one this process committed; going on from the one it committed",
			"event", e.event, "read", pos.String(), "committed", e.committed.String())
		return e.committed, nil
	}
	return pos, nil
}

// nextSchema is the derived schema that names every column of header:
// derived from it the first time, widened when it brings new columns.
// changed is false when the current schema already names them all.
func (e *eventRunner) nextSchema(header []string) (next *schemas.Schema, changed bool, err error) {
	if e.schema == nil {
		next, err = schemas.Derive(e.event, header)
		return next, err == nil, err
	}
	return schemas.Widen(e.schema, header)
}

// adopt makes next (from nextSchema, for header) the event's schema. It is
// published through the framer (with the registry's compatibility check)
// before any record uses it. Publishing waits on the registry: the caller
// has no transaction open.
func (e *eventRunner) adopt(ctx context.Context, next *schemas.Schema, header []string) error {
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
		next, changed, err := e.nextSchema(h)
		if err == nil && changed {
			err = e.adopt(ctx, next, h)
		}
		if err != nil {
			return fmt.Errorf("event %s: restoring its derived schema: %w", e.key, err)
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
