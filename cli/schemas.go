package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/connect"
	"github.com/freshstream/freshchat-kafka/schemas"
	"github.com/freshstream/freshchat-kafka/sink"
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
	units, err := unitTopics(cfg, *event)
	if err != nil {
		return err
	}
	if action == "print" {
		var events []string
		for _, u := range units {
			if !slices.Contains(events, u.event) {
				events = append(events, u.event)
			}
		}
		return printSchemas(s, events)
	}
	rc, err := registryClient(cfg)
	if err != nil {
		return err
	}
	logger := newLogger(cfg.Log, s.Err)
	if action == "register" {
		return registerSchemas(ctx, s.Out, cfg, rc, logger, units)
	}
	return checkSchemas(ctx, s.Out, cfg, rc, units)
}

// unitTopic is a unit and the topic it writes: its schema's subject is the
// topic's.
type unitTopic struct{ unit, event, topic string }

// unitTopics are the configured units whose schemas a command works on:
// every one, or those only names (an event of every account that has it,
// or account/event).
func unitTopics(cfg *config.Config, only string) ([]unitTopic, error) {
	var out []unitTopic
	switch {
	case strings.Contains(only, "/"):
		a, ev, err := resolveUnit(cfg, only)
		if err != nil {
			return nil, err
		}
		return []unitTopic{{checkpoint.UnitKey(a.Name, ev), ev, a.Topic(ev)}}, nil
	case only != "" && len(cfg.AllAccounts()) == 1:
		ev, err := resolveEvent(cfg, only)
		if err != nil {
			return nil, err
		}
		a := cfg.AllAccounts()[0]
		return []unitTopic{{checkpoint.UnitKey(a.Name, ev), ev, a.Topic(ev)}}, nil
	}
	for _, a := range cfg.AllAccounts() {
		for _, ev := range a.Events {
			if only == "" || strings.EqualFold(ev, strings.TrimSpace(only)) {
				out = append(out, unitTopic{checkpoint.UnitKey(a.Name, ev), ev, a.Topic(ev)})
			}
		}
	}
	if len(out) == 0 {
		return nil, usageError{fmt.Errorf("--event %q is not configured for any account", only)}
	}
	return out, nil
}

// printSchemas writes the schemas of events as indented JSON documents, one
// after the other. Events without an embedded schema are named on s.Err.
func printSchemas(s Streams, events []string) error {
	printed := 0
	for _, ev := range events {
		sc, err := schemas.Lookup(ev)
		if errors.Is(err, schemas.ErrUnknownEvent) {
			fmt.Fprintf(s.Err, "connector: %s has no embedded schema: the connector derives one from its report's header at run time\n", ev)
			continue
		}
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if err := json.Indent(&b, []byte(sc.Text), "", "  "); err != nil {
			return fmt.Errorf("schema of %s: %w", ev, err)
		}
		b.WriteByte('\n')
		if _, err := s.Out.Write(b.Bytes()); err != nil {
			return err
		}
		printed++
	}
	if printed == 0 {
		return errors.New("no event with an embedded schema to print")
	}
	return nil
}

// registerSchemas registers the events' schemas through the Confluent
// framer, so that they meet the same compatibility checks as at start.
func registerSchemas(ctx context.Context, w io.Writer, cfg *config.Config, rc *sr.Client, logger *slog.Logger, units []unitTopic) error {
	framer := sink.Confluent{Client: rc, Logger: logger}
	failed := 0
	for _, u := range units {
		ev := u.unit
		subject := u.topic + "-value"
		sc, err := schemas.Lookup(u.event)
		if errors.Is(err, schemas.ErrUnknownEvent) {
			fmt.Fprintf(w, "- %s  %s  not registered: no embedded schema (derived from the report's header at run time)\n", ev, subject)
			continue
		}
		if err != nil {
			return err
		}
		schema := sr.Schema{Schema: sc.Text, Type: sr.TypeAvro}
		before, lookupErr := rc.LookupSchema(ctx, subject, schema)
		if _, err := framer.Prefix(ctx, u.topic, sc.Text, sc.Fingerprint); err != nil {
			if f := connect.RegistryFailure(err, cfg.SchemaRegistry); f != nil {
				return f // the same for every event
			}
			failed++
			fmt.Fprintf(w, "✗ %s  %s  not registered: %v\n", ev, subject, err)
			continue
		}
		ss, err := rc.LookupSchema(ctx, subject, schema)
		if err != nil {
			failed++
			fmt.Fprintf(w, "✗ %s  %s  registered, but looking it up again failed: %v\n", ev, subject, err)
			continue
		}
		what := "registered"
		if lookupErr == nil && before.Version == ss.Version {
			what = "already registered"
		}
		fmt.Fprintf(w, "✓ %s  %s  version %d  id %d  (%s)\n", ev, subject, ss.Version, ss.ID, what)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d schema(s) not registered", failed, len(units))
	}
	return nil
}

// checkSchemas compares the events' schemas with the registry.
func checkSchemas(ctx context.Context, w io.Writer, cfg *config.Config, rc *sr.Client, units []unitTopic) error {
	failed := 0
	for _, u := range units {
		v := compareSchema(ctx, rc, u.topic, u.event)
		if f := connect.RegistryFailure(v.Err, cfg.SchemaRegistry); f != nil {
			return f // the same for every event
		}
		fmt.Fprintln(w, v.line())
		if v.failed() {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d schema(s) would be refused or could not be checked", failed, len(units))
	}
	return nil
}

// Verdicts of comparing a schema with its subject.
const (
	verdictNew          = "new"          // the subject has no version: registering creates the first
	verdictCompatible   = "compatible"   // already registered, or a new version the subject's level allows
	verdictIncompatible = "incompatible" // the subject's level forbids it
	verdictSkipped      = "skipped"      // no embedded schema
	verdictError        = "error"        // the registry could not say
)

// schemaVerdict is what registering an event's schema would do.
type schemaVerdict struct {
	Event, Subject string
	Verdict        string
	Detail         string
	Err            error
}

func (v schemaVerdict) failed() bool {
	return v.Verdict == verdictIncompatible || v.Verdict == verdictError
}

// line reads like "✓ Message-Sent  freshchat.message-sent-value  new: ...".
func (v schemaVerdict) line() string {
	mark := "✓"
	switch {
	case v.failed():
		mark = "✗"
	case v.Verdict == verdictSkipped:
		mark = "-"
	}
	return fmt.Sprintf("%s %s  %s  %s", mark, v.Event, v.Subject, v.text())
}

// text reads like "compatible: BACKWARD with version 3; registering adds
// version 4".
func (v schemaVerdict) text() string {
	text := v.Verdict
	if v.Detail != "" {
		text += ": " + v.Detail
	}
	if v.Err != nil {
		text += ": " + v.Err.Error()
	}
	return text
}

// compareSchema says what registering event's schema under topic's subject
// would do, without registering: sink.Confluent.Plan, the dry run of what
// the connector does at start.
func compareSchema(ctx context.Context, rc *sr.Client, topic, event string) schemaVerdict {
	v := schemaVerdict{Event: event, Subject: topic + "-value"}
	sc, err := schemas.Lookup(event)
	if err != nil {
		v.Verdict, v.Detail = verdictSkipped, "no embedded schema (derived from the report's header at run time)"
		return v
	}
	p, err := sink.Confluent{Client: rc}.Plan(ctx, topic, sc.Text)
	var ie *sink.IncompatibleSchemaError
	switch {
	case errors.As(err, &ie):
		v.Verdict, v.Err = verdictIncompatible, err
	case err != nil:
		v.Verdict, v.Err = verdictError, err
	case p.Latest.Version == 0:
		v.Verdict, v.Detail = verdictNew, "the subject has no version yet; registering creates version 1"
	case !p.Registers() && p.Reuse.Version == p.Latest.Version:
		v.Verdict, v.Detail = verdictCompatible, fmt.Sprintf("already registered as the latest version %d (id %d)", p.Reuse.Version, p.Reuse.ID)
	case !p.Registers():
		v.Verdict, v.Detail = verdictCompatible, fmt.Sprintf("already registered as version %d (id %d); the latest is version %d", p.Reuse.Version, p.Reuse.ID, p.Latest.Version)
	case len(p.Checked) == 0:
		v.Verdict, v.Detail = verdictCompatible, fmt.Sprintf("the subject's level is %s: registering adds version %d unchecked", p.Level, p.Latest.Version+1)
	default:
		v.Verdict, v.Detail = verdictCompatible, fmt.Sprintf("%s with %s; registering adds version %d", p.Level, versionList(p.Checked), p.Latest.Version+1)
	}
	return v
}

// versionList reads like "version 3" or "versions 3, 2, 1".
func versionList(vs []int) string {
	if len(vs) == 1 {
		return fmt.Sprintf("version %d", vs[0])
	}
	parts := make([]string, len(vs))
	for i, n := range vs {
		parts[i] = strconv.Itoa(n)
	}
	return "versions " + strings.Join(parts, ", ")
}
