package schemas

import (
	"fmt"
	"strconv"

	"github.com/hamba/avro/v2"
)

// canonicalForm returns the Parsing Canonical Form of s as the Avro
// specification defines it: full names, only the attributes relevant to
// parsing (type, name, fields, symbols, items, values, size) in that order,
// no whitespace.
//
// hamba's Schema.String differs from the specification in one way: it keeps
// logicalType. Java's SchemaNormalization (and therefore any Java consumer
// checking a single-object-encoding fingerprint) strips it, as does this
// function.
func canonicalForm(s avro.Schema) (string, error) {
	b, err := appendCanonical(nil, s)
	return string(b), err
}

func appendCanonical(b []byte, s avro.Schema) ([]byte, error) {
	var err error
	switch t := s.(type) {
	case *avro.PrimitiveSchema:
		return strconv.AppendQuote(b, string(t.Type())), nil
	case *avro.NullSchema:
		return append(b, `"null"`...), nil
	case *avro.RefSchema:
		return strconv.AppendQuote(b, t.Schema().FullName()), nil
	case *avro.RecordSchema:
		typ := "record"
		if t.IsError() {
			typ = "error"
		}
		b = appendNamed(b, t.FullName(), typ)
		b = append(b, `,"fields":[`...)
		for i, f := range t.Fields() {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = strconv.AppendQuote(b, f.Name())
			b = append(b, `,"type":`...)
			if b, err = appendCanonical(b, f.Type()); err != nil {
				return nil, err
			}
			b = append(b, '}')
		}
		return append(b, "]}"...), nil
	case *avro.EnumSchema:
		b = appendNamed(b, t.FullName(), "enum")
		b = append(b, `,"symbols":[`...)
		for i, sym := range t.Symbols() {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, sym)
		}
		return append(b, "]}"...), nil
	case *avro.FixedSchema:
		b = appendNamed(b, t.FullName(), "fixed")
		b = append(b, `,"size":`...)
		b = strconv.AppendInt(b, int64(t.Size()), 10)
		return append(b, '}'), nil
	case *avro.ArraySchema:
		b = append(b, `{"type":"array","items":`...)
		if b, err = appendCanonical(b, t.Items()); err != nil {
			return nil, err
		}
		return append(b, '}'), nil
	case *avro.MapSchema:
		b = append(b, `{"type":"map","values":`...)
		if b, err = appendCanonical(b, t.Values()); err != nil {
			return nil, err
		}
		return append(b, '}'), nil
	case *avro.UnionSchema:
		b = append(b, '[')
		for i, u := range t.Types() {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendCanonical(b, u); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	default:
		return nil, fmt.Errorf("canonical form: unsupported schema %T", s)
	}
}

func appendNamed(b []byte, fullName, typ string) []byte {
	b = append(b, `{"name":`...)
	b = strconv.AppendQuote(b, fullName)
	b = append(b, `,"type":"`...)
	b = append(b, typ...)
	return append(b, '"')
}
