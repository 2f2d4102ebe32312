package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/registry"
)

const schemasSynopsis = "schemas [print|register|check] [--event E] [--config FILE]"

// schemasCommand prints the events' Avro schemas, registers them, or checks
// them against the registry without registering.
func schemasCommand(ctx context.Context, args []string, s Streams) error {
	action := "print"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		action, args = args[0], args[1:]
	}
	fs := commandFlags("schemas", schemasSynopsis, `Actions (default print):
  print     write the .avsc of each configured event (or of --event) to
            standard output; needs no Kafka, registry or token
  register  register each schema under <topic>-value in the configured
            registry, as the connector does at start (a version the
            subject's compatibility level forbids is refused), and print
            subject, version and ID
  check     compare each schema with the subject's registered versions under
            the subject's compatibility level and say whether it is new,
            compatible or incompatible; registers nothing

Exit codes: 0 done (every schema new or compatible), 1 a schema was refused
or the registry failed, 2 bad usage or configuration (such as no registry
for register and check).`, s)
	path := fs.String("config", "", "YAML configuration file (every setting also has an environment variable)")
	event := fs.String("event", "", "only this event (default: every configured event); account/event for one account's")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if action != "print" && action != "register" && action != "check" {
		return usageError{fmt.Errorf("schemas: unknown action %q: use print, register or check", action)}
	}
	cfg, err := config.Load(config.LoadOptions{Path: *path})
	if err != nil {
		return err
	}
	units, err := eventUnits(cfg, *event)
	if err != nil {
		return err
	}
	if action == "print" {
		return registry.Print(s.Out, s.Err, units)
	}
	rc, err := registryClient(cfg)
	if err != nil {
		return err
	}
	subjects := registry.Subjects{Client: rc, Settings: cfg.SchemaRegistry, Logger: newLogger(cfg.Log, s.Err)}
	if action == "register" {
		return subjects.Register(ctx, s.Out, units)
	}
	return subjects.Check(ctx, s.Out, units)
}

// eventUnits are the units --event names: every configured one when it is
// empty, an event of every account that has it, or account/event.
func eventUnits(cfg *config.Config, only string) ([]registry.Unit, error) {
	switch {
	case strings.Contains(only, "/"):
		a, ev, err := cfg.ResolveUnit(only)
		if err != nil {
			return nil, usageError{err}
		}
		return []registry.Unit{registry.UnitOf(a, ev)}, nil
	case only != "" && len(cfg.AllAccounts()) == 1:
		ev, err := cfg.ResolveEvent(only)
		if err != nil {
			return nil, usageError{err}
		}
		return []registry.Unit{registry.UnitOf(cfg.AllAccounts()[0], ev)}, nil
	}
	units := registry.Units(cfg, only)
	if len(units) == 0 {
		return nil, usageError{fmt.Errorf("--event %q is not configured for any account", only)}
	}
	return units, nil
}
