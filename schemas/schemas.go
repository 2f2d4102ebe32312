// Package schemas holds the Avro schemas of the 12 Freshchat raw report
// events and converts CSV rows of those reports into Avro binary.
//
// Each event has one .avsc file under avro/, embedded in the binary and
// parsed once. A [Schema] is looked up by its canonical event name; a
// [Converter], built once per CSV header, turns rows into Avro record bodies
// without going through reflection or maps.
//
// An event without an embedded schema gets one derived from its CSV header
// ([Derive]), widened as new columns appear ([Widen]). [CheckCompatible]
// says whether one version of a schema may follow another.
package schemas

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/pkg/crc64"
)

// Namespace is the Avro namespace of every record in this package.
const Namespace = "freshchat.reports.raw"

// ExtraColumnsField is the name of the last field of every record: a map of
// the CSV columns the schema does not name, carried as strings.
const ExtraColumnsField = "extra_columns"

// CreatedAtField is the name of the one required field of every record.
const CreatedAtField = "created_at"

// ErrUnknownEvent is wrapped by the error [Lookup] returns for a name that is
// not one of [Events].
var ErrUnknownEvent = errors.New("unknown event")

// ErrNoCreatedAt is wrapped by the error [Converter.CreatedAt] returns when
// the CSV header has no created_at column, which only a derived schema
// allows.
var ErrNoCreatedAt = errors.New("the header has no created_at column")

//go:embed avro/*.avsc
var files embed.FS

// events is the canonical event order of docs/CONTRACTS.md.
var events = [...]string{
	"Conversation-Created",
	"Message-Sent",
	"Conversation-Resolved",
	"Conversation-Resolution-Label",
	"CSAT-Score",
	"First-Response-Time",
	"Response-Time",
	"Resolution-Time",
	"Conversation-Agent-Assigned",
	"Conversation-Group-Assigned",
	"Agent-Activity",
	"Agent-Intelliassign-Activity",
}

// registry maps each event name to its schema. It is built once from the
// embedded files and never modified.
var registry = mustLoad()

// Schema is the Avro schema of one event. Values returned by [Lookup] are
// shared and read-only.
type Schema struct {
	// Event is the canonical event name, e.g. "Message-Sent".
	Event string
	// Name is the full record name, e.g. "freshchat.reports.raw.MessageSent".
	Name string
	// Text is the embedded .avsc with insignificant whitespace removed (docs,
	// defaults and logical types kept): the text to register with a schema
	// registry.
	Text string
	// Canonical is the Parsing Canonical Form of the schema as the Avro
	// specification defines it (names and types only; doc, default and
	// logicalType stripped). Fingerprint is computed from it.
	Canonical string
	// Avro is the parsed schema.
	Avro avro.Schema
	// Fingerprint is the CRC-64-AVRO (Rabin) fingerprint of Canonical, as the
	// 8 little-endian bytes that Avro single-object encoding puts after its
	// 0xC3 0x01 marker. hamba's FingerprintUsing(avro.CRC64AvroLE) gives a
	// different value for these schemas: its canonical form keeps
	// logicalType, which the specification (and Java's SchemaNormalization)
	// strips.
	Fingerprint [8]byte

	fields  []field // every field but extra_columns, in schema order
	derived bool    // built by Derive or Widen rather than embedded
}

// kind is how one schema field is parsed from a CSV cell and encoded.
type kind uint8

const (
	kindString        kind = iota // ["null","string"]
	kindBool                      // ["null","boolean"]
	kindLong                      // ["null","long"]
	kindInt                       // ["null","int"]
	kindDouble                    // ["null","double"]
	kindTimestamp                 // required long, logicalType timestamp-millis
	kindNullTimestamp             // ["null", timestamp-millis]: created_at added to a derived schema later
)

type field struct {
	name   string // Avro field name
	column string // CSV header name the field is read from (= name unless derived)
	kind   kind
}

// Events returns the 12 canonical event names in the order of
// docs/CONTRACTS.md. The slice is a fresh copy on every call.
func Events() []string {
	out := make([]string, len(events))
	copy(out, events[:])
	return out
}

// Lookup returns the schema of an event by its exact canonical name, such as
// "CSAT-Score". For any other name it returns an error that wraps
// [ErrUnknownEvent] and lists the known events.
func Lookup(event string) (*Schema, error) {
	if s, ok := registry[event]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("schemas: %w %q (known events: %s)", ErrUnknownEvent, event, strings.Join(events[:], ", "))
}

func mustLoad() map[string]*Schema {
	m := make(map[string]*Schema, len(events))
	for _, ev := range events {
		s, err := load(ev)
		if err != nil {
			panic(fmt.Sprintf("schemas: embedded schema of %s: %v", ev, err))
		}
		m[ev] = s
	}
	return m
}

func load(event string) (*Schema, error) {
	raw, err := files.ReadFile("avro/" + event + ".avsc")
	if err != nil {
		return nil, err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, err
	}
	return build(event, compact.String(), Namespace, nil)
}

// build parses text, the compact JSON of an event's schema, and checks that
// it has a shape Append can encode. columns maps the field names of a
// derived schema to the CSV columns they are read from; it is nil for the
// embedded schemas, whose fields are named as their columns and must include
// a required created_at.
func build(event, text, namespace string, columns map[string]string) (*Schema, error) {
	// A private cache keeps these names out of hamba's global cache, where
	// another package parsing a same-named schema could shadow them.
	parsed, err := avro.ParseWithCache(text, "", &avro.SchemaCache{})
	if err != nil {
		return nil, err
	}
	rec, ok := parsed.(*avro.RecordSchema)
	if !ok {
		return nil, fmt.Errorf("top-level type is %s, want record", parsed.Type())
	}
	if rec.Namespace() != namespace {
		return nil, fmt.Errorf("namespace %q, want %q", rec.Namespace(), namespace)
	}
	derived := columns != nil
	fields, err := plan(rec, derived)
	if err != nil {
		return nil, err
	}
	if derived {
		for i := range fields {
			col, ok := columns[fields[i].name]
			if !ok {
				return nil, fmt.Errorf("field %s has no column", fields[i].name)
			}
			fields[i].column = col
		}
	}
	canonical, err := canonicalForm(rec)
	if err != nil {
		return nil, err
	}
	return &Schema{
		Event:       event,
		Name:        rec.FullName(),
		Text:        text,
		Canonical:   canonical,
		Avro:        rec,
		Fingerprint: crc64.SumWithByteOrder([]byte(canonical), crc64.LittleEndian),
		fields:      fields,
		derived:     derived,
	}, nil
}

// Derived reports whether the schema was derived from a CSV header by
// [Derive] or [Widen] rather than embedded.
func (s *Schema) Derived() bool { return s.derived }

// Columns returns the CSV column names the schema names, in schema order
// (extra_columns is not a column). For an embedded schema they are its field
// names; for a derived one, the header names as read (trimmed, byte order
// mark removed), which may differ from the sanitised field names. The slice
// is a fresh copy on every call.
func (s *Schema) Columns() []string {
	out := make([]string, len(s.fields))
	for i, f := range s.fields {
		out[i] = f.column
	}
	return out
}

// plan checks that rec has only the shapes Append knows how to encode and
// returns its fields without the trailing extra_columns map, each read from
// the column of its name. Only created_at may be a timestamp; an embedded
// schema must have it, required, while a derived one may lack it or, when
// it was added by Widen, have it nullable.
func plan(rec *avro.RecordSchema, derived bool) ([]field, error) {
	fs := rec.Fields()
	if len(fs) == 0 || fs[len(fs)-1].Name() != ExtraColumnsField {
		return nil, fmt.Errorf("last field must be %s", ExtraColumnsField)
	}
	m, ok := fs[len(fs)-1].Type().(*avro.MapSchema)
	if !ok || m.Values().Type() != avro.String {
		return nil, fmt.Errorf("%s must be a map of strings", ExtraColumnsField)
	}
	out := make([]field, 0, len(fs)-1)
	created := false
	for _, f := range fs[:len(fs)-1] {
		k, err := fieldKind(f)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.Name(), err)
		}
		timestamp := k == kindTimestamp || k == kindNullTimestamp
		if (f.Name() == CreatedAtField) != timestamp {
			return nil, fmt.Errorf("field %s: only %s may be a timestamp-millis", f.Name(), CreatedAtField)
		}
		if k == kindNullTimestamp && !derived {
			return nil, fmt.Errorf("field %s: must be required", CreatedAtField)
		}
		created = created || timestamp
		out = append(out, field{name: f.Name(), column: f.Name(), kind: k})
	}
	if !created && !derived {
		return nil, fmt.Errorf("no %s field", CreatedAtField)
	}
	return out, nil
}

func fieldKind(f *avro.Field) (kind, error) {
	switch t := f.Type().(type) {
	case *avro.PrimitiveSchema:
		if t.Type() == avro.Long && t.Logical() != nil && t.Logical().Type() == avro.TimestampMillis {
			return kindTimestamp, nil
		}
	case *avro.UnionSchema:
		ts := t.Types()
		if len(ts) != 2 || ts[0].Type() != avro.Null || !f.HasDefault() || f.Default() != nil {
			break
		}
		p, ok := ts[1].(*avro.PrimitiveSchema)
		if !ok {
			break
		}
		if p.Logical() != nil {
			if p.Type() == avro.Long && p.Logical().Type() == avro.TimestampMillis {
				return kindNullTimestamp, nil
			}
			break
		}
		switch p.Type() {
		case avro.String:
			return kindString, nil
		case avro.Boolean:
			return kindBool, nil
		case avro.Long:
			return kindLong, nil
		case avro.Int:
			return kindInt, nil
		case avro.Double:
			return kindDouble, nil
		}
	}
	return 0, fmt.Errorf("type %s is not supported (want a timestamp-millis or [\"null\", primitive] with default null)", f.Type())
}
