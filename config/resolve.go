package config

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/freshstream/freshchat-kafka/checkpoint"
)

// ResolveEvent returns the spelling of name the connector uses: an event
// of c.Events or a known one (AllEvents), matched without regard to case
// or surrounding spaces. The error lists the configured events.
func (c Config) ResolveEvent(name string) (string, error) {
	for _, list := range [][]string{c.Events, AllEvents} {
		if i := slices.IndexFunc(list, func(e string) bool { return strings.EqualFold(e, strings.TrimSpace(name)) }); i >= 0 {
			return list[i], nil
		}
	}
	return "", fmt.Errorf("--event %q is neither configured nor a known event (configured: %s)", name, strings.Join(c.Events, ", "))
}

// ResolveUnit finds the unit that name names: an event of the default
// account ("Message-Sent"), or "account/event". Events resolve as
// ResolveEvent does, against the account's events. The error names the
// configured accounts when the account is unknown.
func (c Config) ResolveUnit(name string) (Account, string, error) {
	accountName, event := checkpoint.SplitKey(strings.TrimSpace(name))
	var names []string
	for _, a := range c.AllAccounts() {
		names = append(names, a.Name)
		if a.Name != accountName {
			continue
		}
		own := c
		own.Events = a.Events
		ev, err := own.ResolveEvent(event)
		return a, ev, err
	}
	return Account{}, "", fmt.Errorf("--event %q names account %q, which is not configured (accounts: %s); write account/event", name, accountName, strings.Join(names, ", "))
}

// SpoolDir is where the instance's Freshchat clients spool downloads: a
// folder of its own under TempDir, named after the transactional identity
// and group.instance_id, so that the files a crashed instance left there
// are removed by its restart without touching another instance's or
// another connector's.
func (c Config) SpoolDir() string {
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, c.Kafka.TransactionalID+"-"+c.Group.InstanceID)
	return filepath.Join(c.TempDir, "freshchat-spool-"+strings.TrimSuffix(safe, "-"))
}
