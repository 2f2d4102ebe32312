package schemas

import (
	"fmt"
	"strings"
	"time"
)

// keyColumns are the columns whose first non-empty value is the Kafka key,
// in order of preference (docs/CONTRACTS.md).
var keyColumns = [...]string{"interaction_id", "conversation_id", "agent_id", "actor_id"}

// Converter turns the rows of one CSV file into Avro record bodies of one
// schema. It is built once per header by [Schema.Converter]; it is immutable
// and safe for concurrent use.
type Converter struct {
	schema  *Schema
	width   int      // number of header columns; every row must have as many
	steps   []step   // one per schema field but extra_columns, in schema order
	extra   []column // header columns the schema does not name, in header order
	created int      // header index of created_at
	keys    []int    // header indexes of the key columns present, by preference
	unknown []string
	missing []string
}

// step encodes one schema field from the header column col (-1: absent).
type step struct {
	col  int
	kind kind
	name string
}

type column struct {
	col  int
	name string
}

// Converter compiles the header of a CSV file of this schema's event.
//
// Columns are matched to fields by name, in any order: each header cell is
// trimmed of surrounding white space, and a UTF-8 byte order mark is removed
// from the first one; matching is otherwise exact and case-sensitive. A
// derived schema matches the original column names (see [Schema.Columns]),
// not its sanitised field names. Header columns the schema does not name
// (including one literally called extra_columns) are carried, as strings, in
// the extra_columns map of every record, keyed by their matched name; see
// [Converter.Unknown]. Fields the header lacks are encoded as null; see
// [Converter.Missing].
//
// It fails when the schema requires created_at and the header has no
// created_at column, since no record can then be produced, or when two
// header cells have the same matched name.
func (s *Schema) Converter(header []string) (*Converter, error) {
	names, at, err := matchHeader(s.Event, header)
	if err != nil {
		return nil, err
	}

	c := &Converter{schema: s, width: len(header), steps: make([]step, len(s.fields)), created: -1}
	named := make(map[string]bool, len(s.fields))
	required := false
	for i, f := range s.fields {
		named[f.column] = true
		col, ok := at[f.column]
		if !ok {
			col = -1
			c.missing = append(c.missing, f.column)
		}
		if f.kind == kindTimestamp || f.kind == kindNullTimestamp {
			c.created = col
			required = f.kind == kindTimestamp
		}
		c.steps[i] = step{col: col, kind: f.kind, name: f.column}
	}
	if c.created < 0 && required {
		return nil, fmt.Errorf("schemas: %s header has no %s column, which every record requires", s.Event, CreatedAtField)
	}
	for i, name := range names {
		if !named[name] {
			c.extra = append(c.extra, column{col: i, name: name})
			c.unknown = append(c.unknown, name)
		}
	}
	for _, k := range keyColumns {
		if col, ok := at[k]; ok && named[k] {
			c.keys = append(c.keys, col)
		}
	}
	return c, nil
}

// matchHeader returns the matched names of the header cells (trimmed, byte
// order mark removed from the first) and the position of each name. A name
// that appears twice is an error.
func matchHeader(event string, header []string) ([]string, map[string]int, error) {
	names := make([]string, len(header))
	at := make(map[string]int, len(header))
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\uFEFF")
		}
		h = strings.TrimSpace(h)
		if j, dup := at[h]; dup {
			return nil, nil, fmt.Errorf("schemas: %s header: column %q appears twice (positions %d and %d)", event, h, j, i)
		}
		at[h] = i
		names[i] = h
	}
	return names, at, nil
}

// Schema returns the schema the converter encodes to.
func (c *Converter) Schema() *Schema { return c.schema }

// Unknown returns the header columns the schema does not name, in header
// order: their values travel in extra_columns. Meant for a one-time log line.
func (c *Converter) Unknown() []string { return append([]string(nil), c.unknown...) }

// Missing returns the columns of the schema's fields absent from the header,
// in schema order (extra_columns is never listed): they are null in every
// record. For an embedded schema these are field names; for a derived one,
// column names as [Schema.Columns] gives them.
func (c *Converter) Missing() []string { return append([]string(nil), c.missing...) }

// Append appends the Avro binary encoding of row (the plain record body: no
// single-object, Confluent or container framing) to dst and returns the
// extended slice. row holds the fields of one CSV record in header order.
//
// An empty cell is null, except for a required created_at (that of every
// embedded schema, and of a schema derived from a header that had it).
// String cells are stored as read. Typed cells may have surrounding spaces:
//
//   - boolean: true or false, in any letter case (not 1/0, not yes/no);
//   - long, int: base-10 integers with an optional sign ("12.0" and "1e3" are
//     rejected, as are values out of range);
//   - double: anything strconv.ParseFloat reads, except NaN and infinities;
//   - created_at: 2020-09-14T10:00:00.000Z and the other RFC 3339 forms
//     (1 to 9 fractional digits or none, zone Z, ±hh:mm, ±hhmm or ±hh), or
//     2020-09-14 10:00:00.0 (space instead of T); no zone means UTC. It is
//     stored as milliseconds since the epoch, sub-millisecond digits
//     truncated.
//
// On failure Append returns dst with its original length (bytes past it may
// have been written) and a *[CellError]; a row whose field count differs from
// the header's is a CellError with Column "". Append does not allocate when
// dst has room for the record.
func (c *Converter) Append(dst []byte, row []string) ([]byte, error) {
	if len(row) != c.width {
		return dst, c.widthError(len(row))
	}
	b := dst
	for i := range c.steps {
		st := &c.steps[i]
		cell := ""
		if st.col >= 0 {
			cell = row[st.col]
		}
		if cell == "" && st.kind != kindTimestamp {
			b = append(b, unionNull)
			continue
		}
		switch st.kind {
		case kindString:
			b = appendString(append(b, unionValue), cell)
		case kindBool:
			v, err := parseBool(cell)
			if err != nil {
				return dst, st.cellError(cell, err)
			}
			b = appendBool(append(b, unionValue), v)
		case kindLong, kindInt:
			bits := 64
			if st.kind == kindInt {
				bits = 32
			}
			v, err := parseInteger(cell, bits)
			if err != nil {
				return dst, st.cellError(cell, err)
			}
			b = appendLong(append(b, unionValue), v)
		case kindDouble:
			v, err := parseDouble(cell)
			if err != nil {
				return dst, st.cellError(cell, err)
			}
			b = appendDouble(append(b, unionValue), v)
		case kindTimestamp, kindNullTimestamp:
			ms, err := parseCreatedAt(cell)
			if err != nil {
				return dst, st.cellError(cell, err)
			}
			if st.kind == kindNullTimestamp {
				b = append(b, unionValue)
			}
			b = appendLong(b, ms)
		}
	}
	// extra_columns: one block holding every unknown column, then the
	// terminating empty block; an empty map is just the terminator.
	if len(c.extra) > 0 {
		b = appendLong(b, int64(len(c.extra)))
		for _, x := range c.extra {
			b = appendString(b, x.name)
			b = appendString(b, row[x.col])
		}
	}
	return append(b, 0), nil
}

// AppendKey appends the Kafka key of row to dst: the first non-empty value of
// interaction_id, conversation_id, agent_id and actor_id, copied (the result
// never aliases row). It returns dst unchanged and false when none of them
// has a value, in which case the record has a null key.
func (c *Converter) AppendKey(dst []byte, row []string) ([]byte, bool) {
	for _, col := range c.keys {
		if col < len(row) && row[col] != "" {
			return append(dst, row[col]...), true
		}
	}
	return dst, false
}

// CreatedAt returns the created_at of row in UTC, truncated to the
// millisecond exactly as Append encodes it. Errors are *[CellError], as from
// Append, except when the header has no created_at column (possible only
// with a derived schema): then the error wraps [ErrNoCreatedAt], whatever
// the row.
func (c *Converter) CreatedAt(row []string) (time.Time, error) {
	if c.created < 0 {
		return time.Time{}, fmt.Errorf("schemas: %s: %w", c.schema.Event, ErrNoCreatedAt)
	}
	if len(row) != c.width {
		return time.Time{}, c.widthError(len(row))
	}
	cell := row[c.created]
	ms, err := parseCreatedAt(cell)
	if err != nil {
		return time.Time{}, &CellError{Column: CreatedAtField, Index: c.created, Value: cell, Err: err}
	}
	return time.UnixMilli(ms).UTC(), nil
}

func parseCreatedAt(cell string) (int64, error) {
	if cell == "" {
		return 0, errRequired
	}
	return parseTimestamp(cell)
}

func (st *step) cellError(cell string, err error) error {
	return &CellError{Column: st.name, Index: st.col, Value: cell, Err: err}
}

func (c *Converter) widthError(n int) error {
	return &CellError{Index: -1, Err: fmt.Errorf("row has %d fields, header has %d", n, c.width)}
}
