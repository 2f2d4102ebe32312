package cli

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/connect"
)

// commandFlags is newFlags with a usage that also explains the command and
// its exit codes.
func commandFlags(name, synopsis, about string, s Streams) *flag.FlagSet {
	fs := newFlags(name, synopsis, s)
	fs.Usage = func() {
		fmt.Fprintf(s.Err, "Usage: connector %s\n\n%s\n\nFlags:\n", synopsis, about)
		fs.PrintDefaults()
	}
	return fs
}

// registryClient is a client of the configured schema registry; without one
// it reports a configuration problem.
func registryClient(cfg *config.Config) (*sr.Client, error) {
	if cfg.SchemaRegistry.URL == nil {
		return nil, usageError{errors.New("no schema registry configured: set schema_registry.url (SCHEMA_REGISTRY_URL); without one the connector writes Avro single-object encoding and registers nothing")}
	}
	return connect.Registry(cfg.SchemaRegistry)
}

// resolveEvent returns the spelling of name the connector uses: a configured
// event or a known one, matched case-insensitively.
func resolveEvent(cfg *config.Config, name string) (string, error) {
	for _, list := range [][]string{cfg.Events, config.AllEvents} {
		if i := slices.IndexFunc(list, func(e string) bool { return strings.EqualFold(e, strings.TrimSpace(name)) }); i >= 0 {
			return list[i], nil
		}
	}
	return "", usageError{fmt.Errorf("--event %q is neither configured nor a known event (configured: %s)", name, strings.Join(cfg.Events, ", "))}
}

// resolveUnit finds the unit name names: an event of the default account
// ("Message-Sent"), or "account/event". Events match without regard to case.
func resolveUnit(cfg *config.Config, name string) (config.Account, string, error) {
	accountName, event := checkpoint.SplitKey(strings.TrimSpace(name))
	var names []string
	for _, a := range cfg.AllAccounts() {
		names = append(names, a.Name)
		if a.Name != accountName {
			continue
		}
		c := *cfg
		c.Events = a.Events
		ev, err := resolveEvent(&c, event)
		return a, ev, err
	}
	return config.Account{}, "", usageError{fmt.Errorf("--event %q names account %q, which is not configured (accounts: %s); write account/event", name, accountName, strings.Join(names, ", "))}
}
