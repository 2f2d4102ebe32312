package schemas

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hamba/avro/v2"
)

// Compatibility is the rule a new version of a schema must follow against an
// old one, named as Confluent Schema Registry names its levels (the
// transitive levels are this rule applied to every earlier version, which is
// the caller's loop). The zero value is Backward, the registry default.
type Compatibility uint8

const (
	// Backward: a consumer using the new schema can read data written with
	// the old one (Avro schema resolution with reader = new, writer = old),
	// so consumers upgrade first. The registry default.
	Backward Compatibility = iota
	// Forward: a consumer still using the old schema can read data written
	// with the new one (reader = old, writer = new).
	Forward
	// Full: both Backward and Forward.
	Full
)

// String returns the registry's name of c: BACKWARD, FORWARD or FULL.
func (c Compatibility) String() string {
	switch c {
	case Backward:
		return "BACKWARD"
	case Forward:
		return "FORWARD"
	case Full:
		return "FULL"
	default:
		return "Compatibility(" + strconv.Itoa(int(c)) + ")"
	}
}

// Incompatibility is one reason why data written with one version of a
// schema cannot be read with another.
type Incompatibility struct {
	// Direction is Backward when a reader using the new schema cannot read
	// old data, Forward when a reader using the old schema cannot read new
	// data.
	Direction Compatibility
	// Field is the path of the field that changed, dot-separated for nested
	// records, with [] for the items of an array and {} for the values of a
	// map; "" for the record itself.
	Field string
	// Change says what changed, old to new: "type changed from boolean to
	// string".
	Change string
}

// String reads like `field "reopened": type changed from boolean to string`.
func (p Incompatibility) String() string {
	if p.Field == "" {
		return p.Change
	}
	return fmt.Sprintf("field %q: %s", p.Field, p.Change)
}

// IncompatibleError is returned by [CheckCompatible] when the new schema
// breaks the rule, with every problem found.
type IncompatibleError struct {
	Mode     Compatibility
	Problems []Incompatibility
}

// Error lists the problems, separated by "; ". Under Full, each says which
// direction fails.
func (e *IncompatibleError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
		if e.Mode == Full {
			if p.Direction == Backward {
				parts[i] += " (new readers cannot read old data)"
			} else {
				parts[i] += " (old readers cannot read new data)"
			}
		}
	}
	return strings.Join(parts, "; ")
}

// CheckCompatible reports whether the Avro schema newText may follow oldText
// under mode. It returns nil when it may, an *[IncompatibleError] naming
// every field that breaks the rule when it may not, and another error when
// either text is not a valid Avro schema.
//
// The verdict is hamba's [avro.SchemaCompatibility], which applies the Avro
// specification's schema resolution as the Java library does, and so as
// Confluent Schema Registry does (its Avro compatibility check is Java's
// SchemaCompatibility). Two rules are added, each a difference kept on
// purpose:
//
//   - Logical types: a changed logical type (timestamp-millis to
//     timestamp-micros, a decimal's precision or scale, one added or removed,
//     or a promotion to or from one, such as date to timestamp-millis) is
//     incompatible. This is stricter than the registry, which, like hamba,
//     ignores logical types: the bytes still decode, but the values change
//     meaning.
//   - A field that matches two fields of the schema it reads (one by its
//     name, one by an alias) is incompatible. The registry refuses it (Java's
//     SchemaCompatibility.lookupWriterField throws on the ambiguity); hamba
//     takes the first match and may accept it.
//
// hamba's errors name neither the field nor which schema is the old one
// ("reader schema long not compatible with writer schema string"), so the
// two schemas are walked side by side, asking hamba about each pair of
// fields, to say where and what: `field "agent.id": type changed from
// string to long`.
func CheckCompatible(mode Compatibility, oldText, newText string) error {
	if mode > Full {
		return fmt.Errorf("schemas: unknown compatibility mode %s", mode)
	}
	// Private caches: registered schemas may reuse the names of ours with
	// other definitions, which hamba's global cache would mix up.
	old, err := avro.ParseWithCache(oldText, "", &avro.SchemaCache{})
	if err != nil {
		return fmt.Errorf("schemas: parsing the old schema: %w", err)
	}
	cur, err := avro.ParseWithCache(newText, "", &avro.SchemaCache{})
	if err != nil {
		return fmt.Errorf("schemas: parsing the new schema: %w", err)
	}
	var problems []Incompatibility
	if mode == Backward || mode == Full {
		problems = append(problems, resolve(Backward, cur, old)...)
	}
	if mode == Forward || mode == Full {
		problems = append(problems, resolve(Forward, old, cur)...)
	}
	if len(problems) > 0 {
		return &IncompatibleError{Mode: mode, Problems: problems}
	}
	return nil
}

// resolve returns why data written with writer cannot be read with reader.
func resolve(dir Compatibility, reader, writer avro.Schema) []Incompatibility {
	// A SchemaCompatibility of its own: hamba caches verdicts by
	// fingerprint, which leaves out defaults and aliases, so one shared by
	// two checks answers for a field without a default what it found for
	// the same field with one. Within one reader and one writer the cache
	// is sound (a name is defined once in a schema), and the walk below
	// relies on it to ask about every pair once.
	c := &checker{dir: dir, hamba: avro.NewSchemaCompatibility(), active: map[string]bool{}}
	verdict := c.hamba.Compatible(reader, writer)
	problems := c.check("", reader, writer)
	if verdict != nil && !c.placed {
		// Refused for a reason the walk could not place on a field.
		problems = append(problems, c.problem("", "the Avro library finds them incompatible: "+verdict.Error()))
	}
	return problems
}

// checker walks a reader and a writer schema side by side.
type checker struct {
	dir    Compatibility // Backward: reader is new, writer old; Forward: the reverse
	hamba  *avro.SchemaCompatibility
	active map[string]bool // record pairs being walked, to stop on recursive types
	placed bool            // a problem hamba's verdict accounts for was found
}

// check returns why data written with w cannot be read with r at path.
func (c *checker) check(path string, r, w avro.Schema) []Incompatibility {
	r, w = deref(r), deref(w)
	var out []Incompatibility
	unreadable := false
	for _, wb := range branches(w) {
		rb := c.readerOf(r, wb)
		if rb == nil {
			unreadable = true
			continue
		}
		out = append(out, c.pair(path, rb, wb)...)
	}
	if unreadable {
		c.placed = true
		out = append(out, c.typeChanged(path, r, w))
	}
	return out
}

// readerOf returns what reads the writer's w (not a union): r, or a branch
// of r if r is a union. That is the first of w's kind (type, and name for
// named types) that hamba accepts, else the first hamba accepts (a
// promotion), else the first of w's kind, to say why it cannot; nil if
// there is none.
func (c *checker) readerOf(r, w avro.Schema) avro.Schema {
	readers := branches(r)
	var kin avro.Schema
	for _, rb := range readers {
		if sameKind(rb, w) {
			if c.hamba.Compatible(rb, w) == nil {
				return rb
			}
			if kin == nil {
				kin = rb
			}
		}
	}
	for _, rb := range readers {
		if c.hamba.Compatible(rb, w) == nil {
			return rb
		}
	}
	return kin
}

// pair returns why w cannot be read by r, neither a union: r is of w's kind
// or reads it by promotion (see readerOf).
func (c *checker) pair(path string, r, w avro.Schema) []Incompatibility {
	if r.Type() != w.Type() {
		// A promotion, which hamba accepts. Refused here when either side
		// has a logical type: its meaning would not carry over.
		if logicalOf(r) != "" || logicalOf(w) != "" {
			return []Incompatibility{c.typeChanged(path, r, w)}
		}
		return nil
	}
	refused := c.hamba.Compatible(r, w) != nil
	var out []Incompatibility
	switch rs := r.(type) {
	case *avro.RecordSchema:
		ws := w.(*avro.RecordSchema)
		key := rs.FullName() + "\x00" + ws.FullName()
		if c.active[key] {
			return nil
		}
		c.active[key] = true
		defer delete(c.active, key)
		for _, rf := range rs.Fields() {
			fpath := rf.Name()
			if path != "" {
				fpath = path + "." + fpath
			}
			switch wfs := matchingFields(ws, rf); {
			case len(wfs) > 1:
				out = append(out, c.ambiguous(fpath, wfs))
			case len(wfs) == 1:
				out = append(out, c.check(fpath, rf.Type(), wfs[0].Type())...)
			case refused && !rf.HasDefault():
				c.placed = true
				out = append(out, c.problem(fpath, c.pick("removed, and the old schema has no default for it", "added without a default")))
			}
		}
	case *avro.EnumSchema:
		if lost := lostSymbols(rs, w.(*avro.EnumSchema)); refused && len(lost) > 0 {
			c.placed = true
			noun := "symbol"
			if len(lost) > 1 {
				noun = "symbols"
			}
			list := strings.Join(lost, ", ")
			out = append(out, c.problem(path, c.pick(
				fmt.Sprintf("enum %s %s added, and the old enum has no default", noun, list),
				fmt.Sprintf("enum %s %s removed, and the new enum has no default", noun, list),
			)))
		}
	case *avro.FixedSchema:
		if ws := w.(*avro.FixedSchema); refused && rs.Size() != ws.Size() {
			c.placed = true
			o, n := c.oldNew(strconv.Itoa(rs.Size()), strconv.Itoa(ws.Size()))
			return []Incompatibility{c.problem(path, fmt.Sprintf("fixed size changed from %s to %s", o, n))}
		}
		out = c.logical(path, logicalOf(r), logicalOf(w))
	case *avro.ArraySchema:
		out = c.check(path+"[]", rs.Items(), w.(*avro.ArraySchema).Items())
	case *avro.MapSchema:
		out = c.check(path+"{}", rs.Values(), w.(*avro.MapSchema).Values())
	case *avro.PrimitiveSchema:
		out = c.logical(path, logicalOf(r), logicalOf(w))
	}
	return out
}

// ambiguous describes a reader's field that matches several of the
// writer's fields: the registry's Java library throws on it, and so
// refuses the schema; hamba takes the first match, and may accept it.
func (c *checker) ambiguous(path string, fields []*avro.Field) Incompatibility {
	c.placed = true
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = strconv.Quote(f.Name())
	}
	side := c.pick("new", "old")
	return c.problem(path, fmt.Sprintf("matches the %s fields %s by name and alias, which the registry refuses as ambiguous", side, strings.Join(names, " and ")))
}

// logical compares the logical types of a reader and a writer of one type.
func (c *checker) logical(path, r, w string) []Incompatibility {
	if r == w {
		return nil
	}
	o, n := c.oldNew(r, w)
	switch {
	case o == "":
		return []Incompatibility{c.problem(path, "logical type "+n+" added")}
	case n == "":
		return []Incompatibility{c.problem(path, "logical type "+o+" removed")}
	default:
		return []Incompatibility{c.problem(path, "logical type changed from "+o+" to "+n)}
	}
}

// typeChanged describes a reader r that cannot read the writer w. When both
// are a nullable union of one type, the null branches are left out, since
// they are not the change.
func (c *checker) typeChanged(path string, r, w avro.Schema) Incompatibility {
	ro, rok := nullableOf(r)
	wo, wok := nullableOf(w)
	if rok && wok {
		r, w = ro, wo
	}
	o, n := c.oldNew(describe(r), describe(w))
	return c.problem(path, "type changed from "+o+" to "+n)
}

func (c *checker) problem(path, change string) Incompatibility {
	return Incompatibility{Direction: c.dir, Field: path, Change: change}
}

// oldNew orders a reader's and a writer's values as old, new.
func (c *checker) oldNew(reader, writer string) (old, cur string) {
	if c.dir == Backward {
		return writer, reader
	}
	return reader, writer
}

// pick returns whenReaderOld under Forward and whenReaderNew under Backward.
func (c *checker) pick(whenReaderOld, whenReaderNew string) string {
	if c.dir == Backward {
		return whenReaderNew
	}
	return whenReaderOld
}

// sameKind reports whether r reads w without promotion: the same type and,
// for named types, the same unqualified name or w's full name among r's
// aliases (the registry's rule, and hamba's).
func sameKind(r, w avro.Schema) bool {
	if r.Type() != w.Type() {
		return false
	}
	rn, ok := r.(avro.NamedSchema)
	if !ok {
		return true
	}
	wn := w.(avro.NamedSchema)
	return rn.Name() == wn.Name() || slices.Contains(rn.Aliases(), wn.FullName())
}

// matchingFields returns the writer's fields that the reader's field f
// reads, as Java's SchemaCompatibility.lookupWriterField finds them: the one
// of its name, then one for each of its aliases that names a field. More
// than one is an ambiguity the registry refuses.
func matchingFields(w *avro.RecordSchema, f *avro.Field) []*avro.Field {
	var out []*avro.Field
	for _, name := range append([]string{f.Name()}, f.Aliases()...) {
		for _, wf := range w.Fields() {
			if wf.Name() == name {
				out = append(out, wf)
			}
		}
	}
	return out
}

// lostSymbols returns, quoted, the writer's symbols the reader lacks.
func lostSymbols(r, w *avro.EnumSchema) []string {
	var lost []string
	for _, sym := range w.Symbols() {
		if !slices.Contains(r.Symbols(), sym) {
			lost = append(lost, strconv.Quote(sym))
		}
	}
	return lost
}

// branches returns the branches of a union, or s alone, references
// resolved.
func branches(s avro.Schema) []avro.Schema {
	u, ok := s.(*avro.UnionSchema)
	if !ok {
		return []avro.Schema{deref(s)}
	}
	out := make([]avro.Schema, len(u.Types()))
	for i, b := range u.Types() {
		out[i] = deref(b)
	}
	return out
}

func deref(s avro.Schema) avro.Schema {
	if r, ok := s.(*avro.RefSchema); ok {
		return r.Schema()
	}
	return s
}

// nullableOf returns T of a union of null and T.
func nullableOf(s avro.Schema) (avro.Schema, bool) {
	u, ok := s.(*avro.UnionSchema)
	if !ok || !u.Nullable() {
		return nil, false
	}
	_, typ := u.Indices()
	return deref(u.Types()[typ]), true
}

// describe names a type for a message: long, long (timestamp-millis), record
// freshchat.reports.raw.MessageSent, array of string, nullable string.
func describe(s avro.Schema) string {
	s = deref(s)
	switch t := s.(type) {
	case *avro.PrimitiveSchema:
		if l := logicalName(t.Logical()); l != "" {
			return string(t.Type()) + " (" + l + ")"
		}
		return string(t.Type())
	case *avro.RecordSchema:
		return "record " + t.FullName()
	case *avro.EnumSchema:
		return "enum " + t.FullName()
	case *avro.FixedSchema:
		return "fixed " + t.FullName()
	case *avro.ArraySchema:
		return "array of " + describe(t.Items())
	case *avro.MapSchema:
		return "map of " + describe(t.Values())
	case *avro.UnionSchema:
		if of, ok := nullableOf(t); ok {
			return "nullable " + describe(of)
		}
		names := make([]string, len(t.Types()))
		for i, b := range t.Types() {
			names[i] = describe(b)
		}
		return "union of " + strings.Join(names, ", ")
	default:
		return string(s.Type())
	}
}

// logicalOf names the logical type of a primitive or fixed s; "" for none.
func logicalOf(s avro.Schema) string {
	if l, ok := s.(avro.LogicalTypeSchema); ok {
		return logicalName(l.Logical())
	}
	return ""
}

// logicalName names a logical type, with a decimal's precision and scale;
// "" for none.
func logicalName(l avro.LogicalSchema) string {
	if l == nil {
		return ""
	}
	if d, ok := l.(*avro.DecimalLogicalSchema); ok {
		return fmt.Sprintf("decimal(%d,%d)", d.Precision(), d.Scale())
	}
	return string(l.Type())
}
