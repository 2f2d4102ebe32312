package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/instance"
	"github.com/freshstream/freshchat-kafka/sink"
	"github.com/freshstream/freshchat-kafka/source"
)

// unitCloseTimeout bounds the abort of a stopped unit's open transaction.
// A transaction the abort leaves open is aborted by the next owner's
// producer (it fences this one) or by the broker's transaction timeout.
const unitCloseTimeout = 8 * time.Second

// completionPoll is how often a bounded run in group mode that has no unit
// left to extract checks whether the other instances finished theirs.
const completionPoll = 2 * time.Second

// Units returns the unit keys of every configured unit, sorted: the units
// the group shares out (partition i of the coordination topic is Units()[i]).
func (p *Pipeline) Units() []string {
	out := make([]string, 0, len(p.runners))
	for _, r := range p.runners {
		out = append(out, r.key)
	}
	slices.Sort(out)
	return out
}

// Member is the instance's group membership while Run runs in group mode;
// nil otherwise.
func (p *Pipeline) Member() *instance.Member { return p.member.Load() }

// runGroup is Run in group mode: it joins the group and runs the units the
// group assigns until ctx ends, the membership fails, a unit fails for a
// reason no retry can fix, every account is refused, or (bounded) every
// unit of the configuration is extracted, by this instance or others.
func (p *Pipeline) runGroup(ctx context.Context) error {
	o := p.opts
	g := p.groupConfig(p.Units(), p.topics())
	if err := p.ensureGroupTopic(ctx, g); err != nil {
		return err
	}

	ectx, stop := context.WithCancel(ctx)
	defer stop()
	s := &scheduler{p: p, ctx: ectx, opts: o, span: g.Span, instanceID: g.InstanceID, running: map[string]*unitRun{},
		failedAccounts: map[string]error{}, finished: map[string]bool{},
		fatal: make(chan error, 1), changed: make(chan struct{}, 1)}
	for _, r := range p.runners {
		s.accounts = append(s.accounts, r.account)
	}
	s.accounts = slices.Compact(slices.Sorted(slices.Values(s.accounts)))
	p.setActive(nil)
	if o.OnUnits != nil {
		o.OnUnits(nil, nil, nil) // none until the group assigns some
	}
	m, err := instance.Join(g, s, o.Kafka...)
	if err != nil {
		return err
	}
	p.member.Store(m)
	p.logger.Info("joined the connector's group: waiting for units", "group", g.Group, "instance_id", g.InstanceID,
		"units", len(g.Manifest.Units), "session_timeout", g.SessionTimeout.String())

	progressDone := make(chan struct{})
	progressEnded := make(chan struct{})
	go func() { p.reportProgress(progressDone); close(progressEnded) }()

	var complete <-chan struct{}
	if !o.Planner.To.IsZero() {
		c := make(chan struct{})
		complete = c
		go s.watchCompletion(ectx, c)
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-m.Err():
	case runErr = <-s.fatal:
	case <-complete:
		p.logger.Info("every unit of the bounded range is committed", "units", len(g.Manifest.Units))
	}
	stop()
	s.stopAll()
	close(progressDone)
	<-progressEnded
	// Leaving moves this instance's units to the others at once; a static
	// member would otherwise keep them for a session timeout. Never leave
	// in the name of another process that took over this instance ID.
	leave := !errors.Is(runErr, instance.ErrInstanceIDInUse)
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := m.Close(lctx, leave); err != nil {
		p.logger.Warn("could not leave the group: this instance's units move to the others after the session timeout", "error", err.Error(),
			"session_timeout", g.SessionTimeout.String())
	}
	if runErr != nil {
		return runErr
	}
	if err := s.accountErrors(); err != nil && !o.Planner.To.IsZero() {
		return err
	}
	return ctx.Err()
}

// groupConfig is the group's configuration for units writing topics
// (both sorted).
func (p *Pipeline) groupConfig(units, topics []string) instance.Config {
	g := *p.opts.Group
	if g.Topic == "" {
		g.Topic = p.opts.CheckpointTopic + ".units"
	}
	g.Manifest = instance.Manifest{CheckpointTopic: p.opts.CheckpointTopic, Units: units, Topics: topics, Range: p.opts.Group.Manifest.Range}
	if !p.opts.Planner.To.IsZero() {
		g.Span = instance.Span{From: p.opts.From, To: p.opts.Planner.To}
	}
	g.Logger = p.logger
	return g
}

// checkGroup refuses, before anything is created, to start next to
// another deployment writing the same topics (ConflictError), or with a
// configuration the running instances would refuse (instance.MismatchError).
func (p *Pipeline) checkGroup(ctx context.Context, adm *kadm.Client, accounts []Account) error {
	var units, topics []string
	for _, a := range accounts {
		for _, ev := range a.Events {
			units = append(units, checkpoint.UnitKey(a.Name, ev))
			topics = append(topics, a.Topic(ev))
		}
	}
	g := p.groupConfig(slices.Sorted(slices.Values(units)), slices.Compact(slices.Sorted(slices.Values(topics))))
	conflicts, err := instance.Conflicts(ctx, adm, g.Group, g.Manifest)
	if err != nil {
		return &kafkaError{fmt.Errorf("looking for other deployments of the connector: %w", err)}
	}
	if len(conflicts) > 0 {
		return &ConflictError{Group: g.Group, Conflicts: conflicts}
	}
	if err := instance.Precheck(ctx, adm, g.Group, g.Manifest); err != nil {
		var me *instance.MismatchError
		if errors.As(err, &me) {
			return err
		}
		return &kafkaError{err}
	}
	return nil
}

// ensureGroupTopic makes sure the coordination topic has a partition per
// unit.
func (p *Pipeline) ensureGroupTopic(ctx context.Context, g instance.Config) error {
	cl, err := kgo.NewClient(p.opts.Kafka...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	return instance.EnsureTopic(ctx, kadm.NewClient(cl), g.Topic, len(g.Manifest.Units), p.opts.ReplicationFactor)
}

// ConflictError is another deployment of the connector, with another
// transactional ID prefix, writing the checkpoint topic or topics of this
// one: both would extract the same rows, and neither's transactions fence
// the other's.
type ConflictError struct {
	Group     string
	Conflicts []instance.Conflict
}

func (e *ConflictError) Error() string {
	parts := make([]string, len(e.Conflicts))
	for i, c := range e.Conflicts {
		parts[i] = c.String()
	}
	return fmt.Sprintf("another connector deployment writes this one's topics: %s. Two deployments would write every row twice: "+
		"run the instances of one deployment with the same kafka.transactional_id (%s here), or give each deployment its own topics and checkpoint topic",
		strings.Join(parts, "; "), e.Group)
}

// topics are the event topics of every unit, sorted.
func (p *Pipeline) topics() []string {
	var out []string
	for _, r := range p.runners {
		out = append(out, r.topic)
	}
	return slices.Compact(slices.Sorted(slices.Values(out)))
}

// runner is the unit's runner; nil for a key the configuration lacks.
func (p *Pipeline) runner(key string) *eventRunner {
	for _, r := range p.runners {
		if r.key == key {
			return r
		}
	}
	return nil
}

// scheduler runs the units the group assigns to this instance: it is the
// membership's instance.Handler.
type scheduler struct {
	p          *Pipeline
	ctx        context.Context
	opts       Options       // the pipeline's, with the group's range (see adopt)
	span       instance.Span // the range the units run
	started    bool          // a unit was started: the range is fixed
	instanceID string
	accounts   []string // every configured account, sorted

	mu             sync.Mutex
	running        map[string]*unitRun // by unit key: owned units, running or stopped
	failedAccounts map[string]error
	finished       map[string]bool // units whose bounded range this instance completed
	fatal          chan error
	changed        chan struct{} // a unit stopped
}

type unitRun struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Assigned starts the units, once the budgets are shared anew, in the
// group's range.
func (s *scheduler) Assigned(keys []string, span instance.Span) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.adopt(span)
	var start []func()
	defer func() {
		s.ownedChanged(keys, nil)
		for _, f := range start {
			f()
		}
	}()
	for _, k := range keys {
		r := s.p.runner(k)
		if r == nil {
			continue // the manifest check makes every key one of ours
		}
		if _, ok := s.running[k]; ok {
			continue
		}
		ctx, cancel := context.WithCancel(s.ctx)
		u := &unitRun{cancel: cancel, done: make(chan struct{})}
		s.running[k] = u
		if err := s.failedAccounts[r.account]; err != nil {
			r.logger.Warn("unit assigned, but its account's token was refused: it is not extracted here", "event", r.event, "error", err.Error())
			cancel()
			close(u.done)
			continue
		}
		s.started = true
		start = append(start, func() {
			go func() {
				defer close(u.done)
				s.run(ctx, r)
				s.notify()
			}()
		})
	}
}

// adopt makes span, the group's bounded range, the range of every unit:
// instances given the same relative range (--from -6h) resolve it at
// slightly different instants, and one range is what the operator asked
// for. It changes nothing once a unit was started here (the group's range
// cannot change while this instance is a member). s.mu is held.
func (s *scheduler) adopt(span instance.Span) {
	if s.started || span.To.IsZero() || span == s.span {
		return
	}
	s.p.logger.Info("running the group's bounded range: this instance resolved the same --from/--to a moment apart",
		"from", span.From, "to", span.To, "own_from", s.span.From, "own_to", s.span.To)
	s.span = span
	s.opts.From, s.opts.Planner.To = span.From, span.To
	for _, r := range s.p.runners {
		r.planner.To = span.To
		if !span.From.IsZero() {
			r.start = span.From
		}
	}
}

// Revoked stops the units and returns once they stopped writing.
func (s *scheduler) Revoked(keys []string, lost bool) {
	s.mu.Lock()
	var stopping []*unitRun
	for _, k := range keys {
		if u, ok := s.running[k]; ok {
			u.cancel()
			stopping = append(stopping, u)
			delete(s.running, k)
		}
	}
	s.mu.Unlock()
	for _, u := range stopping {
		<-u.done
	}
	s.mu.Lock()
	s.ownedChanged(nil, keys)
	s.mu.Unlock()
}

// stopAll stops every unit, as when they are all revoked.
func (s *scheduler) stopAll() {
	s.mu.Lock()
	keys := make([]string, 0, len(s.running))
	for k := range s.running {
		keys = append(keys, k)
	}
	s.mu.Unlock()
	s.Revoked(keys, false)
}

// ownedChanged tells the pipeline's OnUnits which units this instance
// owns, and gives each account's source the part of the account's request
// budget that its units here are of the account's units: the instances
// sharing an account together stay within its budget. Called with s.mu
// held.
func (s *scheduler) ownedChanged(gained, lost []string) {
	owned := make([]string, 0, len(s.running))
	for k := range s.running {
		owned = append(owned, k)
	}
	slices.Sort(owned)
	s.p.setActive(owned)
	here, all := map[*source.Client]int{}, map[*source.Client]int{}
	for _, r := range s.p.runners {
		all[r.src]++
		if _, ok := s.running[r.key]; ok {
			here[r.src]++
		}
	}
	for src, n := range all {
		if here[src] > 0 { // an account with no unit here sends nothing
			src.ShareBudget(float64(here[src]) / float64(n))
		}
	}
	if f := s.p.opts.OnUnits; f != nil {
		f(owned, gained, lost)
	}
}

func (s *scheduler) notify() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// run runs one unit until it is stopped or ends: the bounded range is
// extracted, another instance owns it, its account's token is refused, or
// it failed for good (which ends the whole run).
func (s *scheduler) run(ctx context.Context, r *eventRunner) {
	defer r.closeWriter()
	r.others = func(ctx context.Context) (string, error) { return s.otherOwner(ctx, r.key) }
	err := s.extract(ctx, r)
	switch {
	case ctx.Err() != nil:
		r.logger.Info("unit stopped on this instance", "event", r.event)
	case err == nil:
		s.mu.Lock()
		s.finished[r.key] = true
		s.mu.Unlock()
	case sink.IsFenced(err):
		r.logger.Warn("unit stopped: another instance owns it now and fenced this one", "event", r.event, "error", err.Error())
	case source.TokenRefused(err):
		s.accountFailed(r, err)
	default:
		select {
		case s.fatal <- err:
		default:
		}
	}
}

// extract takes the unit over and extracts it. Taking over starts the
// unit's producer, which fences its previous owner, before it reads the
// unit's checkpoint: nothing the previous owner had open can commit after
// the read. A unit fenced while the group still assigns it here was written
// by a stale instance: it is taken back.
func (s *scheduler) extract(ctx context.Context, r *eventRunner) error {
	pos, err := r.open(ctx, true)
	if err != nil {
		return err
	}
	if err := checkResume(s.opts, []*eventRunner{r}, map[string]checkpoint.Position{r.key: pos}, r.now()); err != nil {
		return err
	}
	r.schema, r.prefix, r.columns = r.initialSchema, r.initialPrefix, nil
	if err := r.restoreDerived(ctx, pos.Columns); err != nil {
		return err
	}
	if pos.IsZero() {
		r.logger.Info("unit taken over: nothing is committed yet, it starts at its start", "event", r.event,
			"start", r.start.UTC().Format(time.RFC3339Nano))
	} else {
		r.logger.Info("unit taken over", "event", r.event, "from", pos.String(),
			"window", source.Window{Start: pos.WindowStart, End: pos.WindowEnd}.String(), "report", pos.ReportID)
	}
	r.committed = pos
	r.stats.setCommitted(pos)
	for {
		err := r.run(ctx, pos)
		if !sink.IsFenced(err) || ctx.Err() != nil {
			return err
		}
		// recover asks the group first: it stops the unit here when another
		// instance owns it, and takes it back otherwise.
		r.logger.Warn("the unit's producer was fenced: asking the group who owns it", "event", r.event, "error", err.Error())
		if pos, err = r.recover(ctx, true); err != nil {
			return err
		}
	}
}

// otherOwner names the instance the group assigns key to when it is not
// this one; "" when it is this one or none.
func (s *scheduler) otherOwner(ctx context.Context, key string) (string, error) {
	m := s.p.member.Load()
	if m == nil {
		return "", nil
	}
	h, ok, err := m.Owner(ctx, key)
	if err != nil {
		return "", fmt.Errorf("asking the group who owns the unit: %w", err)
	}
	if !ok || h.InstanceID == s.instanceID {
		return "", nil
	}
	return h.String(), nil
}

// accountFailed stops every unit of r's account on this instance: its
// token was refused. When every account has failed, the run ends.
func (s *scheduler) accountFailed(r *eventRunner, err error) {
	s.mu.Lock()
	_, already := s.failedAccounts[r.account]
	if !already {
		s.failedAccounts[r.account] = err
	}
	var others []*unitRun
	for k, u := range s.running {
		if rr := s.p.runner(k); rr != nil && rr.account == r.account && rr != r {
			others = append(others, u)
		}
	}
	all := len(s.failedAccounts) == len(s.accounts)
	s.mu.Unlock()
	if !already {
		r.logger.Error("the account's API token was refused: its units stop on this instance, the other accounts go on. "+
			"Fix the account's token (or its permissions) and restart the connector", "error", err.Error())
		if ao, ok := s.p.opts.Observer.(AccountObserver); ok {
			ao.AccountFailed(r.account, err)
		}
	}
	for _, u := range others {
		u.cancel()
	}
	if all {
		select {
		case s.fatal <- s.accountErrors():
		default:
		}
	}
}

// accountErrors joins the errors of the accounts that failed.
func (s *scheduler) accountErrors() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, a := range slices.Sorted(maps.Keys(s.failedAccounts)) {
		errs = append(errs, fmt.Errorf("account %s: %w", a, s.failedAccounts[a]))
	}
	return errors.Join(errs...)
}

// watchCompletion closes complete once every unit of the configuration
// has reached the end of the bounded range. It reads the checkpoints only
// while no unit runs here: until then this instance has work of its own.
func (s *scheduler) watchCompletion(ctx context.Context, complete chan<- struct{}) {
	t := time.NewTicker(completionPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.changed:
		case <-t.C:
		}
		if s.busy() {
			continue
		}
		positions, err := s.p.store.Load(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.p.logger.Warn("cannot read the checkpoints to see whether the other instances are done; trying again", "error", err.Error())
			}
			continue
		}
		if s.allComplete(positions) {
			close(complete)
			return
		}
	}
}

// busy says whether a unit still runs here.
func (s *scheduler) busy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, u := range s.running {
		select {
		case <-u.done:
		default:
			if !s.finished[k] {
				return true
			}
		}
	}
	return false
}

// allComplete says whether every unit is committed to the end of the
// bounded range, or belongs to an account refused here.
func (s *scheduler) allComplete(positions map[string]checkpoint.Position) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.p.runners {
		if s.failedAccounts[r.account] != nil {
			continue
		}
		pos := positions[r.key]
		if pos.IsZero() || !r.planner.Reached(pos.Next()) {
			return false
		}
	}
	return true
}

// closeWriter aborts what the unit's producer has open and closes it.
func (e *eventRunner) closeWriter() {
	if e.writer == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), unitCloseTimeout)
	defer cancel()
	if err := e.writer.Close(ctx); err != nil {
		e.logger.Warn("closing the unit's producer", "event", e.event, "error", err.Error())
	}
	e.writer = nil
}

// activeSet is the units this instance runs, in group mode.
type activeSet struct {
	mu   sync.Mutex
	keys map[string]bool // nil: every unit (not in group mode)
}

func (p *Pipeline) setActive(keys []string) {
	p.active.mu.Lock()
	defer p.active.mu.Unlock()
	p.active.keys = make(map[string]bool, len(keys))
	for _, k := range keys {
		p.active.keys[k] = true
	}
}

// isActive says whether the unit runs here.
func (p *Pipeline) isActive(key string) bool {
	p.active.mu.Lock()
	defer p.active.mu.Unlock()
	return p.active.keys == nil || p.active.keys[key]
}

var _ instance.Handler = (*scheduler)(nil)
