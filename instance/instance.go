// Package instance shares a connector's units of work among its running
// instances, through Kafka's consumer group protocol.
//
// A unit is one (account, event); every instance started with the same
// configuration joins the group named after the connector's transactional
// ID prefix (Join) and the group coordinator's protocol assigns the units
// among the live members: the group subscribes to a coordination topic
// with one partition per unit and the leader balances the partitions with
// the cooperative-sticky assignor, so a rebalance moves only the units that
// must move and never stops those that stay. Nothing is ever written to or
// read from the coordination topic, and no offset is committed: its
// partitions are only what the protocol assigns.
//
// The group decides who should write a unit; the unit's transactional
// producer makes sure no one else can (see pipeline): the new owner
// initialises it before it reads the unit's checkpoint, which fences the
// previous owner if it is still writing.
//
// Operators' commands ask the coordinator who the members are and what
// each owns (Holders) before they do anything that would fence a running
// connector.
package instance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Holder is one running connector instance of a group, as the group
// coordinator sees it.
type Holder struct {
	// ClientID is the Kafka client ID the instance connected with.
	ClientID string `json:"client_id"`
	// Host is the address the coordinator sees the instance connect from,
	// or the host name the instance gave.
	Host string `json:"host"`
	// MemberID is the ID the coordinator gave the member.
	MemberID string `json:"member_id"`
	// InstanceID is the member's stable ID (group.instance_id).
	InstanceID string `json:"instance_id,omitempty"`
	// Units are the units the member owns, sorted.
	Units []string `json:"units"`
}

// String reads like "freshchat-connector-0 on 10.0.0.7 (member freshchat-connector-0-2b0c…)".
func (h Holder) String() string {
	name := h.InstanceID
	if name == "" {
		name = h.ClientID
	}
	return fmt.Sprintf("%s on %s (member %s)", name, h.Host, h.MemberID)
}

// Holders returns the members of group, with the units each owns. An
// empty or unknown group has none.
func Holders(ctx context.Context, adm *kadm.Client, group string) ([]Holder, error) {
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
	out := make([]Holder, 0, len(g.Members))
	for _, m := range g.Members {
		h := Holder{
			ClientID: m.ClientID,
			Host:     strings.TrimPrefix(m.ClientHost, "/"),
			MemberID: m.MemberID,
			Units:    []string{},
		}
		if m.InstanceID != nil {
			h.InstanceID = *m.InstanceID
		}
		var units []string
		if d, ok := dataOf(m); ok {
			units = d.Manifest.Units
			if d.Host != "" {
				h.Host = d.Host
			}
		}
		if a, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range a.Topics {
				for _, p := range t.Partitions {
					if int(p) < len(units) {
						h.Units = append(h.Units, units[p])
					}
				}
			}
		}
		slices.Sort(h.Units)
		out = append(out, h)
	}
	return out, nil
}

// Conflict is another connector deployment (another group, so another
// transactional ID prefix) writing the same checkpoint topic or topics.
type Conflict struct {
	Group  string   `json:"group"`
	Shared []string `json:"shared"` // the topics both write
}

func (c Conflict) String() string {
	return fmt.Sprintf("group %s (kafka.transactional_id %s) also writes %s", c.Group, c.Group, strings.Join(c.Shared, ", "))
}

// Conflicts finds the running connector groups other than group whose
// members write the checkpoint topic or one of the topics of m. Two such
// deployments would each extract the same rows: neither one's
// transactions fence the other's.
func Conflicts(ctx context.Context, adm *kadm.Client, group string, m Manifest) ([]Conflict, error) {
	listed, err := adm.ListGroups(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing groups: %w", err)
	}
	var names []string
	for _, g := range listed.Sorted() {
		if g.Group != group && g.ProtocolType == "consumer" && g.State != "Empty" && g.State != "Dead" {
			names = append(names, g.Group)
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	described, err := adm.DescribeGroups(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("describing groups: %w", err)
	}
	mine := append([]string{m.CheckpointTopic}, m.Topics...)
	var out []Conflict
	for _, g := range described.Sorted() {
		if g.Err != nil || g.Protocol != Protocol {
			continue
		}
		shared := map[string]bool{}
		for _, mem := range g.Members {
			d, ok := dataOf(mem)
			if !ok {
				continue
			}
			for _, t := range append([]string{d.Manifest.CheckpointTopic}, d.Manifest.Topics...) {
				if slices.Contains(mine, t) {
					shared[t] = true
				}
			}
		}
		if len(shared) > 0 {
			c := Conflict{Group: g.Group}
			for t := range shared {
				c.Shared = append(c.Shared, t)
			}
			slices.Sort(c.Shared)
			out = append(out, c)
		}
	}
	return out, nil
}

// Precheck refuses, before an instance creates or joins anything, a
// configuration that the running instances of group would refuse: it
// returns a *MismatchError when a member that owns units has a manifest
// other than m. (The group's leader makes the same check at every join, so
// two instances started at the same instant with different configurations
// are still told apart; Precheck only spares the odd one from creating
// topics it will never use.)
func Precheck(ctx context.Context, adm *kadm.Client, group string, m Manifest) error {
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return fmt.Errorf("describing group %s: %w", group, err)
	}
	g, ok := described[group]
	if !ok || g.Err != nil || g.Protocol != Protocol {
		return nil // no group yet, or nothing of ours in it (the join says more)
	}
	for _, mem := range g.Members {
		a, ok := mem.Assigned.AsConsumer()
		if !ok || len(a.Topics) == 0 {
			continue
		}
		d, ok := dataOf(mem)
		if !ok {
			continue
		}
		if diff := m.Diff(d.Manifest); diff != "" {
			return &MismatchError{Group: group, Reason: fmt.Sprintf("its configuration differs from the group's (%s)", diff)}
		}
	}
	return nil
}

// dataOf is the data a described member joined with, when it is one of the
// connector's members.
func dataOf(m kadm.DescribedGroupMember) (memberData, bool) {
	meta, ok := m.Join.AsConsumer()
	if !ok {
		return memberData{}, false
	}
	_, d, err := decodeMember(meta.AppendTo(nil))
	return d, err == nil
}
