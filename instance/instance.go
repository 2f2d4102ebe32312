// Package instance tells which connector instance is running with a
// transactional identity.
//
// Kafka does not say which process owns a transactional ID, so a running
// connector announces itself: for as long as it runs it is a member of the
// consumer group named after its transactional ID prefix (Hold). The group
// subscribes to the checkpoint topic, which is tiny and compacted, but never
// fetches from it and never commits offsets; membership is all it is for.
// Operators' commands ask the group coordinator who the members are
// (Holders) before they do anything that would fence a running connector.
//
// Membership is advisory: it says who is running, it does not stop a second
// instance from starting (the transactional producers fence each other).
package instance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// SessionTimeout is how long the group keeps a member that stopped
// heartbeating: a connector killed without leaving (SIGKILL, a lost host)
// is still listed by Holders for up to this long.
const SessionTimeout = 10 * time.Second

// Member is one connector instance in the group, as the group coordinator
// sees it.
type Member struct {
	// ClientID is the Kafka client ID the instance connected with.
	ClientID string `json:"client_id"`
	// Host is the address the coordinator sees the instance connect from.
	Host string `json:"host"`
	// MemberID is the ID the coordinator gave the member.
	MemberID string `json:"member_id"`
}

// String reads like "freshchat-connector on 10.0.0.7 (member freshchat-connector-2b0c…)".
func (m Member) String() string {
	return fmt.Sprintf("%s on %s (member %s)", m.ClientID, m.Host, m.MemberID)
}

// Lease is a running instance's membership of its group. Close it when the
// instance stops.
type Lease struct {
	cl       *kgo.Client
	group    string
	memberID string
	logger   *slog.Logger
	once     sync.Once
}

// Hold joins the consumer group named group as a member subscribed to topic
// and returns once the coordinator has accepted the member. opts are the
// cluster's connection options (seed brokers, TLS, SASL, client ID); Hold
// adds the group options. The member never fetches records and never
// commits offsets.
//
// topic must exist: the consumer joins only once its topic does, so Hold
// refuses at once a topic that is missing. Call it after the checkpoint
// topic has been ensured. Hold waits for the join until ctx ends; it then
// returns an error naming the last problem the group reported. logger may
// be nil.
func Hold(ctx context.Context, opts []kgo.Opt, group, topic string, logger *slog.Logger) (*Lease, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if group == "" || topic == "" {
		return nil, errors.New("instance: a group and a topic are required")
	}
	joined := make(chan struct{})
	var joinOnce sync.Once
	hook := &groupErrors{}
	all := append(append([]kgo.Opt{}, opts...),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()),
		kgo.SessionTimeout(SessionTimeout),
		kgo.HeartbeatInterval(SessionTimeout/4),
		kgo.WithHooks(hook),
		// Called after every join, with or without partitions: the
		// checkpoint topic has one partition, so all but one member get none.
		kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) {
			joinOnce.Do(func() { close(joined) })
		}),
	)
	cl, err := kgo.NewClient(all...)
	if err != nil {
		return nil, fmt.Errorf("instance: joining group %s: %w", group, err)
	}
	// Membership is all the group is for: nothing is fetched.
	cl.PauseFetchTopics(topic)
	if err := topicExists(ctx, kadm.NewClient(cl), topic); err != nil {
		cl.Close()
		return nil, fmt.Errorf("instance: joining group %s: %w", group, err)
	}

	select {
	case <-joined:
	case <-ctx.Done():
		cl.Close()
		err := fmt.Errorf("instance: joining group %s: %w", group, context.Cause(ctx))
		if last := hook.last(); last != nil {
			err = fmt.Errorf("%w (last group error: %w)", err, last)
		}
		return nil, err
	}
	memberID, _ := cl.GroupMetadata()
	logger.Info("holding the transactional identity", "group", group, "member", memberID)
	return &Lease{cl: cl, group: group, memberID: memberID, logger: logger}, nil
}

// MemberID is the member ID the coordinator gave this instance.
func (l *Lease) MemberID() string { return l.memberID }

// Close leaves the group, so that Holders no longer lists this instance.
// It is safe to call more than once.
func (l *Lease) Close() {
	l.once.Do(func() {
		l.cl.Close() // leaves the group before closing the connections
		l.logger.Info("released the transactional identity", "group", l.group, "member", l.memberID)
	})
}

// Others returns the members of the lease's group other than this
// instance: the other running instances with its identity. The instance is
// recognised by its current member ID (a member that rejoined after a lost
// session has a new one).
func (l *Lease) Others(ctx context.Context) ([]Member, error) {
	all, err := Holders(ctx, kadm.NewClient(l.cl), l.group)
	if err != nil {
		return nil, err
	}
	self, _ := l.cl.GroupMetadata()
	out := all[:0]
	for _, m := range all {
		if m.MemberID != self && m.MemberID != l.memberID {
			out = append(out, m)
		}
	}
	return out, nil
}

// Holders returns the members of group: the running instances holding the
// identity. An empty or unknown group has none.
func Holders(ctx context.Context, adm *kadm.Client, group string) ([]Member, error) {
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return nil, fmt.Errorf("describing group %s: %w", group, err)
	}
	g, ok := described[group]
	if !ok {
		return nil, nil
	}
	if g.Err != nil {
		if errors.Is(g.Err, kerr.GroupIDNotFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("describing group %s: %w", group, g.Err)
	}
	if g.State == "Dead" || g.State == "Empty" {
		return nil, nil
	}
	out := make([]Member, 0, len(g.Members))
	for _, m := range g.Members {
		out = append(out, Member{
			ClientID: m.ClientID,
			Host:     strings.TrimPrefix(m.ClientHost, "/"),
			MemberID: m.MemberID,
		})
	}
	return out, nil
}

// topicExists reports an error when topic does not exist or the cluster
// cannot say.
func topicExists(ctx context.Context, adm *kadm.Client, topic string) error {
	tds, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return fmt.Errorf("looking up topic %s: %w", topic, err)
	}
	td, ok := tds[topic]
	switch {
	case !ok, errors.Is(td.Err, kerr.UnknownTopicOrPartition):
		return fmt.Errorf("topic %s does not exist; the member can join only once it does", topic)
	case td.Err != nil:
		return fmt.Errorf("looking up topic %s: %w", topic, td.Err)
	}
	return nil
}

// groupErrors remembers the last error of the group management loop, so
// that a join that never completes can say why.
type groupErrors struct {
	mu  sync.Mutex
	err error
}

// OnGroupManageError implements kgo.HookGroupManageError.
func (h *groupErrors) OnGroupManageError(err error) {
	h.mu.Lock()
	h.err = err
	h.mu.Unlock()
}

func (h *groupErrors) last() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}
