package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/source"
)

// windowQueue is an event's plan beyond the window in progress: its row
// density, which sizes the windows it plans, and the windows that follow,
// whose reports are submitted ahead (at most ahead of them) while the
// window in progress is awaited and read, so that report generation
// overlaps reading.
//
// The event's goroutine takes windows from the front (next) and records
// what it read (done); a submitter goroutine (submitAhead) plans and
// submits the windows at the back. Every checkpoint the event commits
// lists the windows ahead with their reports (commitOpen), so a restart
// polls those reports instead of submitting them again; windows are still
// read and committed strictly in order.
type windowQueue struct {
	event   string
	planner Planner
	src     *source.Client
	logger  *slog.Logger
	now     func() time.Time
	ahead   int // reports submitted ahead at most; 0: none

	mu        sync.Mutex
	list      []checkpoint.Ahead // the windows after current, in order
	current   source.Window      // the window in progress; zero before the first
	density   Density
	gen       uint64               // bumped when the list is replaced (reset)
	pending   *pendingSubmit       // the report being submitted ahead, if any
	awaited   time.Duration        // how long the last await of a report took
	hasReport bool                 // the window in progress has its report submitted
	capped    time.Duration        // the longest window since a split (0: none)
	held      map[time.Time]bool   // windows (by start) whose submit ahead failed: the event submits them itself
	sentAt    map[string]time.Time // when each report of the list was submitted, in this process
	kick      chan struct{}        // wakes the submitter
	dirty     chan struct{}        // the list gained a report: see eventRunner.await
}

func newWindowQueue(event string, planner Planner, src *source.Client, logger *slog.Logger, now func() time.Time, ahead int) *windowQueue {
	return &windowQueue{
		event: event, planner: planner, src: src, logger: logger, now: now, ahead: max(ahead, 0),
		held: map[time.Time]bool{}, sentAt: map[string]time.Time{},
		kick: make(chan struct{}, 1), dirty: make(chan struct{}, 1),
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// reset makes pos, a committed position read at start or after a failure,
// the queue's state: its windows ahead (those that follow its window
// without a gap; any other is dropped and logged) and, when no window was
// read yet, the density its window shows. A report the submitter is
// submitting meanwhile is not added (see submitAhead).
func (q *windowQueue) reset(pos checkpoint.Position) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.gen++
	q.list = q.list[:0]
	q.current, q.hasReport = source.Window{}, false
	if !pos.IsZero() {
		q.current = source.Window{Start: pos.WindowStart, End: pos.WindowEnd}
		q.hasReport = !pos.Done && pos.ReportID != ""
	}
	end := pos.WindowEnd
	for i, a := range pos.Ahead {
		if !a.WindowStart.Equal(end) || !a.WindowEnd.After(a.WindowStart) {
			q.logger.Warn("the checkpoint lists windows ahead that do not follow its window; they are planned again",
				"event", q.event, "window", (source.Window{Start: a.WindowStart, End: a.WindowEnd}).String(), "dropped", len(pos.Ahead)-i)
			break
		}
		q.list = append(q.list, a)
		end = a.WindowEnd
	}
	clear(q.held)
	if !q.density.Known {
		q.density = DensityOf(pos)
	}
	signal(q.kick)
}

// next is the window that starts at cursor: the first window ahead when it
// starts there (with the report submitted for it, if any), else a window
// planned now. A window ahead that would end past the bounded range's end
// is dropped with the rest of the list: the range ends where asked.
func (q *windowQueue) next(cursor, now time.Time) (Planned, checkpoint.Ahead) {
	cursor = cursor.UTC().Truncate(time.Millisecond)
	q.claim(cursor)
	q.mu.Lock()
	defer q.mu.Unlock()
	defer signal(q.kick)
	if len(q.list) > 0 {
		a := q.list[0]
		to := q.planner.To
		switch {
		case !a.WindowStart.Equal(cursor):
			q.logger.Warn("the windows ahead do not start where the event goes on; they are planned again",
				"event", q.event, "cursor", cursor.Format(time.RFC3339Nano), "first_ahead", a.WindowStart.UTC().Format(time.RFC3339Nano))
			q.drop(0)
		case !to.IsZero() && a.WindowEnd.After(to):
			q.logger.Info("windows ahead reach past --to: they are left, and the range ends at --to",
				"event", q.event, "to", to.UTC().Format(time.RFC3339Nano), "dropped", len(q.list))
			q.drop(0)
		default:
			q.list = q.list[1:]
			delete(q.held, a.WindowStart)
			w := source.Window{Start: a.WindowStart, End: a.WindowEnd}
			q.current, q.hasReport = w, a.ReportID != ""
			return Planned{Window: w, Ready: now}, a
		}
	}
	n := q.planner.Next(cursor, now, q.density)
	if !n.Done && !n.Ready.After(now) {
		q.current, q.hasReport = n.Window, false
	}
	return n, checkpoint.Ahead{}
}

// claim waits until no report is being submitted ahead for the window at
// cursor, which the event needs now: a submit still waiting for the budget
// is promoted to wait as one needed now, and its report is used (or, when
// it failed, the event submits the window itself).
func (q *windowQueue) claim(cursor time.Time) {
	q.mu.Lock()
	p := q.pending
	if p == nil || !p.a.WindowStart.Equal(cursor) {
		q.mu.Unlock()
		return
	}
	if !p.claimed {
		p.claimed = true
		close(p.promote)
	}
	q.mu.Unlock()
	<-p.done
}

// setPlanner makes p the queue's planner (a group may change the bounded
// range before a unit starts), keeping the cap of earlier splits.
func (q *windowQueue) setPlanner(p Planner) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.planner = p
	if q.capped > 0 && q.capped < p.longest() {
		q.planner.MaxWindow = q.capped
	}
}

// setAwaited records how long the event's last await took.
func (q *windowQueue) setAwaited(d time.Duration) {
	q.mu.Lock()
	q.awaited = d
	q.mu.Unlock()
}

// lastAwait is how long the event's last await took.
func (q *windowQueue) lastAwait() time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.awaited
}

// submitted records that the window in progress has its report.
func (q *windowQueue) submitted() {
	q.mu.Lock()
	q.hasReport = true
	q.mu.Unlock()
}

// drop forgets the windows ahead from i on; their reports are orphans.
// q.mu is held.
func (q *windowQueue) drop(i int) {
	for _, a := range q.list[i:] {
		delete(q.held, a.WindowStart)
		delete(q.sentAt, a.ReportID)
	}
	q.list = q.list[:i]
}

// done records that the window of p, committed done, was read: its rows
// refine the density.
func (q *windowQueue) done(p checkpoint.Position) {
	if !p.Done {
		return
	}
	q.mu.Lock()
	q.density = q.density.Observe(p.Rows, source.Window{Start: p.WindowStart, End: p.WindowEnd})
	q.mu.Unlock()
	signal(q.kick)
}

// split replaces the window in progress by first and puts rest, not
// submitted, at the front of the windows ahead. The event's later windows
// are planned no longer than first: a longer one was too large.
func (q *windowQueue) split(first, rest source.Window) {
	q.mu.Lock()
	q.current = first
	q.list = slices.Insert(q.list, 0, checkpoint.Ahead{WindowStart: rest.Start, WindowEnd: rest.End})
	if span := first.End.Sub(first.Start); span < q.planner.longest() {
		q.planner.MaxWindow, q.capped = span, span
		q.logger.Info("the event's windows are no longer than the part that is submitted now, for the rest of the run",
			"event", q.event, "max_window", span.String())
		// Windows ahead not submitted yet are cut to it too.
		var list []checkpoint.Ahead
		for _, a := range q.list {
			for a.ReportID == "" && a.WindowEnd.Sub(a.WindowStart) > span {
				list = append(list, checkpoint.Ahead{WindowStart: a.WindowStart, WindowEnd: a.WindowStart.Add(span)})
				a.WindowStart = a.WindowStart.Add(span)
			}
			list = append(list, a)
		}
		q.list = list
	}
	q.mu.Unlock()
	signal(q.kick)
}

// snapshot is a copy of the windows ahead, for a checkpoint.
func (q *windowQueue) snapshot() []checkpoint.Ahead {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.list) == 0 {
		return nil
	}
	return slices.Clone(q.list)
}

// count estimates the windows from from to to (see Planner.Count).
func (q *windowQueue) count(from, to time.Time) int {
	q.mu.Lock()
	p, d := q.planner, q.density
	q.mu.Unlock()
	return p.Count(from, to, d)
}

// submittedAt is when report id, submitted ahead by this process, was
// submitted; false when unknown.
func (q *windowQueue) submittedAt(id string) (time.Time, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	t, ok := q.sentAt[id]
	delete(q.sentAt, id)
	return t, ok
}

// inFlight counts the reports submitted and not read yet: the window in
// progress's and those of the windows ahead (ahead).
func (q *windowQueue) inFlight() (all, ahead int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, a := range q.list {
		if a.ReportID != "" {
			n++
		}
	}
	all = n
	if q.hasReport {
		all++
	}
	return all, n
}

// candidate is the next window to submit ahead: the first one ahead
// without a report, or a new one planned after the last. ok is false when
// there is none now: enough are submitted, the density is not known yet
// (the first window sizes the next ones), the walk is over, the next
// window has not settled (live mode), or a window ahead is held.
func (q *windowQueue) candidate(now time.Time) (a checkpoint.Ahead, gen uint64, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.current.End.IsZero() {
		return a, 0, false
	}
	submitted := 0
	for _, x := range q.list {
		if x.ReportID != "" {
			submitted++
			continue
		}
		if q.held[x.WindowStart] || submitted >= q.ahead {
			return a, 0, false
		}
		return x, q.gen, true
	}
	if len(q.list) >= q.ahead || q.planner.adaptive() && !q.density.Known {
		return a, 0, false
	}
	cursor := q.current.End
	if n := len(q.list); n > 0 {
		cursor = q.list[n-1].WindowEnd
	}
	p := q.planner
	p.Earliest = nil
	n := p.Next(cursor, now, q.density)
	if n.Done || n.Ready.After(now) {
		return a, 0, false
	}
	return checkpoint.Ahead{WindowStart: n.Window.Start, WindowEnd: n.Window.End}, q.gen, true
}

// settle records the outcome of submitting p.a ahead: its report id, or
// "" when the submit failed. A window ahead is known by its start and end,
// not its place, since the event takes windows from the front meanwhile.
func (q *windowQueue) settle(p *pendingSubmit, id string, at time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	defer close(p.done)
	q.pending = nil
	a := p.a
	fits := p.gen == q.gen
	if fits {
		i := slices.IndexFunc(q.list, func(x checkpoint.Ahead) bool { return x.WindowStart.Equal(a.WindowStart) })
		switch {
		case i >= 0:
			x := &q.list[i]
			fits = x.WindowEnd.Equal(a.WindowEnd) && x.ReportID == ""
			if fits && id != "" {
				x.ReportID, x.Submits = id, x.Submits+1
			}
		default:
			last := q.current.End
			if n := len(q.list); n > 0 {
				last = q.list[n-1].WindowEnd
			}
			fits = a.WindowStart.Equal(last) && (id != "" || !p.claimed)
			if fits {
				if id != "" {
					a.ReportID, a.Submits = id, a.Submits+1
				}
				q.list = append(q.list, a)
			}
		}
	}
	switch {
	case !fits && id != "":
		q.logger.Warn("a report submitted ahead is no longer needed (the event's plan changed meanwhile); it is left unread",
			"event", q.event, "report", id, "window", (source.Window{Start: a.WindowStart, End: a.WindowEnd}).String())
	case fits && id == "" && !p.claimed:
		q.held[a.WindowStart] = true
	case fits && id != "":
		q.sentAt[id] = at
		signal(q.dirty)
	}
}

// pendingSubmit is a report being submitted ahead.
type pendingSubmit struct {
	a       checkpoint.Ahead
	gen     uint64
	promote chan struct{} // closed by claim
	claimed bool          // the event needs the window now (see claim)
	done    chan struct{} // closed once settled
}

// submitAhead submits the reports of the windows ahead until ctx ends:
// whenever fewer than the queue's share are submitted, it plans the next
// window and submits its report with the low priority of a report needed
// later (source.Submission.Ahead). A submit that fails leaves the window
// to the event, which submits it when its turn comes (and splits it, if
// it is refused for its size).
func (q *windowQueue) submitAhead(ctx context.Context) {
	for {
		for q.submitOne(ctx) {
		}
		select {
		case <-ctx.Done():
			return
		case <-q.kick:
		}
	}
}

// submitOne submits the next window ahead, if any, and says whether it
// did (or tried).
func (q *windowQueue) submitOne(ctx context.Context) bool {
	a, gen, ok := q.candidate(q.now())
	if !ok || ctx.Err() != nil {
		return false
	}
	p := &pendingSubmit{a: a, gen: gen, promote: make(chan struct{}), done: make(chan struct{})}
	q.mu.Lock()
	if gen != q.gen {
		q.mu.Unlock()
		return true
	}
	q.pending = p
	q.mu.Unlock()
	w := source.Window{Start: a.WindowStart, End: a.WindowEnd}
	got, err := q.src.SubmitReport(ctx, source.Submission{Event: q.event, Window: w, Ahead: true, Promote: p.promote})
	switch {
	case err == nil, ctx.Err() != nil:
	default:
		q.logger.Warn("submitting a report ahead failed; the window's report is submitted when its turn comes",
			"event", q.event, "window", w.String(), "error", err.Error())
	}
	q.settle(p, got.ID, q.now())
	return ctx.Err() == nil
}

// refused says whether err is the API refusing a submit for its window
// (400), not for its event name (the other error shape, with error_code).
func refused(err error) bool {
	var ae *source.APIError
	return errors.As(err, &ae) && ae.StatusCode == http.StatusBadRequest && ae.ErrorCode == 0
}

// splitAfterSubmits is how many reports of a window may fail (FAILED, or
// pending past the timeout) before an adaptive window is split.
const splitAfterSubmits = 2

// errWindowLost ends the submit of a window the 15-month limit passed
// entirely: it was committed as done, without rows.
var errWindowLost = errors.New("window lost to the history limit")

// submitWindow submits the report of w, the window in progress, whose
// committed position pos has no report, and returns the window requested
// and the position that records its report (not committed yet).
//
// A window nothing of which is read yet starts no earlier than the API
// serves when the submit is sent: a start the 15-month limit passed while
// the submit waited is moved forward, and the rows left out are logged as
// lost (source.Submission.Trim). With adaptive windows, a window the API
// refuses (400) is split: its first half is submitted, the rest goes to
// the front of the windows ahead.
func (e *eventRunner) submitWindow(ctx context.Context, log *slog.Logger, w source.Window, pos checkpoint.Position) (source.Window, checkpoint.Position, string, *slog.Logger, error) {
	for {
		got, err := e.src.SubmitReport(ctx, source.Submission{Event: e.event, Window: w, Trim: pos.Rows == 0})
		var he *source.HistoryError
		switch {
		case err == nil:
		case errors.As(err, &he):
			log.Warn("rows lost: Freshchat no longer serves this window (raw reports reach back 15 months); it is committed without rows",
				"lost_from", w.Start.UTC().Format(time.RFC3339Nano), "lost_to", w.End.UTC().Format(time.RFC3339Nano))
			p := pos
			p.ReportID, p.Done, p.CoveredFrom = "", true, w.End
			if err := e.commit(ctx, p); err != nil {
				return w, pos, "", log, err
			}
			return w, p, "", log, errWindowLost
		case refused(err) && e.planner.adaptive() && pos.Rows == 0:
			first, rest, ok := Split(w)
			if !ok {
				return w, pos, "", log, err
			}
			log.Warn("freshchat refused the report; splitting the window and submitting its first part", "error", err.Error(),
				"first", first.String(), "rest", rest.String())
			e.queue.split(first, rest)
			w, pos.WindowEnd = first, first.End
			log = e.logger.With("event", e.event, "window", w.String())
			continue
		default:
			return w, pos, "", log, err
		}
		if !got.Trimmed.Start.IsZero() {
			log.Warn("rows lost: the 15-month limit of Freshchat's raw reports passed the window's start before its report was submitted; the window starts later",
				"lost_from", got.Trimmed.Start.UTC().Format(time.RFC3339Nano), "lost_to", got.Trimmed.End.UTC().Format(time.RFC3339Nano),
				"lost", got.Trimmed.End.Sub(got.Trimmed.Start).Round(time.Second).String(), "requested", got.Window.String())
			w, pos.WindowStart, pos.CoveredFrom = got.Window, got.Window.Start, got.Window.Start
			log = e.logger.With("event", e.event, "window", w.String())
		}
		pos.ReportID, pos.Submits = got.ID, pos.Submits+1
		e.queue.submitted()
		return w, pos, got.ID, log, nil
	}
}

// splitFailing splits w, an adaptive window nothing of which is read yet,
// once splitAfterSubmits of its reports failed or stayed pending: a report
// too large to generate would fail again. It returns the first part and
// its position (no report, no submits yet), or ok false.
func (e *eventRunner) splitFailing(log *slog.Logger, w source.Window, pos checkpoint.Position, last *source.ResubmitError) (source.Window, checkpoint.Position, bool) {
	if !e.planner.adaptive() || pos.Rows > 0 || pos.Submits < splitAfterSubmits {
		return w, pos, false
	}
	first, rest, ok := Split(w)
	if !ok {
		return w, pos, false
	}
	log.Warn("freshchat reports of the window keep failing; splitting it and submitting its first part",
		"submits", pos.Submits, "reason", last.Reason, "first", first.String(), "rest", rest.String())
	e.queue.split(first, rest)
	pos.WindowEnd, pos.ReportID, pos.Submits = first.End, "", 0
	return first, pos, true
}

// await is source.Client.Await for the report of the window in progress.
// While it waits, it commits pos (the window's position, with its report)
// again whenever the submitter adds a report ahead, so that a restart finds
// that report: nothing else commits while a report is awaited.
func (e *eventRunner) await(ctx context.Context, w source.Window, pos checkpoint.Position, fresh bool) (*source.Report, error) {
	began := e.now()
	defer func() { e.queue.setAwaited(e.now().Sub(began)) }()
	if e.queue.ahead == 0 {
		return e.src.Await(ctx, e.event, w, pos.ReportID, fresh)
	}
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		r   *source.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := e.src.Await(actx, e.event, w, pos.ReportID, fresh)
		done <- result{r, err}
	}()
	for {
		select {
		case res := <-done:
			return res.r, res.err
		case <-e.queue.dirty:
			if sameAhead(e.queue.snapshot(), e.committed.Ahead) {
				continue
			}
			if err := e.commit(ctx, pos); err != nil {
				cancel()
				<-done
				return nil, err
			}
		}
	}
}

// noteReady records that the report of the window in progress is ready:
// its latency (from its submit, when known) feeds the backfill estimate.
//
// A report submitted ahead that was ready when first polled was ready some
// time before: its time from submit to that poll only bounds its latency,
// and may lower the estimate, never raise it.
func (e *eventRunner) noteReady(id string, submittedAt time.Time, fresh bool) {
	now := e.now()
	if fresh {
		e.stats.reportReady(now, now.Sub(submittedAt), false)
		return
	}
	submittedAt, ok := e.queue.submittedAt(id)
	if !ok {
		e.stats.reportReady(now, 0, false)
		return
	}
	readyAtOnce := e.queue.lastAwait() < e.src.Budgets().PollInterval
	e.stats.reportReady(now, now.Sub(submittedAt), readyAtOnce)
}

// sameAhead reports whether two lists of windows ahead are the same.
func sameAhead(a, b []checkpoint.Ahead) bool {
	return slices.EqualFunc(a, b, func(x, y checkpoint.Ahead) bool {
		return x.WindowStart.Equal(y.WindowStart) && x.WindowEnd.Equal(y.WindowEnd) && x.ReportID == y.ReportID && x.Submits == y.Submits
	})
}

// startQueue makes pos the queue's state and, when reports are submitted
// ahead, starts the submitter; the function returned stops it.
func (e *eventRunner) startQueue(ctx context.Context, pos checkpoint.Position) (stop func()) {
	e.stats.setClock(e.now)
	e.queue.setPlanner(e.planner)
	e.queue.reset(pos)
	if e.queue.ahead == 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { e.queue.submitAhead(ctx) })
	return func() { cancel(); wg.Wait() }
}

// startWindow completes pos, the position that starts window n (taken
// from the windows ahead as a, when a has a window), with a's report, and
// logs and records the rows the history limit cut off before it.
func (e *eventRunner) startWindow(pos checkpoint.Position, n Planned, a checkpoint.Ahead) checkpoint.Position {
	pos.ReportID, pos.Submits = a.ReportID, a.Submits
	if !n.Lost.Start.IsZero() {
		e.logger.Warn("rows lost: the 15-month limit of Freshchat's raw reports passed where the event goes on; it goes on from the earliest instant served",
			"event", e.event, "lost_from", n.Lost.Start.UTC().Format(time.RFC3339Nano), "lost_to", n.Lost.End.UTC().Format(time.RFC3339Nano),
			"lost", n.Lost.End.Sub(n.Lost.Start).Round(time.Second).String())
		pos.CoveredFrom = pos.WindowStart
	}
	return pos
}
