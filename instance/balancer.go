package instance

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Protocol is the name of the group protocol the connector's instances
// speak: the cooperative-sticky assignment, with each member's Manifest in
// its metadata. An instance of another protocol (an older connector, a
// plain consumer) cannot join the group.
const Protocol = "freshchat-units-v1"

// Manifest is what every instance of a group must agree on: the units it
// shares out and where their checkpoints are. Two instances that disagree
// would split the work wrongly (a unit owned twice, or never), so the group
// leader refuses the odd ones (see balancer).
type Manifest struct {
	CheckpointTopic string   `json:"checkpoint_topic"`
	Units           []string `json:"units"`
	// Topics are the topics the units write, sorted.
	Topics []string `json:"topics,omitempty"`
	// Range is a bounded run's range as the operator gave it (such as
	// "--from -6h --to -1h"); "" for a live run. Instances that give the
	// same range, even relative, run the same one: the group's (see
	// Member.Range).
	Range string `json:"range,omitempty"`
}

// Span is a bounded run's range resolved to instants.
type Span struct {
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
}

// Diff describes how other differs from m, from m's point of view; ""
// when they agree.
func (m Manifest) Diff(other Manifest) string {
	var out []string
	if m.CheckpointTopic != other.CheckpointTopic {
		out = append(out, fmt.Sprintf("checkpoint topic %q here, %q there", m.CheckpointTopic, other.CheckpointTopic))
	}
	onlyHere, onlyThere := missing(m.Units, other.Units), missing(other.Units, m.Units)
	if len(onlyHere) > 0 {
		out = append(out, "units only here: "+strings.Join(onlyHere, ", "))
	}
	if len(onlyThere) > 0 {
		out = append(out, "units only there: "+strings.Join(onlyThere, ", "))
	}
	if th, tt := missing(m.Topics, other.Topics), missing(other.Topics, m.Topics); len(th)+len(tt) > 0 {
		out = append(out, fmt.Sprintf("topics only here: [%s], only there: [%s]", strings.Join(th, ", "), strings.Join(tt, ", ")))
	}
	if m.Range != other.Range {
		out = append(out, fmt.Sprintf("%s here, %s there", describeRange(m.Range), describeRange(other.Range)))
	}
	if len(out) == 0 && !slices.Equal(m.Units, other.Units) {
		out = append(out, "the units are listed in another order")
	}
	return strings.Join(out, "; ")
}

func describeRange(r string) string {
	if r == "" {
		return "a live run"
	}
	return "a bounded run " + r
}

// missing returns the elements of a that b lacks.
func missing(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

// memberData is the user data of a member's join metadata: its manifest,
// who it is, and the cooperative-sticky assignor's own data.
type memberData struct {
	V        int      `json:"v"`
	Manifest Manifest `json:"manifest"`
	// Span is the member's bounded range, resolved: its own, or the
	// group's once it adopted it.
	Span   Span   `json:"span,omitzero"`
	Host   string `json:"host"`
	Sticky []byte `json:"sticky,omitempty"`
}

// assignmentData is the user data of an assignment: why the member is
// refused, or the group's resolved range for an accepted one.
type assignmentData struct {
	Refused string `json:"refused,omitempty"`
	Span    Span   `json:"span,omitzero"`
}

// balancer is the cooperative-sticky assignor with a manifest check. Every
// member sends its Manifest; the leader assigns units only to members whose
// manifest agrees with the group's (that of the members already owning
// units, or the leader's own when none does), and tells each other member
// why it was refused in its assignment. A refused member learns it through
// ParseSyncAssignment (see refused).
type balancer struct {
	inner    kgo.GroupBalancer
	manifest Manifest
	host     string
	topic    string // the coordination topic

	mu      sync.Mutex
	span    Span   // this member's range: its own until it adopts the group's
	refusal string // why the leader refused this member; "" when it did not
}

func newBalancer(topic string, m Manifest, span Span, host string) *balancer {
	return &balancer{inner: kgo.CooperativeStickyBalancer(), manifest: m, span: span, host: host, topic: topic}
}

func (b *balancer) ProtocolName() string { return Protocol }
func (b *balancer) IsCooperative() bool  { return true }

// JoinGroupMetadata is the sticky assignor's metadata with its user data
// wrapped in ours.
func (b *balancer) JoinGroupMetadata(topics []string, current map[string][]int32, generation int32) []byte {
	raw := b.inner.JoinGroupMetadata(topics, current, generation)
	var meta kmsg.ConsumerMemberMetadata
	if err := meta.ReadFrom(raw); err != nil {
		panic("instance: the sticky assignor's own metadata does not parse: " + err.Error())
	}
	b.mu.Lock()
	span := b.span
	b.mu.Unlock()
	data, err := json.Marshal(memberData{V: 1, Manifest: b.manifest, Span: span, Host: b.host, Sticky: meta.UserData})
	if err != nil {
		panic("instance: encoding member data: " + err.Error())
	}
	meta.UserData = data
	return meta.AppendTo(nil)
}

// ParseSyncAssignment reads this member's assignment, and remembers a
// refusal.
func (b *balancer) ParseSyncAssignment(assignment []byte) (map[string][]int32, error) {
	var a kmsg.ConsumerMemberAssignment
	if len(assignment) > 0 {
		if err := a.ReadFrom(assignment); err != nil {
			return nil, fmt.Errorf("instance: reading the assignment: %w", err)
		}
	}
	var d assignmentData
	if len(a.UserData) > 0 {
		if err := json.Unmarshal(a.UserData, &d); err != nil {
			return nil, fmt.Errorf("instance: reading the assignment's data: %w", err)
		}
	}
	b.mu.Lock()
	b.refusal = d.Refused
	if d.Refused == "" && !d.Span.To.IsZero() {
		b.span = d.Span // the group's: advertised from now on
	}
	b.mu.Unlock()
	if d.Refused != "" {
		return map[string][]int32{}, nil
	}
	return kgo.ParseConsumerSyncAssignment(assignment)
}

// groupSpan is the range this member runs: the group's once the leader
// sent it, its own before.
func (b *balancer) groupSpan() Span {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.span
}

// refused is why the leader refused this member in the last assignment;
// "" when it did not.
func (b *balancer) refused() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.refusal
}

// decodeMember reads a member's join metadata and our data inside it.
func decodeMember(protocolMetadata []byte) (kmsg.ConsumerMemberMetadata, memberData, error) {
	var meta kmsg.ConsumerMemberMetadata
	if err := meta.ReadFrom(protocolMetadata); err != nil {
		return meta, memberData{}, fmt.Errorf("reading member metadata: %w", err)
	}
	var d memberData
	if err := json.Unmarshal(meta.UserData, &d); err != nil {
		return meta, d, fmt.Errorf("reading member data: %w", err)
	}
	return meta, d, nil
}

// MemberBalancer refuses the members whose manifest differs from the
// group's and balances the others with the sticky assignor, each member's
// user data restored to the sticky assignor's own.
func (b *balancer) MemberBalancer(members []kmsg.JoinGroupResponseMember) (kgo.GroupMemberBalancer, map[string]struct{}, error) {
	metas := make([]kmsg.ConsumerMemberMetadata, len(members))
	datas := make([]memberData, len(members))
	for i, m := range members {
		meta, d, err := decodeMember(m.ProtocolMetadata)
		if err != nil {
			return nil, nil, fmt.Errorf("instance: member %s: %w", m.MemberID, err)
		}
		metas[i], datas[i] = meta, d
	}
	// The group's manifest is that of the members already owning units:
	// a newcomer never changes what a running group does. Without owners
	// (the group forms), the leader's own.
	b.mu.Lock()
	own := b.span
	b.mu.Unlock()
	group, span, adopted := b.manifest, own, false
	for i := range members {
		if len(metas[i].OwnedPartitions) == 0 {
			continue
		}
		if datas[i].Manifest.Diff(b.manifest) == "" {
			group, span, adopted = b.manifest, datas[i].Span, true
			break
		}
		if !adopted {
			group, span, adopted = datas[i].Manifest, datas[i].Span, true
		}
	}
	var kept []kmsg.JoinGroupResponseMember
	refused := map[string]string{}
	for i, m := range members {
		if diff := datas[i].Manifest.Diff(group); diff != "" {
			refused[m.MemberID] = fmt.Sprintf("its configuration differs from the group's (%s)", diff)
			continue
		}
		meta := metas[i]
		meta.UserData = datas[i].Sticky
		m.ProtocolMetadata = meta.AppendTo(nil)
		kept = append(kept, m)
	}
	inner, topics, err := b.inner.MemberBalancer(kept)
	if err != nil {
		return nil, nil, err
	}
	return &memberBalancer{inner: inner, refused: refused, span: span, topic: b.topic, units: int32(len(group.Units))}, topics, nil
}

// memberBalancer adds the refused members' assignments to the sticky plan,
// and shares only the coordination topic's partitions that stand for a
// unit: the topic never shrinks, so after units were removed its last
// partitions stand for none, and sharing them would leave the real units
// unevenly spread.
type memberBalancer struct {
	inner   kgo.GroupMemberBalancer
	refused map[string]string
	span    Span // the group's range, for every accepted member
	topic   string
	units   int32
}

func (m *memberBalancer) SetBalanceInfo(info kgo.BalanceInfo) {
	if i, ok := m.inner.(kgo.GroupMemberBalancerInfo); ok {
		i.SetBalanceInfo(info)
	}
}

func (m *memberBalancer) Balance(topics map[string]int32) kgo.IntoSyncAssignment {
	plan, err := m.BalanceOrError(topics)
	if err != nil {
		panic(err) // unreachable: kgo calls BalanceOrError
	}
	return plan
}

func (m *memberBalancer) BalanceOrError(topics map[string]int32) (kgo.IntoSyncAssignment, error) {
	if n, ok := topics[m.topic]; ok && n > m.units {
		topics[m.topic] = m.units
	}
	var plan kgo.IntoSyncAssignment
	if e, ok := m.inner.(kgo.GroupMemberBalancerOrError); ok {
		p, err := e.BalanceOrError(topics)
		if err != nil {
			return nil, err
		}
		plan = p
	} else {
		plan = m.inner.Balance(topics)
	}
	out := plan.IntoSyncAssignment()
	if !m.span.To.IsZero() {
		for i := range out {
			var a kmsg.ConsumerMemberAssignment
			if err := a.ReadFrom(out[i].MemberAssignment); err != nil {
				return nil, fmt.Errorf("instance: reading the sticky plan: %w", err)
			}
			data, err := json.Marshal(assignmentData{Span: m.span})
			if err != nil {
				return nil, err
			}
			a.UserData = data
			out[i].MemberAssignment = a.AppendTo(nil)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(m.refused)) {
		data, err := json.Marshal(assignmentData{Refused: m.refused[id]})
		if err != nil {
			return nil, err
		}
		a := kmsg.NewConsumerMemberAssignment()
		a.UserData = data
		out = append(out, kmsg.SyncGroupRequestGroupAssignment{MemberID: id, MemberAssignment: a.AppendTo(nil)})
	}
	return syncAssignment(out), nil
}

type syncAssignment []kmsg.SyncGroupRequestGroupAssignment

func (s syncAssignment) IntoSyncAssignment() []kmsg.SyncGroupRequestGroupAssignment { return s }
