package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// DerivedNamespace is the Avro namespace of the records of derived schemas,
// kept apart from [Namespace] so that a derived record never shadows an
// embedded one.
const DerivedNamespace = Namespace + ".derived"

// Derive builds the schema of an event the connector has no schema for from
// the header of its CSV report.
//
// The record is named after the event in PascalCase (agent-performance gives
// AgentPerformance; a name starting with a digit is prefixed with Event) in
// [DerivedNamespace]. Its fields are created_at, a required timestamp-millis,
// when the header has that column; then every other column as a nullable
// string with default null, sorted by field name; then the extra_columns map
// every record of this package ends with. The same set of columns therefore
// gives the same schema, and the same fingerprint, in whatever order the CSV
// lists them.
//
// Header cells are matched as by [Schema.Converter] (trimmed, byte order
// mark removed from the first); a name that appears twice is an error. A
// column whose name is not a valid Avro name is given one: every character
// other than an ASCII letter, digit or underscore becomes an underscore, and
// a leading digit is prefixed with one (first response gives first_response,
// 2nd_agent gives _2nd_agent). Columns already named validly keep their name;
// a sanitised name that is taken, or that is created_at or extra_columns,
// gets the first free suffix _2, _3, ... (columns in byte order). The schema
// keeps the mapping, so its Converter reads the original header names, and
// each field's doc names its column.
func Derive(event string, columns []string) (*Schema, error) {
	record, err := recordName(event)
	if err != nil {
		return nil, err
	}
	names, _, err := matchHeader(event, columns)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("schemas: deriving a schema for %s: the header has no columns", event)
	}
	fields := addColumns(nil, names, kindTimestamp)
	s, err := buildDerived(event, record, fields)
	if err != nil {
		return nil, fmt.Errorf("schemas: deriving a schema for %s: %w", event, err)
	}
	return s, nil
}

// Widen returns a derived schema naming every column of s and of header, and
// whether it differs from s (when it does not, s itself is returned).
//
// Columns of s keep their fields, including those the header lacks: a
// derived schema never narrows, their values are null from then on. New
// columns are added as by [Derive], as nullable strings, except that a
// created_at column new to s is added as a nullable timestamp-millis: a
// required field added later would make the new schema unable to read the
// records written before it. Every version of a derived event's schema thus
// only adds nullable fields with default null, which is both backward and
// forward compatible. New columns never take the name of an existing field,
// so widening may name a column differently than deriving from the union of
// the columns would; field order is otherwise the same.
//
// Only derived schemas can be widened: columns an embedded schema does not
// name are carried in extra_columns.
func Widen(s *Schema, header []string) (*Schema, bool, error) {
	if !s.derived {
		return nil, false, fmt.Errorf("schemas: %s has an embedded schema, which is never widened (columns it does not name travel in %s)", s.Event, ExtraColumnsField)
	}
	names, _, err := matchHeader(s.Event, header)
	if err != nil {
		return nil, false, err
	}
	known := make(map[string]bool, len(s.fields))
	for _, f := range s.fields {
		known[f.column] = true
	}
	var added []string
	for _, name := range names {
		if !known[name] {
			added = append(added, name)
		}
	}
	if len(added) == 0 {
		return s, false, nil
	}
	fields := addColumns(slices.Clone(s.fields), added, kindNullTimestamp)
	rec := s.Name[strings.LastIndexByte(s.Name, '.')+1:]
	w, err := buildDerived(s.Event, rec, fields)
	if err != nil {
		return nil, false, fmt.Errorf("schemas: widening the schema of %s: %w", s.Event, err)
	}
	return w, true, nil
}

// addColumns appends a field for each of columns, none of which fields
// reads yet, and returns them in schema order: created_at first, then by
// field name. A created_at column gets kind created (when fields has no
// created_at yet, which holds since only that column can hold the name).
func addColumns(fields []field, columns []string, created kind) []field {
	taken := map[string]bool{CreatedAtField: true, ExtraColumnsField: true}
	for _, f := range fields {
		taken[f.name] = true
	}
	sorted := slices.Clone(columns)
	slices.Sort(sorted)
	// Columns with a valid name that is free first, so that they keep it
	// whatever the sanitised names of the others.
	var rest []string
	for _, col := range sorted {
		switch {
		case col == CreatedAtField:
			fields = append(fields, field{name: col, column: col, kind: created})
		case validName(col) && !taken[col]:
			taken[col] = true
			fields = append(fields, field{name: col, column: col, kind: kindString})
		default:
			rest = append(rest, col)
		}
	}
	for _, col := range rest {
		base := sanitize(col)
		name := base
		for n := 2; taken[name]; n++ {
			name = base + "_" + strconv.Itoa(n)
		}
		taken[name] = true
		fields = append(fields, field{name: name, column: col, kind: kindString})
	}
	slices.SortFunc(fields, func(a, b field) int {
		if (a.name == CreatedAtField) != (b.name == CreatedAtField) {
			if a.name == CreatedAtField {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	return fields
}

// validName reports whether s is a valid Avro name: [A-Za-z_][A-Za-z0-9_]*.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isLetter(c) || c == '_' || (i > 0 && isDigit(c))) {
			return false
		}
	}
	return true
}

// sanitize turns a column name into a valid Avro name: each character that
// is not an ASCII letter, digit or underscore becomes an underscore, and a
// leading digit (or an empty name) gets an underscore in front.
func sanitize(col string) string {
	var b strings.Builder
	if col == "" || isDigit(col[0]) {
		b.WriteByte('_')
	}
	for _, r := range col {
		if r < 0x80 && (isLetter(byte(r)) || isDigit(byte(r)) || r == '_') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// recordName turns an event name into a PascalCase Avro record name: words
// are the runs of ASCII letters and digits, each with its first letter
// upper-cased and the rest kept (CSAT-Score gives CSATScore).
func recordName(event string) (string, error) {
	var b strings.Builder
	start := true
	for i := 0; i < len(event); i++ {
		c := event[i]
		if !isLetter(c) && !isDigit(c) {
			start = true
			continue
		}
		if b.Len() == 0 && isDigit(c) {
			b.WriteString("Event")
		}
		if start && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		b.WriteByte(c)
		start = false
	}
	if b.Len() == 0 {
		return "", fmt.Errorf("schemas: event name %q has no ASCII letter or digit to name a record after", event)
	}
	return b.String(), nil
}

func isLetter(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }

// The JSON shapes of a derived schema, with keys in the order the embedded
// .avsc files use.
type (
	jsonRecord struct {
		Type      string      `json:"type"`
		Name      string      `json:"name"`
		Namespace string      `json:"namespace"`
		Doc       string      `json:"doc"`
		Fields    []jsonField `json:"fields"`
	}
	jsonField struct {
		Name    string          `json:"name"`
		Type    any             `json:"type"`
		Default json.RawMessage `json:"default,omitempty"`
		Doc     string          `json:"doc"`
	}
	jsonLogical struct {
		Type        string `json:"type"`
		LogicalType string `json:"logicalType"`
	}
	jsonMap struct {
		Type   string `json:"type"`
		Values string `json:"values"`
	}
)

// buildDerived writes the schema text of fields, in order, and builds it.
func buildDerived(event, record string, fields []field) (*Schema, error) {
	timestamp := jsonLogical{Type: "long", LogicalType: "timestamp-millis"}
	rec := jsonRecord{
		Type:      "record",
		Name:      record,
		Namespace: DerivedNamespace,
		Doc: fmt.Sprintf("Freshchat raw report %s, derived by the connector from the report's CSV header (the connector has no schema for this event): "+
			"created_at, when the header has it, is a timestamp-millis; every other column is a nullable string, "+
			"in a field named after the column (each field's doc names its column); extra_columns carries the columns that appeared after this version of the schema.", event),
	}
	columns := make(map[string]string, len(fields))
	for _, f := range fields {
		columns[f.name] = f.column
		jf := jsonField{Name: f.name, Doc: "CSV column " + strconv.Quote(f.column) + "."}
		switch f.kind {
		case kindTimestamp:
			jf.Type = timestamp
			jf.Doc += " Required; milliseconds since the Unix epoch, UTC, sub-millisecond digits truncated."
		case kindNullTimestamp:
			jf.Type = []any{"null", timestamp}
			jf.Default = json.RawMessage("null")
			jf.Doc += " Milliseconds since the Unix epoch, UTC, sub-millisecond digits truncated; null in records written before the report had this column."
		default:
			jf.Type = []string{"null", "string"}
			jf.Default = json.RawMessage("null")
		}
		rec.Fields = append(rec.Fields, jf)
	}
	rec.Fields = append(rec.Fields, jsonField{
		Name:    ExtraColumnsField,
		Type:    jsonMap{Type: "map", Values: "string"},
		Default: json.RawMessage("{}"),
		Doc:     "Columns present in the CSV that this schema does not name, carried as strings, never dropped; empty when the schema names every column of the report.",
	})
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rec); err != nil {
		return nil, err
	}
	return build(event, strings.TrimSuffix(buf.String(), "\n"), DerivedNamespace, columns)
}
