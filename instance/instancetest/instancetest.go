// Package instancetest runs group members for the tests of packages that
// ask who holds the connector's units (status, reset).
package instancetest

import (
	"context"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/instance"
)

// Hold makes the cluster look like a connector instance is running: it
// creates cfg.Topic (one partition per unit of cfg.Manifest) when missing,
// joins cfg.Group as a member and returns once the member owns its first
// units. It fails the test if that does not happen before ctx ends. The
// member leaves the group when the test ends.
func Hold(t testing.TB, ctx context.Context, cfg instance.Config, opts ...kgo.Opt) *instance.Member {
	t.Helper()
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatalf("instancetest: %v", err)
	}
	defer cl.Close()
	if err := instance.EnsureTopic(ctx, kadm.NewClient(cl), cfg.Topic, len(cfg.Manifest.Units), 1); err != nil {
		t.Fatalf("instancetest: %v", err)
	}
	h := &firstAssignment{owned: make(chan struct{})}
	m, err := instance.Join(cfg, h, opts...)
	if err != nil {
		t.Fatalf("instancetest: joining %s: %v", cfg.Group, err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background(), true) })
	select {
	case <-h.owned:
	case <-ctx.Done():
		t.Fatalf("instancetest: member %s got no units", cfg.InstanceID)
	}
	return m
}

// firstAssignment is an instance.Handler that closes owned on the first
// assignment (a rebalance can assign more later).
type firstAssignment struct {
	once  sync.Once
	owned chan struct{}
}

func (h *firstAssignment) Assigned([]string, instance.Span) { h.once.Do(func() { close(h.owned) }) }
func (*firstAssignment) Revoked([]string, bool)             {}
