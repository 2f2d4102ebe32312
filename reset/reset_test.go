package reset_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/connect"
	"github.com/freshstream/freshchat-kafka/instance"
	"github.com/freshstream/freshchat-kafka/instance/instancetest"
	"github.com/freshstream/freshchat-kafka/reset"
	"github.com/freshstream/freshchat-kafka/termview"
)

// setup starts a Kafka cluster and loads a configuration for it, with
// Message-Sent as the one event, starting three days ago at start. ctx
// ends with the test, or after a minute.
func setup(t *testing.T) (ctx context.Context, cfg *config.Config, opts []kgo.Opt, start time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	start = time.Now().UTC().Truncate(time.Hour).Add(-72 * time.Hour)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	env := map[string]string{
		"KAFKA_BROKERS":            c.ListenAddrs()[0],
		"KAFKA_REPLICATION_FACTOR": "1",
		"FRESHCHAT_EVENTS":         "Message-Sent",
		"FRESHCHAT_START":          start.Format(time.RFC3339),
	}
	cfg, err = config.Load(config.LoadOptions{
		Env:            func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		RequireBrokers: true,
	})
	require.NoError(t, err)
	return ctx, cfg, []kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)}, start
}

// prepare plans the reset of acct's Message-Sent to target.
func prepare(t *testing.T, ctx context.Context, cfg *config.Config, acct config.Account, target time.Time) *reset.Plan {
	t.Helper()
	p, err := reset.Prepare(ctx, cfg, acct, "Message-Sent", target, nil)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p
}

func TestPlanDescribesTheMoveAndApplyCommitsIt(t *testing.T) {
	ctx, cfg, _, start := setup(t)
	acct := cfg.SingleAccount()
	at := termview.Time
	forward, back := start.Add(48*time.Hour), start.Add(24*time.Hour)

	// Without a checkpoint nothing was produced yet: an earlier start
	// produces nothing twice.
	earlier := start.Add(-24 * time.Hour)
	p := prepare(t, ctx, cfg, acct, earlier)
	assert.Contains(t, p.Describe(), "  earlier start: rows created from "+at(earlier)+" to "+at(start)+", before the configured start, will be extracted too\n")
	assert.NotContains(t, p.Describe(), "rewind")

	p = prepare(t, ctx, cfg, acct, forward)
	assert.Equal(t, "Message-Sent", p.Unit)
	assert.Equal(t, "Event Message-Sent (topic freshchat.message-sent, transactional ID freshchat-connector-Message-Sent)\n"+
		"  old: no checkpoint: the next run starts at the configured start "+at(start)+"\n"+
		"  new: ["+at(forward)+", "+at(forward)+") done: the next run starts at "+at(forward)+"\n"+
		"  fast-forward: rows created from "+at(start)+" to "+at(forward)+" will never be produced\n", p.Describe())
	done, err := p.Apply(ctx)
	require.NoError(t, err)
	assert.Equal(t, "Reset Message-Sent: was no checkpoint: the next run starts at the configured start "+at(start)+
		"; now ["+at(forward)+", "+at(forward)+") done: the next run starts at "+at(forward), done)

	p = prepare(t, ctx, cfg, acct, back)
	assert.Contains(t, p.Describe(), "  old: ["+at(forward)+", "+at(forward)+") done: the next run starts at "+at(forward)+"\n")
	assert.Contains(t, p.Describe(), "  rewind: rows created from "+at(back)+" to "+at(forward)+" will be produced again; consumers see them twice\n")
	_, err = p.Apply(ctx)
	require.NoError(t, err)
	positions, err := connect.LoadPositions(ctx, cfg.Kafka, nil)
	require.NoError(t, err)
	got := positions["Message-Sent"]
	assert.True(t, got.Done)
	assert.True(t, got.Next().Equal(back))
	assert.Empty(t, got.Account, "the default account is not written")

	p = prepare(t, ctx, cfg, acct, back)
	assert.NotContains(t, p.Describe(), "rewind")
	assert.NotContains(t, p.Describe(), "fast-forward")
}

func TestPlanOfANamedAccount(t *testing.T) {
	ctx, cfg, _, start := setup(t)
	acct := cfg.SingleAccount()
	acct.Name, acct.TopicTemplate = "acme", "freshchat.{account}.{event}"
	target := start.Add(time.Hour)

	p := prepare(t, ctx, cfg, acct, target)
	assert.Equal(t, "acme/Message-Sent", p.Unit)
	assert.Contains(t, p.Describe(), "Event acme/Message-Sent (topic freshchat.acme.message-sent, transactional ID freshchat-connector-acme/Message-Sent)\n")
	_, err := p.Apply(ctx)
	require.NoError(t, err)
	positions, err := connect.LoadPositions(ctx, cfg.Kafka, nil)
	require.NoError(t, err)
	got, ok := positions["acme/Message-Sent"]
	require.True(t, ok)
	assert.Equal(t, "acme", got.Account)
	assert.True(t, got.Next().Equal(target))
}

// startConnector joins the connector's group as instance connector-0 on
// host-a, as a running connector does, and returns once it owns its unit.
func startConnector(t *testing.T, ctx context.Context, opts []kgo.Opt) {
	t.Helper()
	instancetest.Hold(t, ctx, instance.Config{Group: "freshchat-connector", Topic: "freshchat.checkpoints.units", InstanceID: "connector-0", Host: "host-a",
		SessionTimeout: 10 * time.Second, Manifest: instance.Manifest{CheckpointTopic: "freshchat.checkpoints", Units: []string{"Message-Sent"}}}, opts...)
}

func TestPrepareRefusesWhileAConnectorHoldsTheIdentity(t *testing.T) {
	ctx, cfg, opts, start := setup(t)
	startConnector(t, ctx, opts)

	p, err := reset.Prepare(ctx, cfg, cfg.SingleAccount(), "Message-Sent", start, nil)
	assert.Nil(t, p)
	held, ok := errors.AsType[*reset.HeldError](err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, "refusing to reset Message-Sent while a connector holds transactional identity freshchat-connector (resetting would fence it): "+
		"stop every instance first; a connector that was killed is dropped from group freshchat-connector within group.session_timeout ("+
		cfg.Group.SessionTimeout.String()+")", err.Error())
	assert.Contains(t, held.Running(), "A connector with transactional ID prefix freshchat-connector is running: connector-0 on host-a (member ")
	positions, err := connect.LoadPositions(ctx, cfg.Kafka, nil)
	require.NoError(t, err)
	assert.Empty(t, positions, "nothing was written")
}

// TestApplyRefusesWhatChangedWhileAsked plans a reset, then lets the world
// move while the operator is asked (an answer can take minutes): a
// connector that started meanwhile is not fenced, and a checkpoint that
// moved is not overwritten with a plan described against the old one.
func TestApplyRefusesWhatChangedWhileAsked(t *testing.T) {
	t.Run("a connector started", func(t *testing.T) {
		ctx, cfg, opts, start := setup(t)
		p := prepare(t, ctx, cfg, cfg.SingleAccount(), start.Add(time.Hour))
		startConnector(t, ctx, opts)

		_, err := p.Apply(ctx)
		_, held := errors.AsType[*reset.HeldError](err)
		require.True(t, held, "%v", err)
		positions, err := connect.LoadPositions(ctx, cfg.Kafka, nil)
		require.NoError(t, err)
		assert.Empty(t, positions, "nothing was written")
	})
	t.Run("the checkpoint moved", func(t *testing.T) {
		ctx, cfg, _, start := setup(t)
		slow := prepare(t, ctx, cfg, cfg.SingleAccount(), start.Add(time.Hour))
		_, err := prepare(t, ctx, cfg, cfg.SingleAccount(), start.Add(2*time.Hour)).Apply(ctx)
		require.NoError(t, err)

		_, err = slow.Apply(ctx)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "the checkpoint of Message-Sent moved while the reset waited")
		assert.Contains(t, err.Error(), "nothing was written: run reset again")
		positions, err := connect.LoadPositions(ctx, cfg.Kafka, nil)
		require.NoError(t, err)
		assert.Equal(t, start.Add(2*time.Hour), positions["Message-Sent"].Next().UTC(), "the other reset stands")
	})
}
