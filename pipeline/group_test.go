package pipeline_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/instance"
	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

// account is a second simulated Freshchat account, with a token of its own.
func (e *env) account(t *testing.T, name, tok string, rowsPerHour int) (pipeline.Account, *freshchattest.Server) {
	t.Helper()
	sim := freshchattest.NewServer(freshchattest.Options{Token: tok, Now: e.now, RowsPerHour: rowsPerHour, TempDir: t.TempDir()})
	t.Cleanup(sim.Close)
	return pipeline.Account{Name: name, Source: e.sourceOf(t, sim, tok), Topic: func(ev string) string { return "freshchat." + name + "." + strings.ToLower(ev) }}, sim
}

// groupOptions are o in group mode, as instance id.
func groupOptions(o pipeline.Options, id string, units *unitLog) pipeline.Options {
	o.Group = &instance.Config{Group: o.TransactionalID, InstanceID: id, Host: "host-" + id, SessionTimeout: 6 * time.Second}
	o.OnUnits = func(owned, gained, _ []string) { units.add(id, gained) }
	return o
}

// unitLog records which instance was given which units.
type unitLog struct {
	mu  sync.Mutex
	got map[string][]string
}

func (l *unitLog) add(id string, units []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.got == nil {
		l.got = map[string][]string{}
	}
	l.got[id] = append(l.got[id], units...)
}

func (l *unitLog) of(id string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.got[id])
}

// runGroup runs a pipeline for each options until all end.
func runAll(t *testing.T, ctx context.Context, opts ...pipeline.Options) []error {
	t.Helper()
	errs := make([]error, len(opts))
	var wg sync.WaitGroup
	for i, o := range opts {
		wg.Go(func() {
			p, err := pipeline.New(ctx, o)
			if err != nil {
				errs[i] = err
				return
			}
			errs[i] = p.Run(ctx)
			assert.NoError(t, p.Close(context.Background()))
		})
	}
	wg.Wait()
	return errs
}

func TestGroupSharesUnitsOfTwoAccountsExactlyOnce(t *testing.T) {
	e := newEnv(t, 3000, freshchattest.Faults{}, false)
	from, to := span(3)
	base := e.options(t, nil, from, to)
	events := []string{"Message-Sent", "Conversation-Created", "CSAT-Score"}
	acme := pipeline.Account{Name: checkpoint.DefaultAccount, Source: base.Source, Events: events, Start: from, Topic: base.Topic}
	globex, globexSim := e.account(t, "globex", "globex-token-0123456789", 2000)
	globex.Events, globex.Start = events[:2], from
	base.Accounts = []pipeline.Account{acme, globex}

	var units unitLog
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	errs := runAll(t, ctx, groupOptions(base, "a", &units), groupOptions(base, "b", &units), groupOptions(base, "c", &units))
	for i, err := range errs {
		require.NoError(t, err, "instance %d", i)
	}
	all := append(units.of("a"), append(units.of("b"), units.of("c")...)...)
	slices.Sort(all)
	assert.Subset(t, all, []string{"CSAT-Score", "Conversation-Created", "Message-Sent", "globex/Conversation-Created", "globex/Message-Sent"})
	working := 0
	for _, id := range []string{"a", "b", "c"} {
		if len(units.of(id)) > 0 {
			working++
		}
	}
	assert.GreaterOrEqual(t, working, 2, "the units were shared: %v", units.got)

	for _, ev := range events {
		e.assertExactlyOnce(t, ev, base.Topic(ev), from, to)
	}
	for _, ev := range globex.Events {
		want := globexSim.Rows(ev, from, to)
		got := e.consume(t, globex.Topic(ev))
		require.Len(t, got, len(want), "globex %s", ev)
		for _, d := range got {
			assert.Equal(t, "globex", header(d, pipeline.HeaderAccount))
		}
	}
	// The default account keeps its checkpoint keys; the other's carry its name.
	positions := e.positions(t, base)
	assert.Contains(t, positions, "Message-Sent")
	assert.Contains(t, positions, "globex/Message-Sent")
	assert.Equal(t, "globex", positions["globex/Message-Sent"].Account)
	assert.Empty(t, positions["Message-Sent"].Account)
}

func TestGroupStandbyTakesOverFromTheLastCommit(t *testing.T) {
	e := newEnv(t, 4000, freshchattest.Faults{PendingPolls: 2}, false)
	from, to := span(6)
	o := e.options(t, []string{"Message-Sent"}, from, to)
	var units unitLog

	// a owns the only unit; b waits as a standby.
	actx, stopA := context.WithCancel(context.Background())
	aDone := make(chan error, 1)
	pa, err := pipeline.New(actx, groupOptions(o, "a", &units))
	require.NoError(t, err)
	go func() { aDone <- pa.Run(actx) }()
	require.Eventually(t, func() bool { return len(units.of("a")) == 1 }, 30*time.Second, 10*time.Millisecond)

	bctx, cancelB := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancelB()
	pb, err := pipeline.New(bctx, groupOptions(o, "b", &units))
	require.NoError(t, err)
	bDone := make(chan error, 1)
	go func() { bDone <- pb.Run(bctx) }()

	// a commits a few windows, then stops (a rolling restart): b takes over.
	require.Eventually(t, func() bool { return pa.Committed()["Message-Sent"].WindowEnd.After(from.Add(2 * time.Hour)) }, time.Minute, 10*time.Millisecond)
	assert.Empty(t, units.of("b"), "b stands by while a runs")
	stopA()
	require.ErrorIs(t, <-aDone, context.Canceled)
	require.NoError(t, pa.Close(context.Background()))
	require.NoError(t, <-bDone, "b finishes the range")
	require.NoError(t, pb.Close(context.Background()))
	assert.Equal(t, []string{"Message-Sent"}, units.of("b"))
	assert.Contains(t, e.logs.String(), "unit taken over")
	e.assertExactlyOnce(t, "Message-Sent", o.Topic("Message-Sent"), from, to)
}

func TestGroupRevokedTokenStopsOnlyItsAccount(t *testing.T) {
	e := newEnv(t, 2000, freshchattest.Faults{}, false)
	from, to := span(2)
	base := e.options(t, nil, from, to)
	good := pipeline.Account{Name: "good", Source: base.Source, Events: []string{"Message-Sent", "CSAT-Score"}, Start: from,
		Topic: func(ev string) string { return "freshchat.good." + strings.ToLower(ev) }}
	revoked, sim := e.account(t, "revoked", "revoked-token-0123456789", 2000)
	revoked.Events, revoked.Start = []string{"Message-Sent"}, from
	sim.SetToken("a-new-token-the-connector-lacks") // the account's token is revoked
	base.Accounts = []pipeline.Account{good, revoked}

	var units unitLog
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	errs := runAll(t, ctx, groupOptions(base, "a", &units))
	require.Error(t, errs[0], "a bounded run with a failed account fails")
	assert.Contains(t, errs[0].Error(), "account revoked")
	assert.Contains(t, errs[0].Error(), "401")
	assert.NotContains(t, errs[0].Error(), "account good")
	for _, ev := range good.Events {
		want := e.sim.Rows(ev, from, to)
		require.Len(t, e.consume(t, good.Topic(ev)), len(want), "the good account's %s is extracted", ev)
	}
	assert.Contains(t, e.logs.String(), "the account's API token was refused")
}

func TestGroupRefusesAnotherDeploymentOnTheSameTopics(t *testing.T) {
	e := newEnv(t, 1000, freshchattest.Faults{PendingPolls: 1000000}, false)
	from, to := span(1)
	o := e.options(t, []string{"Message-Sent"}, from, to)
	var units unitLog
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pa, err := pipeline.New(ctx, groupOptions(o, "a", &units))
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- pa.Run(ctx) }()
	require.Eventually(t, func() bool { return len(units.of("a")) == 1 }, 30*time.Second, 10*time.Millisecond)

	other := o
	other.TransactionalID = "another-connector"
	other.CheckpointTopic = "another.checkpoints"
	errs := runAll(t, ctx, groupOptions(other, "z", &units))
	var ce *pipeline.ConflictError
	require.ErrorAs(t, errs[0], &ce)
	assert.Contains(t, errs[0].Error(), "group test-connector (kafka.transactional_id test-connector) also writes freshchat.message-sent")
	cl, err := kgo.NewClient(e.kafka...)
	require.NoError(t, err)
	defer cl.Close()
	tds, err := kadm.NewClient(cl).ListTopics(context.Background())
	require.NoError(t, err)
	assert.False(t, tds.Has("another.checkpoints"), "the refused deployment created nothing")
	assert.False(t, tds.Has("another.checkpoints.units"), "the refused deployment created nothing")
	cancel()
	<-done
	require.NoError(t, pa.Close(context.Background()))
}

func header(d decoded, key string) string {
	for _, h := range d.rec.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func (e *env) positions(t *testing.T, o pipeline.Options) map[string]checkpoint.Position {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ps, err := checkpoint.NewStore(o.CheckpointTopic, nil, e.kafka...).Load(ctx)
	require.NoError(t, err)
	return ps
}

// partition cuts a client off the brokers on demand: its connections are
// closed and new ones refused until heal, as a network partition would.
type partition struct {
	mu    sync.Mutex
	down  bool
	conns []net.Conn
}

func (p *partition) dial(ctx context.Context, network, host string) (net.Conn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return nil, errors.New("network partition")
	}
	c, err := (&net.Dialer{}).DialContext(ctx, network, host)
	if err == nil {
		p.conns = append(p.conns, c)
	}
	return c, err
}

func (p *partition) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func (p *partition) heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

// TestGroupPartitionedInstanceNeverWritesAMovedUnit cuts one of two
// instances off the brokers in the middle of a backfill: its units move to
// the other once its session expires, and when it is back it stops them
// (its producers are fenced, the group says they are not its own) and
// finishes as a member. Every row lands once.
func TestGroupPartitionedInstanceNeverWritesAMovedUnit(t *testing.T) {
	// Reports take a while: the backfill outlasts the partition.
	e := newEnv(t, 1000, freshchattest.Faults{PendingPolls: 20}, false)
	from, to := span(12)
	events := []string{"Message-Sent", "CSAT-Score"}
	o := e.options(t, events, from, to)
	o.Planner.Window = 15 * time.Minute
	var units unitLog
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	var cutA partition
	oa := groupOptions(o, "a", &units)
	oa.Kafka = append(slices.Clone(o.Kafka), kgo.Dialer(cutA.dial))
	pa, err := pipeline.New(ctx, oa)
	require.NoError(t, err)
	aDone := make(chan error, 1)
	go func() { aDone <- pa.Run(ctx) }()
	require.Eventually(t, func() bool { return len(units.of("a")) == 2 }, 30*time.Second, 10*time.Millisecond)

	pb, err := pipeline.New(ctx, groupOptions(o, "b", &units))
	require.NoError(t, err)
	bDone := make(chan error, 1)
	go func() { bDone <- pb.Run(ctx) }()
	require.Eventually(t, func() bool { return len(units.of("b")) == 1 }, 30*time.Second, 10*time.Millisecond, "b takes a unit")
	require.Eventually(t, func() bool {
		for _, pos := range pa.Committed() {
			if pos.Done && pos.WindowEnd.After(from.Add(time.Hour)) {
				return true
			}
		}
		return false
	}, time.Minute, 10*time.Millisecond, "a commits windows of the unit it keeps")

	cutA.cut()
	require.Eventually(t, func() bool { return len(units.of("b")) == 2 }, 30*time.Second, 50*time.Millisecond,
		"b gets a's unit once a's session expires")
	// b works the unit it took over while a is still cut off: it commits a
	// window of it past a's last commit.
	moved := units.of("b")[1]
	left := pa.Committed()[moved]
	require.Eventually(t, func() bool {
		pos := pb.Committed()[moved]
		return pos.Done && pos.WindowEnd.After(left.WindowEnd)
	}, time.Minute, 10*time.Millisecond, "b commits a window of %s past a's last commit %s", moved, left)
	cutA.heal()

	require.NoError(t, <-bDone)
	require.NoError(t, pb.Close(context.Background()))
	require.NoError(t, <-aDone, "a finishes as a member once every unit is done")
	require.NoError(t, pa.Close(context.Background()))
	assert.Contains(t, e.logs.String(), "units lost: this instance's group membership ended", "a learns its session ended")
	for _, ev := range events {
		e.assertExactlyOnce(t, ev, o.Topic(ev), from, to)
	}
}

// TestGroupRollingRestartLosesNothing stops and restarts each of three
// instances in turn (SIGTERM-like: they leave the group) during a
// backfill. Every row lands once.
func TestGroupRollingRestartLosesNothing(t *testing.T) {
	e := newEnv(t, 3000, freshchattest.Faults{PendingPolls: 2}, false)
	from, to := span(8)
	events := []string{"Message-Sent", "CSAT-Score", "Conversation-Created"}
	o := e.options(t, events, from, to)
	o.Planner.Window = 15 * time.Minute
	var units unitLog
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	type running struct {
		p    *pipeline.Pipeline
		stop context.CancelFunc
		done chan error
	}
	start := func(id string) running {
		rctx, stop := context.WithCancel(ctx)
		p, err := pipeline.New(rctx, groupOptions(o, id, &units))
		require.NoError(t, err)
		r := running{p, stop, make(chan error, 1)}
		go func() { r.done <- p.Run(rctx) }()
		return r
	}
	ids := []string{"a", "b", "c"}
	inst := map[string]running{}
	for _, id := range ids {
		inst[id] = start(id)
	}
	for _, id := range ids {
		require.Eventually(t, func() bool { return len(units.of(id)) > 0 }, 30*time.Second, 10*time.Millisecond, "%s works", id)
		r := inst[id]
		r.stop()
		if err := <-r.done; err != nil {
			require.ErrorIs(t, err, context.Canceled, "%s stops cleanly", id)
		}
		require.NoError(t, r.p.Close(context.Background()))
		inst[id] = start(id)
	}
	for _, id := range ids {
		require.NoError(t, <-inst[id].done, "%s finishes", id)
		require.NoError(t, inst[id].p.Close(context.Background()))
	}
	for _, ev := range events {
		e.assertExactlyOnce(t, ev, o.Topic(ev), from, to)
	}
}

// TestGroupBoundedRunEndsAtAnyPrecision: a --to with more than millisecond
// precision (any relative one, such as -4h) ends the run once every unit is
// committed to it; windows and checkpoints are at millisecond precision.
func TestGroupBoundedRunEndsAtAnyPrecision(t *testing.T) {
	e := newEnv(t, 2000, freshchattest.Faults{}, false)
	to := e.now().Add(-time.Hour).Truncate(time.Millisecond).Add(123456 * time.Nanosecond) // as --to -1h resolves
	from := to.Add(-2 * time.Hour).Truncate(time.Hour)
	o := e.options(t, []string{"Message-Sent"}, from, to)
	var units unitLog
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	errs := runAll(t, ctx, groupOptions(o, "a", &units))
	require.NoError(t, errs[0], "the run ends on its own")
	e.assertExactlyOnce(t, "Message-Sent", o.Topic("Message-Sent"), from, to.Truncate(time.Millisecond))
}
