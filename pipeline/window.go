package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/schemas"
	"github.com/freshstream/freshchat-kafka/source"
)

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

	handled int64           // rows read and handled in this run (not skipped)
	at      source.Position // the source's position after the last row handled
	file    string          // file and line of the last row handled
	line    int64

	cur, spare *chunk         // cur is being filled; spare is free or being committed
	sent       int            // records of cur handed to the producer
	inTxn      bool           // a transaction is open for cur
	produced   int64          // records of cur for the event's topic
	dead       int64          // records of cur for the dead-letter topic
	pending    *pendingCommit // the commit running in the background, if any

	conv    *schemas.Converter
	convErr error // the current header cannot be converted at all
	convFor []string

	winHdr, repHdr, evHdr, accHdr, fileHdr []byte
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
//
// No transaction stays open while reading waits on the outside world: when
// the next row is in a link still downloading (rows.Pending), the rows
// handled so far are committed first, and only then does read wait. The
// source never waits on the network in Next (see source.Client.Open), so
// an open transaction waits only on Kafka. A report that must be submitted
// again ends read with an error wrapping source.ErrResubmit once every row
// handled is committed.
func (wr *windowRun) read(ctx context.Context, rows *source.Rows) error {
	e := wr.e
	wr.cur, wr.spare = &e.chunks[0], &e.chunks[1]
	wr.cur.reset()
	for {
		if rows.Next() {
			row := rows.Row()
			if err := wr.handle(ctx, row); err != nil {
				return err
			}
			wr.handled++
			wr.at, wr.file, wr.line = rows.Position(), row.File, row.Line
			if err := wr.send(ctx, false); err != nil {
				return err
			}
			if wr.cur.n >= e.limits.Rows || wr.cur.bytes >= e.limits.Bytes {
				if err := wr.commitFull(ctx); err != nil {
					return err
				}
			}
			continue
		}
		if !rows.Pending() {
			break
		}
		if err := wr.commitNow(ctx); err != nil {
			return err
		}
		if err := rows.Wait(ctx); err != nil {
			return err
		}
	}
	err := rows.Err()
	var re *source.ResumeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &re):
		return &ResumeError{Event: e.key, Window: wr.w, ReportID: wr.report.ID, Committed: re.Rows, Reason: re.Reason}
	case errors.Is(err, source.ErrResubmit):
		if cerr := wr.commitNow(ctx); cerr != nil {
			return cerr
		}
	}
	return fmt.Errorf("event %s window %s report %s: %w", e.key, wr.w, wr.report.ID, err)
}

// commitNow commits every row handled so far and waits for the commit:
// afterwards no transaction is open.
func (wr *windowRun) commitNow(ctx context.Context) error {
	if wr.cur.n == 0 {
		return wr.waitPending()
	}
	if err := wr.commitFull(ctx); err != nil {
		return err
	}
	return wr.waitPending()
}

// handle converts one row into a record of the current chunk: for the
// event's topic, or for the dead-letter topic when it cannot be converted
// and the event's policy allows.
func (wr *windowRun) handle(ctx context.Context, row *source.Row) error {
	e := wr.e
	if wr.conv == nil && wr.convErr == nil || !sameHeader(wr.convFor, row.Header) {
		if e.derived {
			next, changed, err := e.nextSchema(row.Header)
			if err == nil && changed {
				// Publishing the new schema version waits on the
				// registry: nothing may be open in Kafka meanwhile.
				if err := wr.commitNow(ctx); err != nil {
					return err
				}
				err = e.adopt(ctx, next, row.Header)
			}
			if err != nil {
				return fmt.Errorf("event %s window %s report %s file %s: %w", e.key, wr.w, wr.report.ID, row.File, err)
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

	c := wr.cur
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
	h := c.hdrs(6)
	h[0] = kgo.RecordHeader{Key: HeaderEvent, Value: wr.evHdr}
	h[1] = kgo.RecordHeader{Key: HeaderWindow, Value: wr.winHdr}
	h[2] = kgo.RecordHeader{Key: HeaderReportID, Value: wr.repHdr}
	h[3] = kgo.RecordHeader{Key: HeaderFile, Value: wr.fileHdr}
	h[4] = kgo.RecordHeader{Key: HeaderLine, Value: line}
	h[5] = kgo.RecordHeader{Key: HeaderAccount, Value: wr.accHdr}
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
	if wr.handled > 0 {
		p.Rows, p.Digest = wr.at.Rows, wr.at.Digest
		p.File, p.Line = wr.file, wr.line
	}
	if err := p.Reconcile(); err != nil {
		return p, fmt.Errorf("event %s window %s report %s: %w", wr.e.key, wr.w, wr.report.ID, err)
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
	wr.e.obs.ChunkCommitted(wr.e.key, pc.read, pc.produced, pc.dead)
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
	wr.e.obs.ChunkCommitted(wr.e.key, p.Rows-wr.pos.Rows, wr.produced, wr.dead)
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
		wr.e.obs.TransactionAborted(wr.e.key)
		wr.e.obs.TransactionEnded(wr.e.key, wr.e.writer.OpenFor())
		if err := wr.e.writer.Abort(ctx); err != nil {
			return errors.Join(cause, err)
		}
	}
	return cause
}
