// Package reset moves a unit's checkpoint so that the unit's next run
// starts at a given time, safely: it refuses while a running connector
// holds the transactional identity (the reset's producer would fence it),
// says what the move rewinds or skips before anything is written, and
// commits the new position in a transaction of the unit's own
// transactional producer, as the pipeline would.
package reset

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/connect"
	"github.com/freshstream/freshchat-kafka/instance"
	"github.com/freshstream/freshchat-kafka/sink"
	"github.com/freshstream/freshchat-kafka/status"
	"github.com/freshstream/freshchat-kafka/termview"
)

// Plan is a reset Prepare found safe to make. Nothing is written until
// Apply; Close releases its Kafka client either way.
type Plan struct {
	// Unit is the unit's checkpoint key (checkpoint.UnitKey).
	Unit string
	// Target is where the unit's next run starts once the plan is applied.
	Target time.Time

	cfg    *config.Config
	acct   config.Account
	event  string
	logger *slog.Logger
	watch  *connect.SecurityWatch
	cl     *kgo.Client
	adm    *kadm.Client
	old    checkpoint.Position // the committed position, if had
	had    bool
}

// HeldError is Prepare's refusal: running connectors hold the
// transactional identity, and the reset's producer would fence them.
type HeldError struct {
	Unit           string            // the unit that was to be reset
	Prefix         string            // kafka.transactional_id, also the group's name
	Holders        []instance.Holder // the running members of the group
	SessionTimeout time.Duration     // group.session_timeout
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("refusing to reset %s while a connector holds transactional identity %s (resetting would fence it): stop every instance first; a connector that was killed is dropped from group %s within group.session_timeout (%s)",
		e.Unit, e.Prefix, e.Prefix, e.SessionTimeout)
}

// Running says who holds the identity, in one line for the operator.
func (e *HeldError) Running() string {
	return fmt.Sprintf("A connector with transactional ID prefix %s is running: %s", e.Prefix, status.DescribeHolders(e.Holders))
}

// Prepare plans moving event of account acct to target: it refuses with a
// *HeldError while a connector of cfg's group runs, and otherwise reads
// the unit's committed position. When the group cannot be read, its error
// says that nothing was reset. logger, which may be nil, receives the
// records of the checkpoint store and the producer Apply uses.
func Prepare(ctx context.Context, cfg *config.Config, acct config.Account, event string, target time.Time, logger *slog.Logger) (*Plan, error) {
	p := &Plan{
		Unit: checkpoint.UnitKey(acct.Name, event), Target: target,
		cfg: cfg, acct: acct, event: event, logger: logger,
		watch: connect.NewSecurityWatch(cfg.Kafka.SASL, nil),
	}
	var err error
	if p.cl, p.adm, err = connect.Admin(cfg.Kafka, p.watch); err != nil {
		return nil, err
	}
	if p.old, p.had, err = p.current(ctx); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// current refuses with a *HeldError while a connector of the group runs,
// and otherwise reads the unit's committed position.
func (p *Plan) current(ctx context.Context) (checkpoint.Position, bool, error) {
	prefix := p.cfg.Kafka.TransactionalID
	holders, err := instance.Holders(ctx, p.adm, prefix)
	if err != nil {
		return checkpoint.Position{}, false, fmt.Errorf("cannot tell whether a connector is running, so nothing was reset: %w", p.watch.Explain(err))
	}
	if len(holders) > 0 {
		return checkpoint.Position{}, false, &HeldError{Unit: p.Unit, Prefix: prefix, Holders: holders, SessionTimeout: p.cfg.Group.SessionTimeout}
	}
	positions, err := connect.LoadPositions(ctx, p.cfg.Kafka, p.watch)
	if err != nil {
		return checkpoint.Position{}, false, p.watch.Explain(err)
	}
	pos, had := positions[p.Unit]
	return pos, had, nil
}

// Close releases the plan's Kafka client.
func (p *Plan) Close() { p.cl.Close() }

// transactionalID is the unit's own transactional producer's.
func (p *Plan) transactionalID() string { return p.cfg.Kafka.TransactionalID + "-" + p.Unit }

// Describe says what Apply would do: the unit's topic and producer, its old
// and new positions, and the rows a rewind produces again or a
// fast-forward never produces.
func (p *Plan) Describe() string {
	var b strings.Builder
	t := termview.Time(p.Target)
	fmt.Fprintf(&b, "Event %s (topic %s, transactional ID %s)\n", p.Unit, p.acct.Topic(p.event), p.transactionalID())
	fmt.Fprintf(&b, "  old: %s\n", p.describe(p.old, p.had))
	fmt.Fprintf(&b, "  new: [%s, %s) done: the next run starts at %s\n", t, t, t)
	from := p.acct.Start
	if p.had {
		from = p.old.Next()
	}
	switch {
	case p.Target.Before(from) && !p.had:
		fmt.Fprintf(&b, "  earlier start: rows created from %s to %s, before the configured start, will be extracted too\n", t, termview.Time(from))
	case p.Target.Before(from):
		fmt.Fprintf(&b, "  rewind: rows created from %s to %s will be produced again; consumers see them twice\n", t, termview.Time(from))
	case p.Target.After(from):
		fmt.Fprintf(&b, "  fast-forward: rows created from %s to %s will never be produced\n", termview.Time(from), t)
	}
	return b.String()
}

// Apply commits the position {window [Target, Target), done} (see
// checkpoint.ResetTo) in a transaction of the unit's transactional
// producer, which fences any producer of that ID, creating the checkpoint
// topic if it is missing. It reads the position back and returns a line
// that says where the unit was and where it is now.
//
// The operator may take minutes to agree, so Apply first checks again what
// Prepare found: it refuses with a *HeldError when a connector started
// meanwhile, and refuses when the unit's checkpoint moved meanwhile (a
// connector ran, or another reset); nothing is written then.
func (p *Plan) Apply(ctx context.Context) (string, error) {
	now, had, err := p.current(ctx)
	if err != nil {
		return "", err
	}
	if had != p.had || !reflect.DeepEqual(now, p.old) {
		return "", fmt.Errorf("the checkpoint of %s moved while the reset waited: it was %s, it is now %s; nothing was written: run reset again to see the move from where it stands",
			p.Unit, p.describe(p.old, p.had), p.describe(now, had))
	}
	store := checkpoint.NewStore(p.cfg.Kafka.CheckpointTopic, p.logger, connect.KafkaOptions(p.cfg.Kafka, p.watch)...)
	store.SetTopicConfig(p.cfg.Kafka.TopicConfig)
	if err := store.Ensure(ctx, p.adm, p.cfg.Kafka.ReplicationFactor); err != nil {
		return "", p.watch.Explain(err)
	}
	pos := checkpoint.ResetTo(p.event, p.Target, p.old, p.had, time.Now())
	if p.acct.Name != checkpoint.DefaultAccount {
		pos.Account = p.acct.Name
	}
	rec, err := store.Record(pos)
	if err != nil {
		return "", err
	}
	if err := p.commit(ctx, rec); err != nil {
		return "", p.watch.Explain(err)
	}
	positions, err := connect.LoadPositions(ctx, p.cfg.Kafka, p.watch)
	if err != nil {
		return "", fmt.Errorf("the reset was committed, but reading it back failed: %w", p.watch.Explain(err))
	}
	return fmt.Sprintf("Reset %s: was %s; now %s", p.Unit, p.describe(p.old, p.had), p.describe(positions[p.Unit], true)), nil
}

// commit writes rec in a transaction of the unit's transactional producer.
func (p *Plan) commit(ctx context.Context, rec *kgo.Record) (err error) {
	w, err := sink.NewWriter(ctx, sink.WriterConfig{
		TransactionalID:    p.transactionalID(),
		TransactionTimeout: p.cfg.Kafka.TransactionTimeout,
		Logger:             p.logger,
	}, connect.KafkaOptions(p.cfg.Kafka, p.watch)...)
	if err != nil {
		return err
	}
	defer func() {
		// After a failed commit, Close aborts what is open: a failed abort
		// is said too (the broker aborts it after the transaction timeout).
		if cerr := w.Close(context.WithoutCancel(ctx)); cerr != nil {
			err = errors.Join(err, fmt.Errorf("aborting the reset's transaction: %w", cerr))
		}
	}()
	if err := w.Begin(); err != nil {
		return err
	}
	if err := w.Commit(ctx, rec); err != nil {
		return fmt.Errorf("committing the checkpoint: %w", err)
	}
	return nil
}

// describe says where a unit stands (had: it has a position) and where its
// next run starts.
func (p *Plan) describe(pos checkpoint.Position, had bool) string {
	if !had {
		return fmt.Sprintf("no checkpoint: the next run starts at the configured start %s", termview.Time(p.acct.Start))
	}
	return fmt.Sprintf("%s: the next run starts at %s", status.DescribePosition(pos), termview.Time(pos.Next()))
}
