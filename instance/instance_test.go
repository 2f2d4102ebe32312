package instance_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/instance"
	"github.com/freshstream/freshchat-kafka/internal/kafkatest"
)

const topic = "freshchat.checkpoints"

// cluster starts a one-broker kfake cluster with the checkpoint topic and
// returns its connection options and an admin client.
func cluster(t *testing.T, topics ...string) ([]kgo.Opt, *kadm.Client) {
	t.Helper()
	opts := kafkatest.Cluster(t)
	cl, err := kgo.NewClient(opts...)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	adm := kadm.NewClient(cl)
	if len(topics) > 0 {
		_, err = adm.CreateTopics(context.Background(), 1, 1, nil, topics...)
		require.NoError(t, err)
	}
	return opts, adm
}

func hold(t *testing.T, opts []kgo.Opt, group, clientID string) *instance.Lease {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := instance.Hold(ctx, append(opts, kgo.ClientID(clientID)), group, topic, nil)
	require.NoError(t, err)
	t.Cleanup(l.Close)
	return l
}

func holders(t *testing.T, adm *kadm.Client, group string) []instance.Member {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ms, err := instance.Holders(ctx, adm, group)
	require.NoError(t, err)
	return ms
}

func TestHoldersSeeTheMemberWhileHeld(t *testing.T) {
	opts, adm := cluster(t, topic)
	assert.Empty(t, holders(t, adm, "freshchat-connector"), "nobody holds an identity never used")

	l := hold(t, opts, "freshchat-connector", "connector-a")
	ms := holders(t, adm, "freshchat-connector")
	require.Len(t, ms, 1)
	assert.Equal(t, "connector-a", ms[0].ClientID)
	assert.Equal(t, l.MemberID(), ms[0].MemberID)
	assert.NotEmpty(t, ms[0].Host)
	assert.NotContains(t, ms[0].Host, "/", "the host is an address, without Kafka's leading slash")
	assert.Contains(t, ms[0].String(), "connector-a on ")

	assert.Empty(t, holders(t, adm, "another-connector"), "groups are per identity")

	l.Close()
	l.Close() // idempotent
	assert.Empty(t, holders(t, adm, "freshchat-connector"), "a closed lease leaves the group at once")
}

func TestTwoHoldersAreBothListed(t *testing.T) {
	opts, adm := cluster(t, topic)
	a := hold(t, opts, "shared", "connector-a")
	b := hold(t, opts, "shared", "connector-b")

	// The second join rebalances the group; both stay members.
	require.Eventually(t, func() bool { return len(holders(t, adm, "shared")) == 2 }, 20*time.Second, 100*time.Millisecond)
	ids := map[string]bool{}
	for _, m := range holders(t, adm, "shared") {
		ids[m.ClientID] = true
	}
	assert.Equal(t, map[string]bool{"connector-a": true, "connector-b": true}, ids)

	a.Close()
	require.Eventually(t, func() bool { return len(holders(t, adm, "shared")) == 1 }, 20*time.Second, 100*time.Millisecond)
	assert.Equal(t, "connector-b", holders(t, adm, "shared")[0].ClientID)
	b.Close()
	assert.Empty(t, holders(t, adm, "shared"))
}

func TestHoldRefusesAMissingTopic(t *testing.T) {
	opts, adm := cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := instance.Hold(ctx, opts, "early", topic, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "topic freshchat.checkpoints does not exist")
	assert.NoError(t, ctx.Err(), "refused at once, not at the deadline")
	assert.Empty(t, holders(t, adm, "early"))
}

func TestHoldFailsWhenTheClusterIsUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := instance.Hold(ctx, []kgo.Opt{kgo.SeedBrokers("127.0.0.1:1")}, "g", topic, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "joining group g")
	assert.Contains(t, err.Error(), "127.0.0.1:1")
}

func TestHoldNeedsAGroupAndATopic(t *testing.T) {
	_, err := instance.Hold(context.Background(), nil, "", topic, nil)
	assert.Error(t, err)
	_, err = instance.Hold(context.Background(), nil, "g", "", nil)
	assert.Error(t, err)
}

func TestHoldersFailsWhenTheClusterIsUnreachable(t *testing.T) {
	cl, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:1"))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err = instance.Holders(ctx, kadm.NewClient(cl), "g")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "describing group g")
}
