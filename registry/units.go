// Package registry works on the connector's subjects in the schema
// registry: the subject "<topic>-value" of each unit's topic. It registers
// the events' embedded schemas under them as the connector does at start,
// compares them with the registered versions without registering, and says
// the verdict, one line per unit. It is built on the client connect.Registry
// returns and on the schemas package.
package registry

import (
	"strings"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/config"
)

// Unit is a unit of work (an event of an account) and the topic it writes:
// its schema's subject is the topic's.
type Unit struct {
	// Key is the unit key (checkpoint.UnitKey): the event for the default
	// account, account/event otherwise.
	Key   string
	Event string
	Topic string
}

// UnitOf is account a's unit of event.
func UnitOf(a config.Account, event string) Unit {
	return Unit{Key: checkpoint.UnitKey(a.Name, event), Event: event, Topic: a.Topic(event)}
}

// Subject is the subject the unit's schema is registered under
// (TopicNameStrategy, as sink.Confluent registers it).
func (u Unit) Subject() string { return u.Topic + "-value" }

// Units are the configured units, account by account in the configured
// order: every one when event is empty, else those of event, matched
// without regard to case or surrounding space. None is an empty list.
func Units(cfg *config.Config, event string) []Unit {
	var out []Unit
	for _, a := range cfg.AllAccounts() {
		for _, ev := range a.Events {
			if event == "" || strings.EqualFold(ev, strings.TrimSpace(event)) {
				out = append(out, UnitOf(a, ev))
			}
		}
	}
	return out
}
