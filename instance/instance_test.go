package instance_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/instance"
	"github.com/freshstream/freshchat-kafka/internal/kafkatest"
)

const (
	group = "freshchat-connector"
	topic = "freshchat.checkpoints.units"
)

// session is short so that a member killed without leaving is dropped
// quickly; the cluster accepts it.
const session = 2 * time.Second

func cluster(t *testing.T) ([]kgo.Opt, *kadm.Client) {
	t.Helper()
	opts := kafkatest.Cluster(t, kfake.GroupMinSessionTimeout(100*time.Millisecond))
	cl, err := kgo.NewClient(opts...)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return opts, kadm.NewClient(cl)
}

func units(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("unit-%02d", i)
	}
	return out
}

// recorder is a Handler that keeps what it was told.
type recorder struct {
	mu      sync.Mutex
	owned   []string
	revoked []string
}

func (r *recorder) Assigned(us []string, _ instance.Span) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.owned = append(r.owned, us...)
	slices.Sort(r.owned)
}

func (r *recorder) Revoked(us []string, _ bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.revoked = append(r.revoked, us...)
	r.owned = slices.DeleteFunc(r.owned, func(u string) bool { return slices.Contains(us, u) })
}

func (r *recorder) snapshot() (owned, revoked []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.owned), slices.Clone(r.revoked)
}

type joined struct {
	m *instance.Member
	r *recorder
}

func join(t *testing.T, opts []kgo.Opt, id string, m instance.Manifest) joined {
	t.Helper()
	r := &recorder{}
	mem, err := instance.Join(instance.Config{
		Group: group, Topic: topic, Manifest: m, InstanceID: id, Host: "host-" + id,
		SessionTimeout: session,
	}, r, append(slices.Clone(opts), kgo.ClientID("freshchat-connector"))...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = mem.Close(context.Background(), false) })
	return joined{mem, r}
}

func ensure(t *testing.T, adm *kadm.Client, n int) {
	t.Helper()
	require.NoError(t, instance.EnsureTopic(context.Background(), adm, topic, n, 1))
}

// waitOwned waits until the members own the counts given, together every unit.
func waitOwned(t *testing.T, all []string, counts map[*recorder]int) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var union []string
		for r, n := range counts {
			owned, _ := r.snapshot()
			assert.Len(c, owned, n)
			union = append(union, owned...)
		}
		slices.Sort(union)
		assert.Equal(c, all, union, "every unit owned exactly once")
	}, 30*time.Second, 50*time.Millisecond)
}

func TestUnitsAreSharedAndMoveWithMembers(t *testing.T) {
	opts, adm := cluster(t)
	all := units(12)
	ensure(t, adm, len(all))
	m := instance.Manifest{CheckpointTopic: "freshchat.checkpoints", Units: all}

	a := join(t, opts, "a", m)
	waitOwned(t, all, map[*recorder]int{a.r: 12})
	b := join(t, opts, "b", m)
	c := join(t, opts, "c", m)
	waitOwned(t, all, map[*recorder]int{a.r: 4, b.r: 4, c.r: 4})

	// Cooperative: a gave up only the units that moved.
	_, revokedA := a.r.snapshot()
	assert.Len(t, revokedA, 8)
	ownedB, _ := b.r.snapshot()
	_, revokedB := b.r.snapshot()

	// c stops and leaves: its units go to a and b; b keeps its own.
	require.NoError(t, c.m.Close(context.Background(), true))
	waitOwned(t, all, map[*recorder]int{a.r: 6, b.r: 6})
	nowB, lateRevokedB := b.r.snapshot()
	assert.Subset(t, nowB, ownedB, "a rebalance does not move the units that stay")
	assert.Equal(t, revokedB, lateRevokedB, "b gave nothing up")

	hs, err := a.m.Holders(context.Background())
	require.NoError(t, err)
	require.Len(t, hs, 2)
	for _, h := range hs {
		assert.Len(t, h.Units, 6)
		assert.Contains(t, []string{"host-a", "host-b"}, h.Host)
		assert.Contains(t, []string{"a", "b"}, h.InstanceID)
	}
	owner, ok, err := b.m.Owner(context.Background(), nowB[0])
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "b", owner.InstanceID)
}

func TestStaticMemberTakesItsUnitsBackAtOnce(t *testing.T) {
	opts, adm := cluster(t)
	all := units(6)
	ensure(t, adm, len(all))
	m := instance.Manifest{CheckpointTopic: "cp", Units: all}

	// A long session: the restart must not wait for it.
	long := func(id string) joined {
		r := &recorder{}
		mem, err := instance.Join(instance.Config{Group: group, Topic: topic, Manifest: m, InstanceID: id, SessionTimeout: time.Minute}, r, opts...)
		require.NoError(t, err)
		t.Cleanup(func() { _ = mem.Close(context.Background(), false) })
		return joined{mem, r}
	}
	a, b := long("a"), long("b")
	waitOwned(t, all, map[*recorder]int{a.r: 3, b.r: 3})
	before, _ := b.r.snapshot()
	_, revokedBefore := a.r.snapshot()

	// b crashes (closes without leaving, as a killed process does) and
	// comes back with the same instance ID.
	require.NoError(t, b.m.Close(context.Background(), false))
	start := time.Now()
	b2 := long("b")
	waitOwned(t, all, map[*recorder]int{a.r: 3, b2.r: 3})
	after, _ := b2.r.snapshot()
	assert.Equal(t, before, after, "the restarted instance owns what it owned")
	assert.Less(t, time.Since(start), 30*time.Second, "well before the one-minute session timeout")
	_, revokedA := a.r.snapshot()
	assert.Equal(t, revokedBefore, revokedA, "the other member kept working")
}

func TestMismatchedConfigurationIsRefused(t *testing.T) {
	opts, adm := cluster(t)
	ensure(t, adm, 3)
	a := join(t, opts, "a", instance.Manifest{CheckpointTopic: "cp", Units: []string{"Message-Sent", "acme/CSAT-Score", "acme/Message-Sent"}})
	waitOwned(t, []string{"Message-Sent", "acme/CSAT-Score", "acme/Message-Sent"}, map[*recorder]int{a.r: 3})

	for _, tc := range []struct {
		name string
		m    instance.Manifest
		want string
	}{
		{"units", instance.Manifest{CheckpointTopic: "cp", Units: []string{"Message-Sent", "acme/CSAT-Score", "globex/Message-Sent"}},
			"units only here: globex/Message-Sent; units only there: acme/Message-Sent"},
		{"checkpoint topic", instance.Manifest{CheckpointTopic: "other", Units: []string{"Message-Sent", "acme/CSAT-Score", "acme/Message-Sent"}},
			`checkpoint topic "other" here, "cp" there`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := join(t, opts, "b-"+tc.name, tc.m)
			select {
			case err := <-b.m.Err():
				var me *instance.MismatchError
				require.ErrorAs(t, err, &me)
				assert.Contains(t, err.Error(), tc.want)
			case <-time.After(30 * time.Second):
				t.Fatal("the odd instance was not refused")
			}
			owned, _ := b.r.snapshot()
			assert.Empty(t, owned)
			require.NoError(t, b.m.Close(context.Background(), true))
			owned, _ = a.r.snapshot()
			assert.Len(t, owned, 3, "the running instance keeps every unit")
		})
	}
}

func TestInstanceIDInUseEndsTheOlderMembership(t *testing.T) {
	opts, adm := cluster(t)
	all := units(2)
	ensure(t, adm, len(all))
	m := instance.Manifest{CheckpointTopic: "cp", Units: all}
	a := join(t, opts, "same", m)
	waitOwned(t, all, map[*recorder]int{a.r: 2})
	b := join(t, opts, "same", m)
	select {
	case err := <-a.m.Err():
		assert.ErrorIs(t, err, instance.ErrInstanceIDInUse)
	case <-time.After(30 * time.Second):
		t.Fatal("the older member was not told its instance ID is in use")
	}
	waitOwned(t, all, map[*recorder]int{b.r: 2})
}

func TestEnsureTopicGrowsWithTheUnits(t *testing.T) {
	_, adm := cluster(t)
	ctx := context.Background()
	require.NoError(t, instance.EnsureTopic(ctx, adm, topic, 3, 1))
	require.NoError(t, instance.EnsureTopic(ctx, adm, topic, 5, 1))
	require.NoError(t, instance.EnsureTopic(ctx, adm, topic, 4, 1), "a topic larger than the units will do")
	tds, err := adm.ListTopics(ctx) // all topics: not from a stale cache
	require.NoError(t, err)
	assert.Len(t, tds[topic].Partitions, 5)
}

func TestHoldersOfAnUnknownGroupIsEmpty(t *testing.T) {
	_, adm := cluster(t)
	hs, err := instance.Holders(context.Background(), adm, "nobody")
	require.NoError(t, err)
	assert.Empty(t, hs)
}

func TestHoldersFailsWhenTheClusterIsUnreachable(t *testing.T) {
	cl, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:1"), kgo.RetryTimeout(time.Second))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err = instance.Holders(ctx, kadm.NewClient(cl), group)
	require.Error(t, err)
}

func TestConflictsFindAnotherDeploymentOnTheSameTopics(t *testing.T) {
	opts, adm := cluster(t)
	ensure(t, adm, 2)
	m := instance.Manifest{CheckpointTopic: "cp", Units: units(2), Topics: []string{"freshchat.a", "freshchat.b"}}
	a := join(t, opts, "a", m)
	waitOwned(t, units(2), map[*recorder]int{a.r: 2})

	ctx := context.Background()
	cs, err := instance.Conflicts(ctx, adm, group, m)
	require.NoError(t, err)
	assert.Empty(t, cs, "its own group is no conflict")

	other := instance.Manifest{CheckpointTopic: "cp-2", Topics: []string{"freshchat.b", "freshchat.c"}}
	cs, err = instance.Conflicts(ctx, adm, "another-connector", other)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	assert.Equal(t, group, cs[0].Group)
	assert.Equal(t, []string{"freshchat.b"}, cs[0].Shared)

	cs, err = instance.Conflicts(ctx, adm, "another-connector", instance.Manifest{CheckpointTopic: "cp-3", Topics: []string{"freshchat.z"}})
	require.NoError(t, err)
	assert.Empty(t, cs)
}

func TestPartitionsBeyondTheUnitsAreNotShared(t *testing.T) {
	opts, adm := cluster(t)
	ensure(t, adm, 12) // an earlier configuration had 12 units
	all := units(3)
	m := instance.Manifest{CheckpointTopic: "cp", Units: all}
	a, b, c := join(t, opts, "a", m), join(t, opts, "b", m), join(t, opts, "c", m)
	waitOwned(t, all, map[*recorder]int{a.r: 1, b.r: 1, c.r: 1})
	hs, err := a.m.Holders(context.Background())
	require.NoError(t, err)
	for _, h := range hs {
		assert.Len(t, h.Units, 1, "%s", h)
	}
}
