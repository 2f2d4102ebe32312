package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/connect"
	"github.com/freshstream/freshchat-kafka/schemas"
	"github.com/freshstream/freshchat-kafka/sink"
)

// Print writes the embedded schemas of the units' events, each event once
// in the units' order, as indented JSON documents (as the .avsc files are)
// one after the other. An event without an embedded schema gets a line on
// notes instead; none at all is an error.
func Print(w, notes io.Writer, units []Unit) error {
	var events []string
	for _, u := range units {
		if !slices.Contains(events, u.Event) {
			events = append(events, u.Event)
		}
	}
	printed := 0
	for _, ev := range events {
		sc, err := schemas.Lookup(ev)
		if errors.Is(err, schemas.ErrUnknownEvent) {
			fmt.Fprintf(notes, "connector: %s has no embedded schema: the connector derives one from its report's header at run time\n", ev)
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
		if _, err := w.Write(b.Bytes()); err != nil {
			return err
		}
		printed++
	}
	if printed == 0 {
		return errors.New("no event with an embedded schema to print")
	}
	return nil
}

// Subjects are the connector's subjects in one schema registry.
type Subjects struct {
	// Client is the registry's client, as connect.Registry builds it.
	Client *sr.Client
	// Settings are the registry's: a connection the registry refuses (TLS,
	// authentication) is explained in their terms and ends the work at
	// once, since it is the same for every subject.
	Settings config.SchemaRegistry
	// Logger receives the lines the connector logs when it registers a
	// schema at start. Nil: no logging.
	Logger *slog.Logger
}

// Register registers each unit's embedded schema under its subject through
// sink.Confluent, so that it meets the same compatibility checks as at
// start, and writes a line per unit to w: subject, version and ID, or why
// it was not registered. A unit without an embedded schema is passed over.
// Any schema not registered makes an error that counts them.
func (s Subjects) Register(ctx context.Context, w io.Writer, units []Unit) error {
	framer := sink.Confluent{Client: s.Client, Logger: s.Logger}
	failed := 0
	for _, u := range units {
		subject := u.Subject()
		sc, err := schemas.Lookup(u.Event)
		if errors.Is(err, schemas.ErrUnknownEvent) {
			fmt.Fprintf(w, "- %s  %s  not registered: no embedded schema (derived from the report's header at run time)\n", u.Key, subject)
			continue
		}
		if err != nil {
			return err
		}
		schema := sr.Schema{Schema: sc.Text, Type: sr.TypeAvro}
		before, lookupErr := s.Client.LookupSchema(ctx, subject, schema)
		if _, err := framer.Prefix(ctx, u.Topic, sc.Text, sc.Fingerprint); err != nil {
			if f := connect.RegistryFailure(err, s.Settings); f != nil {
				return f
			}
			if f := unanswered(err, "registered"); f != nil {
				return f
			}
			failed++
			fmt.Fprintf(w, "✗ %s  %s  not registered: %v\n", u.Key, subject, err)
			continue
		}
		ss, err := s.Client.LookupSchema(ctx, subject, schema)
		if err != nil {
			failed++
			fmt.Fprintf(w, "✗ %s  %s  registered, but looking it up again failed: %v\n", u.Key, subject, err)
			continue
		}
		what := "registered"
		if lookupErr == nil && before.Version == ss.Version {
			what = "already registered"
		}
		fmt.Fprintf(w, "✓ %s  %s  version %d  id %d  (%s)\n", u.Key, subject, ss.Version, ss.ID, what)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d schema(s) not registered", failed, len(units))
	}
	return nil
}

// Check compares each unit's schema with its subject (Compare) and writes
// the verdict's line to w; it registers nothing. Any schema that would be
// refused or could not be checked makes an error that counts them.
func (s Subjects) Check(ctx context.Context, w io.Writer, units []Unit) error {
	failed := 0
	for _, u := range units {
		v := Compare(ctx, s.Client, u)
		if f := connect.RegistryFailure(v.Err, s.Settings); f != nil {
			return f
		}
		if f := unanswered(v.Err, "checked"); f != nil {
			return f
		}
		fmt.Fprintln(w, v.Line())
		if v.Failed() {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d schema(s) would be refused or could not be checked", failed, len(units))
	}
	return nil
}

// unanswered recognises in err a registry that did not answer in time,
// which would be the same for every subject: the error says so and that
// the others were not done (what names the work). Nil for any other err.
func unanswered(err error, what string) error {
	if err == nil {
		return nil
	}
	var ne net.Error
	if !errors.Is(err, context.DeadlineExceeded) && !(errors.As(err, &ne) && ne.Timeout()) {
		return nil
	}
	return fmt.Errorf("the schema registry did not answer: %w; check schema_registry.url (SCHEMA_REGISTRY_URL) and the registry's health; the other subjects were not %s", err, what)
}
