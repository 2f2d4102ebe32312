package instance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Config describes a connector's group.
type Config struct {
	// Group is the consumer group the instances share the units in.
	Group string
	// Topic is the coordination topic: partition i stands for Units[i].
	// Nothing is ever written to it or read from it; its partitions are
	// what the group protocol assigns.
	Topic string
	// Manifest holds the units (sorted) and what else the instances must
	// agree on.
	Manifest Manifest
	// Span is this instance's bounded range, resolved (zero for a live
	// run). Instances given the same Manifest.Range run the group's: that
	// of the instances already owning units, else the leader's.
	Span Span
	// InstanceID is the member's stable ID (KIP-345 static membership): an
	// instance restarted with the same ID gets its units back at once,
	// without waiting for its old session to expire. Required.
	InstanceID string
	// Host names the machine for operators (status).
	Host string
	// SessionTimeout is how long the group keeps a member that stopped
	// heartbeating before its units move to the others.
	SessionTimeout time.Duration
	// ReplicationFactor of the coordination topic when it is created
	// (-1: the broker's default).
	ReplicationFactor int16
	// Logger receives the rebalances. Optional.
	Logger *slog.Logger
}

// Handler runs the units the group assigns to the member. Both methods are
// called from one goroutine, never at the same time.
type Handler interface {
	// Assigned: the member now owns units too. It must not block for long:
	// it starts them. span is the bounded range the group runs (see
	// Config.Span); zero for a live run.
	Assigned(units []string, span Span)
	// Revoked: the member must give units up. It returns once they have
	// stopped writing: only then may the group hand them to another member.
	Revoked(units []string, lost bool)
}

// MismatchError is the group refusing an instance whose configuration
// differs from that of the instances already running.
type MismatchError struct {
	Group  string
	Reason string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("group %s refused this instance: %s. Every instance of a connector must run with the same events, accounts and checkpoint topic: "+
		"fix the configuration, or stop every instance before changing it", e.Group, e.Reason)
}

// ErrInstanceIDInUse is another running process joining with this
// instance's ID: the group fenced this one.
var ErrInstanceIDInUse = errors.New("another process joined the group with this instance's group.instance_id (GROUP_INSTANCE_ID); " +
	"each running instance needs its own (in Kubernetes, the pod name)")

// Member is a running instance's membership of its group.
type Member struct {
	cfg     Config
	cl      *kgo.Client
	bal     *balancer
	logger  *slog.Logger
	handler Handler
	opts    []kgo.Opt // the cluster's connection options

	mu        sync.Mutex
	owned     []string // units owned now, sorted
	everOwned bool
	fatal     chan error
}

// EnsureTopic creates the coordination topic with a partition per unit, or
// adds partitions to it when the units outgrew it. (It asks the brokers to
// create and grow rather than reading the topic first: a client's view of
// a topic created a moment ago can be stale.)
func EnsureTopic(ctx context.Context, adm *kadm.Client, topic string, units int, replication int16) error {
	// Nothing is ever written: the smallest retention keeps it empty.
	resp, err := adm.CreateTopic(ctx, int32(units), replication, map[string]*string{"retention.ms": ptr("60000")}, topic)
	if err == nil {
		err = resp.Err
	}
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, kerr.TopicAlreadyExists):
		return fmt.Errorf("creating coordination topic %s: %w", topic, err)
	}
	up, err := adm.UpdatePartitions(ctx, units, topic)
	if err == nil {
		err = up.Error()
	}
	// INVALID_PARTITIONS: the topic has this many partitions or more.
	if err != nil && !errors.Is(err, kerr.InvalidPartitions) {
		return fmt.Errorf("growing coordination topic %s to %d partitions: %w", topic, units, err)
	}
	return nil
}

func ptr(s string) *string { return &s }

// Join makes the instance a member of its group. The group assigns it units
// (Handler.Assigned) and takes them back (Handler.Revoked) as instances come
// and go, until Close. opts are the cluster's connection options; Join
// adds the group's. Call EnsureTopic first.
func Join(cfg Config, h Handler, opts ...kgo.Opt) (*Member, error) {
	if cfg.Group == "" || cfg.Topic == "" || cfg.InstanceID == "" {
		return nil, errors.New("instance: a group, a topic and an instance ID are required")
	}
	if !slices.IsSorted(cfg.Manifest.Units) {
		return nil, errors.New("instance: the units must be sorted")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := &Member{cfg: cfg, bal: newBalancer(cfg.Topic, cfg.Manifest, cfg.Span, cfg.Host), logger: logger, handler: h, opts: opts, fatal: make(chan error, 1)}
	all := append(slices.Clone(opts),
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topic),
		kgo.Balancers(m.bal),
		kgo.InstanceID(cfg.InstanceID),
		kgo.SessionTimeout(cfg.SessionTimeout),
		kgo.HeartbeatInterval(max(cfg.SessionTimeout/10, 100*time.Millisecond)),
		kgo.RebalanceTimeout(cfg.SessionTimeout+time.Minute),
		kgo.DisableAutoCommit(),
		kgo.WithHooks(groupHook{m}),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) { m.assigned(a) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, r map[string][]int32) { m.revoked(r, false) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, r map[string][]int32) { m.revoked(r, true) }),
	)
	cl, err := kgo.NewClient(all...)
	if err != nil {
		return nil, fmt.Errorf("instance: joining group %s: %w", cfg.Group, err)
	}
	// The partitions are all the group is for: nothing is fetched.
	cl.PauseFetchTopics(cfg.Topic)
	m.cl = cl
	return m, nil
}

// Err delivers the error that ends the membership, if one does: the leader
// refused this instance (*MismatchError), another process took its
// instance ID (ErrInstanceIDInUse), or another kind of member is in the
// group. The units are stopped (Revoked) before or soon after.
func (m *Member) Err() <-chan error { return m.fatal }

func (m *Member) fail(err error) {
	select {
	case m.fatal <- err:
	default:
	}
}

// units maps the coordination topic's partitions to units; partitions
// beyond the units (the topic outgrew them) stand for nothing.
func (m *Member) units(parts map[string][]int32) []string {
	var out []string
	for _, p := range parts[m.cfg.Topic] {
		if int(p) < len(m.cfg.Manifest.Units) {
			out = append(out, m.cfg.Manifest.Units[p])
		}
	}
	slices.Sort(out)
	return out
}

func (m *Member) assigned(parts map[string][]int32) {
	if reason := m.bal.refused(); reason != "" {
		m.fail(&MismatchError{Group: m.cfg.Group, Reason: reason})
		return
	}
	gained := m.units(parts)
	m.mu.Lock()
	m.owned = mergeSorted(m.owned, gained)
	owned := len(m.owned)
	m.everOwned = m.everOwned || owned > 0
	m.mu.Unlock()
	if len(gained) > 0 {
		m.logger.Info("units assigned to this instance", "gained", gained, "owned", owned)
		m.handler.Assigned(gained, m.bal.groupSpan())
	} else {
		m.logger.Debug("rebalanced: no new units for this instance", "owned", owned)
	}
}

func (m *Member) revoked(parts map[string][]int32, lost bool) {
	gone := m.units(parts)
	if len(gone) == 0 {
		return
	}
	m.mu.Lock()
	m.owned = slices.DeleteFunc(m.owned, func(u string) bool { return slices.Contains(gone, u) })
	owned := len(m.owned)
	m.mu.Unlock()
	if lost {
		m.logger.Warn("units lost: this instance's group membership ended (its session expired while it could not reach the group coordinator, "+
			"or another process joined with its instance ID); they are stopped here and go to other instances", "lost", gone, "owned", owned)
	} else {
		m.logger.Info("units revoked from this instance", "lost", gone, "owned", owned)
	}
	m.handler.Revoked(gone, lost)
}

// Span is the bounded range this instance runs: the group's, once the
// leader assigned this instance units (instances given the same relative
// range resolve it at different instants: they run one), else its own.
// Call it from Handler.Assigned.
func (m *Member) Span() Span { return m.bal.groupSpan() }

// Owned returns the units the member owns now.
func (m *Member) Owned() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.owned)
}

// MemberID is the member ID the coordinator gave this instance ("" before
// the first join).
func (m *Member) MemberID() string {
	id, _ := m.cl.GroupMetadata()
	return id
}

// Owner asks the group coordinator which member owns unit now. It returns
// the zero Member and false when none does.
func (m *Member) Owner(ctx context.Context, unit string) (Holder, bool, error) {
	hs, err := Holders(ctx, kadm.NewClient(m.cl), m.cfg.Group)
	if err != nil {
		return Holder{}, false, err
	}
	for _, h := range hs {
		if slices.Contains(h.Units, unit) {
			return h, true, nil
		}
	}
	return Holder{}, false, nil
}

// Holders lists the group's members as the coordinator sees them.
func (m *Member) Holders(ctx context.Context) ([]Holder, error) {
	return Holders(ctx, kadm.NewClient(m.cl), m.cfg.Group)
}

// Close stops the membership. Its units must have been stopped (or be
// stopped by the Revoked call Close may make). With leave, the member
// then leaves the group on purpose, so that its units move to the other
// instances at once instead of after the session timeout (a static member
// does not leave on its own: a restart with the same ID would take them
// back). ctx bounds the leave.
func (m *Member) Close(ctx context.Context, leave bool) error {
	m.cl.Close()
	if !leave {
		return nil
	}
	cl, err := kgo.NewClient(m.opts...)
	if err != nil {
		return fmt.Errorf("instance: leaving group %s: %w", m.cfg.Group, err)
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).LeaveGroup(ctx, kadm.LeaveGroup(m.cfg.Group).InstanceIDs(m.cfg.InstanceID).Reason("connector stopped"))
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		return fmt.Errorf("instance: leaving group %s: %w", m.cfg.Group, err)
	}
	m.mu.Lock()
	owned := m.everOwned
	m.mu.Unlock()
	if owned {
		m.logger.Info("left the group: this instance's units go to the other instances now", "group", m.cfg.Group, "instance_id", m.cfg.InstanceID)
	} else {
		m.logger.Info("left the group", "group", m.cfg.Group, "instance_id", m.cfg.InstanceID)
	}
	return nil
}

// groupHook watches the group management loop for the errors that end the
// membership.
type groupHook struct{ m *Member }

// OnGroupManageError implements kgo.HookGroupManageError.
func (h groupHook) OnGroupManageError(err error) {
	switch {
	case errors.Is(err, kerr.FencedInstanceID):
		h.m.fail(fmt.Errorf("group %s, instance %s: %w", h.m.cfg.Group, h.m.cfg.InstanceID, ErrInstanceIDInUse))
	case errors.Is(err, kerr.InconsistentGroupProtocol):
		h.m.fail(fmt.Errorf("group %s: %w: another kind of member is in the group (an older connector version, or a consumer using the group's name); stop it, "+
			"or give this connector another kafka.transactional_id", h.m.cfg.Group, err))
	default:
		h.m.logger.Debug("group management", "group", h.m.cfg.Group, "error", err.Error())
	}
}

func mergeSorted(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}
