// Package pipeline moves Freshchat raw report rows into Kafka, exactly once.
//
// Every event walks forward over consecutive windows. For each window the
// pipeline obtains a completed report from the source, streams its rows,
// converts each to the event's Avro record and produces it to the event's
// topic. Rows are committed in bounded chunks: each chunk and the checkpoint
// that says "done up to here" commit in one Kafka transaction, so after any
// crash the connector resumes right after the last committed row.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/instance"
	"github.com/freshstream/freshchat-kafka/internal/ctxsleep"
	"github.com/freshstream/freshchat-kafka/schemas"
	"github.com/freshstream/freshchat-kafka/sink"
	"github.com/freshstream/freshchat-kafka/source"
)

// Options configure a Pipeline. All fields are required unless marked.
type Options struct {
	// Events to extract, by canonical name.
	Events []string
	// Start is where an event without a checkpoint begins.
	Start time.Time
	// From, in a bounded run given one (--from), is the first instant the
	// run must extract: events without a checkpoint begin there instead of
	// at Start, and events with one must not need to skip rows to reach it
	// (see RangeError). Optional: zero continues every event from its
	// checkpoint.
	From time.Time
	// Planner shapes the windows; Planner.To set means a bounded run. A nil
	// Planner.Earliest takes each account's source's
	// (source.Client.EarliestAt).
	Planner Planner
	// ReportsAhead is how many reports each event submits ahead of the
	// window it reads (0: none), so that their generation overlaps reading.
	// Optional.
	ReportsAhead int
	// Concurrency is how many events read a report at the same time; the
	// others may be waiting for theirs to be generated meanwhile.
	Concurrency int
	// Limits bound each transaction.
	Limits Limits
	// Topic names the topic of an event.
	Topic func(event string) string
	// CheckpointTopic is the compacted topic holding positions.
	CheckpointTopic string
	// TransactionalID is the prefix of every event's transactional ID.
	TransactionalID string
	// TransactionTimeout is the broker-side limit of a transaction.
	TransactionTimeout time.Duration
	// Partitions and ReplicationFactor are used for topics created here
	// (-1: the broker's defaults).
	Partitions        int32
	ReplicationFactor int16
	// TopicConfig holds topic-level configs (retention.ms, ...) for the
	// event and dead-letter topics created here; nil: the brokers' defaults.
	TopicConfig map[string]string
	// Kafka are the cluster's connection options (seed brokers, TLS, SASL).
	Kafka []kgo.Opt
	// Registry, when set, registers schemas and frames values in the
	// Confluent wire format; otherwise values use Avro single-object encoding.
	Registry *sr.Client
	// Source reads reports.
	Source *source.Client
	// Logger receives progress and problems. Optional.
	Logger *slog.Logger
	// Now is the clock. Optional.
	Now func() time.Time
	// ProgressInterval is how often backfill progress is logged (default 30s).
	ProgressInterval time.Duration
	// DeadLetterTopic receives rows that cannot be converted, for events
	// whose policy is PolicyDLQ.
	DeadLetterTopic string
	// Policy says what to do with a row an event's schema cannot hold.
	// Nil means PolicyDLQ for every event.
	Policy func(event string) Policy
	// ConnectTimeout bounds how long New waits for unreachable brokers;
	// zero waits until ctx ends.
	ConnectTimeout time.Duration
	// Retry paces the extraction of a window again after it failed for a
	// reason worth retrying (Kafka or Freshchat unavailable). Zero values
	// take defaults: 1s doubling to 1m.
	Retry Backoff
	// Observer, when set, is told about commits, aborts, report waits and
	// idle periods (metrics and readiness).
	Observer Observer
	// OnWindow, when set, is called after every committed window, from the
	// event's goroutine. It must not block for long.
	OnWindow func(WindowDone)
	// Accounts, when set, are the Freshchat accounts to extract, each with
	// its own source, events, start, window and topics; Events, Start,
	// Topic and Source are then ignored. Unset: one account named
	// checkpoint.DefaultAccount, made of those fields.
	Accounts []Account
	// Group, when set, shares the units among the running instances of the
	// connector (package instance): Run extracts only the units the group
	// assigns to this instance, starting each one's producer (which fences
	// its previous owner) before it reads the unit's checkpoint. Group,
	// InstanceID, Host and SessionTimeout must be set; the pipeline fills
	// in the topic (CheckpointTopic + ".units" when empty), the manifest
	// and the logger. Unset: this instance extracts every unit, and New
	// starts every producer.
	Group *instance.Config
	// OnUnits, when set, is told in group mode which units this instance
	// owns after each change, and which it gained and lost. It must not
	// block for long.
	OnUnits func(owned, gained, lost []string)
	// Others, when set, names another running instance of the connector
	// with the same transactional ID prefix, or "" when there is none. An
	// event asks it before it starts a new producer to recover from a
	// failure (see eventRunner.reopen): if another instance runs, the
	// failure was fencing and this instance stops with ErrFenced instead of
	// fencing the other in turn. Optional.
	Others func(ctx context.Context) (string, error)
}

// Account is one Freshchat account's share of the work: a unit of work is
// one event of one account.
type Account struct {
	// Name is the account's name (checkpoint.DefaultAccount for a
	// single-account configuration, whose units keep their pre-account
	// checkpoint keys and transactional IDs).
	Name string
	// Source reads the account's reports.
	Source *source.Client
	// Events to extract, by canonical name.
	Events []string
	// Start is where an event without a checkpoint begins.
	Start time.Time
	// Window, when set, replaces Planner.Window for the account.
	Window time.Duration
	// Topic names the topic of an event.
	Topic func(event string) string
}

// accounts are the options' accounts: Accounts, or the default one.
func (o Options) accounts() []Account {
	if len(o.Accounts) > 0 {
		return o.Accounts
	}
	return []Account{{Name: checkpoint.DefaultAccount, Source: o.Source, Events: o.Events, Start: o.Start, Topic: o.Topic}}
}

// AccountObserver, when the Observer implements it too, is told when an
// account's token is refused (its units stop; the others go on).
type AccountObserver interface {
	AccountFailed(account string, err error)
}

// Observer is told what the pipeline does, at chunk and window granularity
// (never per row). Implementations must be safe for concurrent use by the
// events' goroutines and must not block.
type Observer interface {
	// ChunkCommitted: a transaction with rows committed.
	ChunkCommitted(event string, read, produced, deadLettered int64)
	// CheckpointCommitted: a transaction holding only a checkpoint committed.
	CheckpointCommitted(event string)
	// TransactionAborted: a transaction was aborted (or failed to commit).
	TransactionAborted(event string)
	// TransactionEnded: a transaction ended (committed or not) after it was
	// open for the duration given.
	TransactionEnded(event string, open time.Duration)
	// ReportReady: a submitted report completed after waited.
	ReportReady(event string, waited time.Duration)
	// Waiting: the event is idle until the next live window settles.
	Waiting(event string, until time.Time)
	// Done: the event reached the end of the bounded range.
	Done(event string)
	// EventFailed: a window of the event failed with err; the event
	// resumes from its last commit after a pause, or, when retrying
	// cannot help, the run ends with err. Not called when the run is
	// stopped.
	EventFailed(event string, err error)
}

type nopObserver struct{}

func (nopObserver) ChunkCommitted(string, int64, int64, int64) {}
func (nopObserver) CheckpointCommitted(string)                 {}
func (nopObserver) TransactionAborted(string)                  {}
func (nopObserver) TransactionEnded(string, time.Duration)     {}
func (nopObserver) ReportReady(string, time.Duration)          {}
func (nopObserver) Waiting(string, time.Time)                  {}
func (nopObserver) Done(string)                                {}
func (nopObserver) EventFailed(string, error)                  {}

// Policy is what happens to a row that cannot be converted.
type Policy string

const (
	// PolicyDLQ writes the row, with its cause, to the dead-letter topic in
	// the same transaction as the good rows of its chunk, and goes on.
	PolicyDLQ Policy = "dlq"
	// PolicyFail stops the connector; nothing of the row's chunk is committed.
	PolicyFail Policy = "fail"
)

// WindowDone describes a window whose rows are all committed.
type WindowDone struct {
	Unit     string // the unit key (checkpoint.UnitKey)
	Account  string
	Event    string
	Topic    string
	Window   source.Window
	ReportID string
	Rows     int64 // rows of the window's report
	Produced int64 // records produced for the window
	// DeadLettered counts the window's rows sent to the dead-letter topic.
	DeadLettered int64
	Took         time.Duration
}

// Pipeline is a ready-to-run connector: topics exist, producers are
// initialised (fencing earlier instances) and positions are loaded.
type Pipeline struct {
	opts      Options
	logger    *slog.Logger
	store     *checkpoint.Store
	runners   []*eventRunner
	positions map[string]checkpoint.Position
	framing   string

	member atomic.Pointer[instance.Member] // group mode, while Run runs
	active activeSet                       // the units running here
}

// New prepares a pipeline: it creates missing topics, registers schemas
// (when a registry is configured), starts one transactional producer per
// event, and then reads the committed positions.
func New(ctx context.Context, o Options) (*Pipeline, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ProgressInterval <= 0 {
		o.ProgressInterval = 30 * time.Second
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 1
	}
	o.Retry = o.Retry.withDefaults()
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	if o.Policy == nil {
		o.Policy = func(string) Policy { return PolicyDLQ }
	}
	p := &Pipeline{opts: o, logger: o.Logger}

	admCl, err := kgo.NewClient(o.Kafka...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)
	if err := waitForKafka(ctx, adm, o); err != nil {
		return nil, err
	}
	if err := sink.CheckTransactions(ctx, adm); err != nil {
		return nil, err
	}

	accounts := o.accounts()
	var topics []string
	schemaOf := make(map[string]*schemas.Schema)
	for _, a := range accounts {
		for _, ev := range a.Events {
			if _, seen := schemaOf[ev]; !seen {
				s, err := schemas.Lookup(ev)
				switch {
				case errors.Is(err, schemas.ErrUnknownEvent):
					o.Logger.Info("no schema is known for this event: it is derived from the report header and grows as columns appear", "event", ev)
				case err != nil:
					return nil, err
				}
				schemaOf[ev] = s
			}
			topics = append(topics, a.Topic(ev))
			if o.Policy(ev) == PolicyDLQ && o.DeadLetterTopic != "" && !slices.Contains(topics, o.DeadLetterTopic) {
				topics = append(topics, o.DeadLetterTopic)
			}
		}
	}
	if o.Group != nil {
		// A configuration the running instances would refuse creates
		// nothing: no topic, no partition.
		if err := p.checkGroup(ctx, adm, accounts); err != nil {
			return nil, err
		}
	}
	if err := sink.EnsureTopicsWithConfig(ctx, adm, o.Logger, o.Partitions, o.ReplicationFactor, o.TopicConfig, topics...); err != nil {
		return nil, err
	}
	p.store = checkpoint.NewStore(o.CheckpointTopic, o.Logger, o.Kafka...)
	p.store.SetTopicConfig(o.TopicConfig)
	// A transaction open on the checkpoint topic ends within the
	// transaction timeout: the broker aborts it then.
	p.store.SetWait(o.TransactionTimeout + 30*time.Second)
	if err := p.store.Ensure(ctx, adm, o.ReplicationFactor); err != nil {
		return nil, err
	}

	var framer sink.Framer = sink.SingleObject{}
	if o.Registry != nil {
		framer = sink.Confluent{Client: o.Registry, Logger: o.Logger}
	}
	p.framing = framer.Name()

	sem := make(chan struct{}, o.Concurrency)
	for _, a := range accounts {
		start := a.Start
		if !o.From.IsZero() && !o.Planner.To.IsZero() {
			start = o.From
		}
		planner := o.Planner
		if a.Window > 0 {
			planner.Window = a.Window
		}
		if planner.Earliest == nil && a.Source != nil {
			planner.Earliest = a.Source.EarliestAt
		}
		posAccount, logger := a.Name, o.Logger.With("account", a.Name)
		if a.Name == checkpoint.DefaultAccount {
			posAccount, logger = "", o.Logger
		}
		for _, ev := range a.Events {
			s, topic, key := schemaOf[ev], a.Topic(ev), checkpoint.UnitKey(a.Name, ev)
			var prefix []byte
			if s != nil {
				if prefix, err = framer.Prefix(ctx, topic, s.Text, s.Fingerprint); err != nil {
					p.Close(ctx)
					return nil, fmt.Errorf("event %s: %w", key, err)
				}
			}
			newWriter := func(ctx context.Context) (*sink.Writer, error) {
				return sink.NewWriter(ctx, sink.WriterConfig{
					TransactionalID:    o.TransactionalID + "-" + key,
					TransactionTimeout: o.TransactionTimeout,
					Logger:             logger,
				}, o.Kafka...)
			}
			p.runners = append(p.runners, &eventRunner{
				event: ev, key: key, account: a.Name, posAccount: posAccount,
				topic: topic, schema: s, prefix: prefix, initialSchema: s, initialPrefix: prefix,
				src: a.Source, store: p.store, planner: planner,
				queue: newWindowQueue(ev, planner, a.Source, logger, o.Now, o.ReportsAhead),
				start: start, limits: o.Limits, sem: sem, now: o.Now,
				logger: logger, warnedCols: map[string]bool{}, onWindow: o.OnWindow,
				policy: policyFor(o, ev), deadLetterTopic: o.DeadLetterTopic,
				newWriter: newWriter, retry: o.Retry, obs: o.Observer,
				derived: s == nil, framer: framer, others: o.Others,
				stats: &eventStats{event: key, startedAt: o.Now()},
			})
		}
	}
	if o.Group != nil {
		// Each unit starts its producer when the group assigns it; the
		// positions read now only say where the units stand.
		if p.positions, err = p.store.Load(ctx); err != nil {
			return nil, err
		}
		// A bounded range is the group's (instances resolve a relative
		// one a moment apart): each unit is checked against it when
		// taken over.
		if o.Planner.To.IsZero() {
			if err := checkResume(o, p.runners, p.positions, o.Now()); err != nil {
				return nil, err
			}
		}
		return p, nil
	}
	for _, r := range p.runners {
		if r.writer, err = r.newWriter(ctx); err != nil {
			p.Close(ctx)
			return nil, fmt.Errorf("event %s: %w", r.key, err)
		}
	}

	// Positions are read only now that every producer has its ID: any
	// earlier instance is fenced and its open transactions are aborted, so
	// nothing can commit behind the positions read here.
	p.positions, err = p.store.Load(ctx)
	if err != nil {
		p.Close(ctx)
		return nil, err
	}
	if err := checkResume(o, p.runners, p.positions, o.Now()); err != nil {
		p.Close(ctx)
		return nil, err
	}
	for _, r := range p.runners {
		if err := r.restoreDerived(ctx, p.positions[r.key].Columns); err != nil {
			p.Close(ctx)
			return nil, err
		}
	}
	return p, nil
}

// waitForKafka asks the cluster for its metadata until it answers,
// pausing between attempts, so that a connector started before its brokers
// (or during an outage) waits for them instead of failing.
func waitForKafka(ctx context.Context, adm *kadm.Client, o Options) error {
	if o.ConnectTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.ConnectTimeout)
		defer cancel()
	}
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, 15*time.Second)
		_, err := adm.BrokerMetadata(actx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("kafka brokers unreachable (gave up after %d attempts): %w; check kafka.brokers (KAFKA_BROKERS), the network and the brokers' health", attempt, err)
		}
		delay := o.Retry.delay(attempt)
		o.Logger.Warn("kafka brokers unreachable; retrying", "error", err.Error(), "attempt", attempt, "retry_in", delay.Round(time.Millisecond).String())
		if err := ctxsleep.For(ctx, delay); err != nil {
			return fmt.Errorf("kafka brokers unreachable (gave up after %d attempts): %w; check kafka.brokers (KAFKA_BROKERS), the network and the brokers' health", attempt, err)
		}
	}
}

// policyFor is the event's policy; dead letters need a topic.
func policyFor(o Options, event string) Policy {
	if o.Policy(event) == PolicyDLQ && o.DeadLetterTopic != "" {
		return PolicyDLQ
	}
	return PolicyFail
}

// Positions returns the committed positions read at start.
func (p *Pipeline) Positions() map[string]checkpoint.Position { return p.positions }

// Committed returns every event's newest committed position known to this
// process: the one it committed last, else the one read at start (zero
// for an event with none). Safe to call while Run runs.
func (p *Pipeline) Committed() map[string]checkpoint.Position {
	out := make(map[string]checkpoint.Position, len(p.runners))
	for _, r := range p.runners {
		pos := r.stats.lastCommitted()
		if pos.IsZero() {
			pos = p.positions[r.key]
		}
		out[r.key] = pos
	}
	return out
}

// Framing names the value framing in use.
func (p *Pipeline) Framing() string { return p.framing }

// Run extracts every event until ctx ends (live mode) or every event has
// reached the end of the bounded range. The first failing event stops the
// others; its error is returned. A cancelled ctx returns ctx.Err() after
// every open transaction has been aborted.
func (p *Pipeline) Run(ctx context.Context) error {
	if p.opts.Group != nil {
		return p.runGroup(ctx)
	}
	// The events run under a context of their own: when one fails, the
	// others are stopped with errStopped, never with its error, so that
	// none of them reports the failure as its own.
	ectx, stop := context.WithCancelCause(ctx)
	defer stop(nil)

	var wg sync.WaitGroup
	errs := make([]error, len(p.runners))
	for i, r := range p.runners {
		pos := p.positions[r.key]
		if !pos.IsZero() {
			r.logger.Info("resuming from checkpoint", "event", r.event,
				"window", source.Window{Start: pos.WindowStart, End: pos.WindowEnd}.String(),
				"done", pos.Done, "rows", pos.Rows, "report", pos.ReportID)
		}
		r.committed = pos
		r.stats.setCommitted(pos)
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := r.run(ectx, pos)
			var stopped *stoppedError
			switch {
			case err == nil:
			case errors.As(context.Cause(ectx), &stopped) && stopped.event != r.key:
				r.logger.Info("event stopped: another event failed", "event", r.event, "failed_event", stopped.event)
			case ctx.Err() != nil:
				r.logger.Info("event stopped", "event", r.event)
			default:
				errs[i] = err
				stop(&stoppedError{event: r.key})
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	p.reportProgress(done)

	if err := errors.Join(errs...); err != nil {
		return err
	}
	return ctx.Err()
}

// stoppedError is the cause the events are stopped with when one of them
// failed. It does not wrap that event's error: the others must not take it
// for their own (a 404 of one event's report is not another's).
type stoppedError struct{ event string }

func (e *stoppedError) Error() string { return "stopped: event " + e.event + " failed" }

// reportProgress logs every event's progress at the configured interval
// until done is closed.
func (p *Pipeline) reportProgress(done <-chan struct{}) {
	t := time.NewTicker(p.opts.ProgressInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			p.logProgress()
			return
		case <-t.C:
			p.logProgress()
		}
	}
}

func (p *Pipeline) logProgress() {
	ps := p.Progress()
	for _, pr := range ps {
		p.logger.Info("progress", pr.logAttrs()...)
	}
	logBackfill(p.logger, ps)
}

// Progress returns every event's progress.
func (p *Pipeline) Progress() []Progress {
	now := p.opts.Now()
	target := p.opts.Planner.To
	if target.IsZero() {
		target = now.Add(-p.opts.Planner.Settle)
	}
	out := make([]Progress, 0, len(p.runners))
	for _, r := range p.runners {
		if p.isActive(r.key) {
			out = append(out, r.stats.snapshot(now, target, r.planner.Window))
		}
	}
	return p.estimate(out, target)
}

// Close aborts open transactions and closes every producer, all events at
// once. ctx bounds the wait: when it ends first (the brokers are
// unreachable, say), the producers still aborting are closed at once, and
// the error returned wraps ctx's cause and says that their transactions
// may still be open. Such a transaction is never committed: the broker
// aborts it when the next instance initialises a producer with the same
// transactional ID (fencing this one), or when its transaction timeout
// expires. Close must not be called while Run runs.
func (p *Pipeline) Close(ctx context.Context) error {
	// closeGrace is how long Close waits for the producers it closed
	// because ctx ended.
	const closeGrace = 2 * time.Second
	type result struct {
		event string
		err   error
	}
	results := make(chan result, len(p.runners))
	pending := make(map[string]*sink.Writer, len(p.runners))
	for _, r := range p.runners {
		if r.writer == nil {
			continue // a unit this instance never ran (group mode)
		}
		pending[r.key] = r.writer
		go func() { results <- result{r.key, r.writer.Close(ctx)} }()
	}
	var errs []error
	ended := ctx.Done()
	outOfTime := false
	var grace <-chan time.Time
	for len(pending) > 0 {
		select {
		case res := <-results:
			delete(pending, res.event)
			if res.err != nil {
				errs = append(errs, fmt.Errorf("event %s: %w", res.event, res.err))
			}
		case <-ended:
			// Out of time: closing a client ends its pending requests, so
			// the aborts still waiting for the brokers fail at once.
			ended, outOfTime = nil, true
			for _, w := range pending {
				go w.Client().Close()
			}
			t := time.NewTimer(closeGrace)
			defer t.Stop()
			grace = t.C
		case <-grace:
			for ev := range pending {
				errs = append(errs, fmt.Errorf("event %s: the producer did not close", ev))
			}
			clear(pending)
		}
	}
	if outOfTime && len(errs) > 0 {
		errs = append([]error{fmt.Errorf("aborting open transactions: %w", context.Cause(ctx))}, errs...)
	}
	return errors.Join(errs...)
}
