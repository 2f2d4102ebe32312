// Package sink writes records to Kafka in transactions.
//
// A Writer owns one transactional producer. The connector gives each event
// its own Writer (transactional ID "<prefix>-<event>"), so events commit
// independently and a second instance of the connector fences the first
// event by event. Rows of a chunk and the checkpoint record that accounts for
// them are committed together by Commit.
package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/internal/ctxsleep"
)

// ErrFenced means another producer with the same transactional ID has taken
// over: another instance of the connector runs with the same identity. A
// fenced Writer never writes again.
var ErrFenced = errors.New("fenced: another connector instance with the same transactional ID took over")

// TimeoutError means the broker aborted the open transaction because it
// stayed open longer than the transaction timeout, and bumped the producer
// epoch doing so. It looks like fencing on the wire (an epoch error), but
// nobody else took over: a new producer with the same transactional ID can
// go on from the last commit.
type TimeoutError struct {
	TransactionalID string
	// Open is how long the transaction had been open when the error came.
	Open    time.Duration
	Timeout time.Duration
	Err     error
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("transaction of %s aborted by the broker: it was open %s, longer than the transaction timeout %s: %v",
		e.TransactionalID, e.Open.Round(time.Millisecond), e.Timeout, e.Err)
}

func (e *TimeoutError) Unwrap() error { return e.Err }

// WriterConfig configures a Writer.
type WriterConfig struct {
	// TransactionalID identifies the producer across restarts.
	TransactionalID string
	// TransactionTimeout is how long the broker lets a transaction stay open
	// before aborting it.
	TransactionTimeout time.Duration
	// Logger receives lifecycle messages.
	Logger *slog.Logger
}

// Writer is a transactional producer. Its methods must be called from one
// goroutine, in the order Begin, Produce..., Commit (or Abort).
type Writer struct {
	cl     *kgo.Client
	id     string
	logger *slog.Logger

	timeout time.Duration
	now     func() time.Time

	mu       sync.Mutex
	firstErr error // first failed produce of the open transaction
	inTxn    bool
	begun    time.Time // when the open transaction began
	fenced   bool
	promise  func(*kgo.Record, error)

	// topics written in the open transaction; only the writer's goroutine
	// touches them (see Writer).
	topics    map[string]struct{}
	lastTopic string
}

// partitionViewWait bounds AwaitPartitions.
const partitionViewWait = 10 * time.Second

// NewWriter connects a transactional producer and initialises its producer
// ID, which fences any earlier producer with the same transactional ID and
// aborts its open transaction. opts are the cluster's connection options.
func NewWriter(ctx context.Context, cfg WriterConfig, opts ...kgo.Opt) (*Writer, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	all := append(append([]kgo.Opt{}, opts...),
		kgo.TransactionalID(cfg.TransactionalID),
		kgo.TransactionTimeout(cfg.TransactionTimeout),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.ProducerLinger(5*time.Millisecond),
		kgo.MaxBufferedRecords(50_000),
	)
	cl, err := kgo.NewClient(all...)
	if err != nil {
		return nil, fmt.Errorf("transactional producer %s: %w", cfg.TransactionalID, err)
	}
	w := &Writer{cl: cl, id: cfg.TransactionalID, logger: cfg.Logger, timeout: cfg.TransactionTimeout, now: time.Now}
	w.promise = w.onProduced
	if _, _, err := cl.ProducerID(ctx); err != nil {
		cl.Close()
		return nil, w.classify(fmt.Errorf("initialising transactional producer %s: %w", cfg.TransactionalID, err))
	}
	return w, nil
}

// Client exposes the underlying client, for metrics hooks and tests.
func (w *Writer) Client() *kgo.Client { return w.cl }

// Begin opens a transaction.
func (w *Writer) Begin() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fenced {
		return ErrFenced
	}
	if err := w.cl.BeginTransaction(); err != nil {
		return w.classify(fmt.Errorf("beginning transaction: %w", err))
	}
	w.inTxn, w.firstErr, w.begun = true, nil, w.now()
	clear(w.topics)
	w.lastTopic = ""
	return nil
}

// OpenFor is how long the open transaction has been open (0 if none).
func (w *Writer) OpenFor() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.inTxn {
		return 0
	}
	return w.now().Sub(w.begun)
}

// Produce buffers rec in the open transaction. It returns at once (or when
// the client's buffer has room); a failure is reported by Commit.
func (w *Writer) Produce(ctx context.Context, rec *kgo.Record) {
	if rec.Topic != w.lastTopic {
		if w.topics == nil {
			w.topics = make(map[string]struct{})
		}
		w.topics[rec.Topic] = struct{}{}
		w.lastTopic = rec.Topic
	}
	w.cl.Produce(ctx, rec, w.promise)
}

func (w *Writer) onProduced(r *kgo.Record, err error) {
	if err == nil {
		return
	}
	w.mu.Lock()
	if w.firstErr == nil {
		w.firstErr = fmt.Errorf("producing to %s: %w", r.Topic, err)
	}
	w.mu.Unlock()
}

// Commit produces the checkpoint record, waits for every record of the
// transaction to be acknowledged and commits. If anything failed, the
// transaction is aborted and the error returned: none of its records
// become visible to read_committed consumers.
func (w *Writer) Commit(ctx context.Context, checkpoint *kgo.Record) error {
	if checkpoint != nil {
		w.Produce(ctx, checkpoint)
	}
	if err := w.cl.Flush(ctx); err != nil {
		return errors.Join(fmt.Errorf("flushing transaction: %w", err), w.Abort(context.WithoutCancel(ctx)))
	}
	w.mu.Lock()
	perr := w.firstErr
	w.mu.Unlock()
	if perr != nil {
		return errors.Join(w.classify(perr), w.Abort(context.WithoutCancel(ctx)))
	}
	// Not cut short by a cancelled context either: it normally takes
	// microseconds, and giving up aborts the window.
	if err := AwaitPartitions(context.WithoutCancel(ctx), w.cl, slices.Collect(maps.Keys(w.topics))...); err != nil {
		return errors.Join(fmt.Errorf("committing transaction: %w; the transaction is aborted and its records go again", err),
			w.Abort(context.WithoutCancel(ctx)))
	}
	// The commit must not be cut short by a cancelled context: its outcome
	// would be unknown (see kgo.Client.EndTransaction).
	endCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := w.cl.EndTransaction(endCtx, kgo.TryCommit); err != nil {
		cerr := w.classify(fmt.Errorf("committing transaction: %w", err))
		return errors.Join(cerr, w.Abort(endCtx))
	}
	w.mu.Lock()
	w.inTxn = false
	w.mu.Unlock()
	return nil
}

// AwaitPartitions waits until cl lists the partitions of every topic given,
// as EndTransaction sees them. Call it between the flush and the commit of
// a transaction that wrote to topics; Writer.Commit does.
//
// kgo (v1.22.3) holds a client's first records to a topic until the
// topic's metadata arrives; its metadata goroutine then hands them to the
// partitions' buffers and only afterwards stores the partitions where
// EndTransaction looks for the partitions of the transaction. When the
// records are acknowledged before that store, a commit right after the
// flush finds no partition in the transaction, and returns nil having
// aborted it (KIP-890 brokers) or having left it open for the broker to
// abort at its timeout (older ones). Every writer's first transaction
// writes to topics new to its client, so a window counted as committed
// would be lost. Once the records are acknowledged only that store is
// missing, and it normally comes within microseconds.
//
// AwaitPartitions gives up after partitionViewWait, or when ctx ends,
// naming the topic: do not commit then, abort.
func AwaitPartitions(ctx context.Context, cl *kgo.Client, topics ...string) error {
	ctx, cancel := context.WithTimeout(ctx, partitionViewWait)
	defer cancel()
	for _, topic := range topics {
		for {
			// Before the store, the topic has no partition and no
			// load error: partition 0 has leader -1 and error nil.
			leader, _, err := cl.PartitionLeader(topic, 0)
			if leader >= 0 || err != nil {
				break
			}
			if ctxsleep.For(ctx, time.Millisecond) != nil {
				return fmt.Errorf("the client did not list the partitions of %s within %s after its records were acknowledged", topic, partitionViewWait)
			}
		}
	}
	return nil
}

// Abort drops the buffered records and aborts the open transaction, if any.
func (w *Writer) Abort(ctx context.Context) error {
	w.mu.Lock()
	fenced := w.fenced
	w.inTxn = false
	w.mu.Unlock()
	if fenced {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := w.cl.AbortBufferedRecords(ctx); err != nil {
		return w.classify(fmt.Errorf("aborting buffered records: %w", err))
	}
	if err := w.cl.EndTransaction(ctx, kgo.TryAbort); err != nil {
		return w.classify(fmt.Errorf("aborting transaction: %w", err))
	}
	return nil
}

// Close aborts an open transaction and closes the client. It never leaves
// a transaction open on the broker when it can reach it.
func (w *Writer) Close(ctx context.Context) error {
	w.mu.Lock()
	open := w.inTxn
	w.mu.Unlock()
	var err error
	if open {
		err = w.Abort(ctx)
	}
	w.cl.Close()
	return err
}

// classify turns fencing errors into ErrFenced and remembers the state,
// except for an epoch error on a transaction open longer than the
// transaction timeout: the broker aborted it and bumped the epoch itself,
// so it becomes a *TimeoutError and the writer is not marked fenced. (A
// broker measures the timeout from the transaction's first write, which is
// never before Begin: a transaction open for less than the timeout was not
// aborted by it.)
func (w *Writer) classify(err error) error {
	if IsFenced(err) && w.timeout > 0 {
		w.mu.Lock()
		open := time.Duration(0)
		if !w.begun.IsZero() {
			open = w.now().Sub(w.begun)
		}
		w.mu.Unlock()
		if open >= w.timeout {
			return &TimeoutError{TransactionalID: w.id, Open: open, Timeout: w.timeout, Err: err}
		}
	}
	if IsFenced(err) {
		w.mu.Lock()
		w.fenced = true
		w.mu.Unlock()
		w.logger.Error("producer fenced: another instance with the same transactional ID is running; this one stops writing",
			"transactional_id", w.id)
		return fmt.Errorf("%w (transactional ID %s): %w", ErrFenced, w.id, err)
	}
	return err
}

// IsFenced reports whether err means the producer was fenced. Besides the
// fencing codes proper, INVALID_TXN_STATE counts: a Writer runs one
// transaction at a time from one goroutine, so the coordinator finds its
// transaction in another state only when a newer producer with the same ID
// has ended it (brokers with KIP-890 answer a fenced EndTxn that way).
func IsFenced(err error) bool {
	var te *TimeoutError
	if errors.As(err, &te) {
		return false
	}
	return errors.Is(err, ErrFenced) ||
		errors.Is(err, kerr.ProducerFenced) ||
		errors.Is(err, kerr.InvalidProducerEpoch) ||
		errors.Is(err, kerr.InvalidTxnState)
}
