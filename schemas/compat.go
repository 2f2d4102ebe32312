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
// The rules are the Avro specification's schema resolution, as the Java
// library (and so Confluent Schema Registry) applies them: a field the
// reader has and the writer lacks needs a default in the reader; a field
// only the writer has is skipped; int, long and float promote to wider
// numbers and string and bytes to each other; a writer's union branch must
// be readable by the reader's type (by one of its branches if it is a
// union); named types match by unqualified name or by the reader's aliases;
// enums may lose symbols only if the reader has a default; fixed sizes must
// match. One rule is stricter than Java's, which ignores logical types: a
// changed logical type (timestamp-millis to timestamp-micros, a decimal's
// precision or scale, one added or removed) is incompatible, because the
// bytes still decode but the values change meaning.
//
// The verdict is also asked of hamba's SchemaCompatibility: should it refuse
// what these rules accept, the new schema is refused with its reason.
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
	c := &checker{dir: dir, active: map[string]bool{}}
	problems := c.check("", reader, writer)
	if len(problems) == 0 {
		// A fresh SchemaCompatibility every time: hamba caches verdicts by
		// fingerprint, which ignores defaults, so a shared one answers for a
		// field without a default what it found for the same field with one.
		if err := avro.NewSchemaCompatibility().Compatible(reader, writer); err != nil {
			problems = append(problems, Incompatibility{Direction: dir, Change: "the Avro library finds them incompatible: " + err.Error()})
		}
	}
	return problems
}

// checker walks a reader and a writer schema side by side.
type checker struct {
	dir    Compatibility   // Backward: reader is new, writer old; Forward: the reverse
	active map[string]bool // record pairs being checked, to stop on recursive types
}

// check returns why data written with w cannot be read with r at path.
func (c *checker) check(path string, r, w avro.Schema) []Incompatibility {
	r, w = deref(r), deref(w)
	writers := []avro.Schema{w}
	if u, ok := w.(*avro.UnionSchema); ok {
		writers = u.Types()
	}
	readers := []avro.Schema{r}
	if u, ok := r.(*avro.UnionSchema); ok {
		readers = u.Types()
	}
	var out []Incompatibility
	unreadable := false
	for _, wb := range writers {
		problems, ok := c.branch(path, readers, deref(wb))
		if !ok {
			unreadable = true
		}
		out = append(out, problems...)
	}
	if unreadable {
		out = append(out, c.typeChanged(path, r, w))
	}
	return out
}

// branch returns why w, which is not a union, cannot be read by the first of
// readers of its kind, and false when none has its kind or promotes it.
func (c *checker) branch(path string, readers []avro.Schema, w avro.Schema) ([]Incompatibility, bool) {
	var first []Incompatibility
	found := false
	for _, rb := range readers {
		problems, same := c.same(path, deref(rb), w)
		if !same {
			continue
		}
		if len(problems) == 0 {
			return nil, true
		}
		if !found {
			first, found = problems, true
		}
	}
	if found {
		return first, true
	}
	for _, rb := range readers {
		if promotes(deref(rb), w) {
			return nil, true
		}
	}
	return nil, false
}

// same returns why w cannot be read by r, and false when they are not of one
// kind (type, and name for named types), which leaves only promotion.
func (c *checker) same(path string, r, w avro.Schema) ([]Incompatibility, bool) {
	if r.Type() != w.Type() {
		return nil, false
	}
	switch rs := r.(type) {
	case *avro.RecordSchema:
		ws := w.(*avro.RecordSchema)
		if !sameName(rs, ws) {
			return nil, false
		}
		key := rs.FullName() + "\x00" + ws.FullName()
		if c.active[key] {
			return nil, true
		}
		c.active[key] = true
		defer delete(c.active, key)
		var out []Incompatibility
		for _, rf := range rs.Fields() {
			fpath := rf.Name()
			if path != "" {
				fpath = path + "." + fpath
			}
			wf := findField(ws, rf)
			if wf == nil {
				if !rf.HasDefault() {
					out = append(out, c.problem(fpath, c.pick("removed, and the old schema has no default for it", "added without a default")))
				}
				continue
			}
			out = append(out, c.check(fpath, rf.Type(), wf.Type())...)
		}
		return out, true
	case *avro.EnumSchema:
		ws := w.(*avro.EnumSchema)
		if !sameName(rs, ws) {
			return nil, false
		}
		var lost []string
		for _, sym := range ws.Symbols() {
			if !slices.Contains(rs.Symbols(), sym) {
				lost = append(lost, strconv.Quote(sym))
			}
		}
		if len(lost) == 0 || rs.HasDefault() {
			return nil, true
		}
		noun := "symbol"
		if len(lost) > 1 {
			noun = "symbols"
		}
		list := strings.Join(lost, ", ")
		return []Incompatibility{c.problem(path, c.pick(
			fmt.Sprintf("enum %s %s added, and the old enum has no default", noun, list),
			fmt.Sprintf("enum %s %s removed, and the new enum has no default", noun, list),
		))}, true
	case *avro.FixedSchema:
		ws := w.(*avro.FixedSchema)
		if !sameName(rs, ws) {
			return nil, false
		}
		if rs.Size() != ws.Size() {
			o, n := c.oldNew(strconv.Itoa(rs.Size()), strconv.Itoa(ws.Size()))
			return []Incompatibility{c.problem(path, fmt.Sprintf("fixed size changed from %s to %s", o, n))}, true
		}
		return c.logical(path, logicalName(rs.Logical()), logicalName(ws.Logical())), true
	case *avro.ArraySchema:
		return c.check(path+"[]", rs.Items(), w.(*avro.ArraySchema).Items()), true
	case *avro.MapSchema:
		return c.check(path+"{}", rs.Values(), w.(*avro.MapSchema).Values()), true
	case *avro.PrimitiveSchema:
		return c.logical(path, logicalName(rs.Logical()), logicalName(w.(*avro.PrimitiveSchema).Logical())), true
	default: // null
		return nil, true
	}
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

// promotes reports whether a writer's primitive w is read as r by promotion.
// A logical type on either side rules it out: its meaning would not carry.
func promotes(r, w avro.Schema) bool {
	rp, ok1 := r.(*avro.PrimitiveSchema)
	wp, ok2 := w.(*avro.PrimitiveSchema)
	if !ok1 || !ok2 || rp.Logical() != nil || wp.Logical() != nil {
		return false
	}
	switch wp.Type() {
	case avro.Int:
		return rp.Type() == avro.Long || rp.Type() == avro.Float || rp.Type() == avro.Double
	case avro.Long:
		return rp.Type() == avro.Float || rp.Type() == avro.Double
	case avro.Float:
		return rp.Type() == avro.Double
	case avro.String:
		return rp.Type() == avro.Bytes
	case avro.Bytes:
		return rp.Type() == avro.String
	}
	return false
}

// sameName reports whether a reader's named type reads the writer's: the
// same unqualified name, or the writer's full name among the reader's
// aliases (as Java's SchemaCompatibility matches them).
func sameName(r, w avro.NamedSchema) bool {
	return r.Name() == w.Name() || slices.Contains(r.Aliases(), w.FullName())
}

// findField returns the writer's field that the reader's field f reads: the
// one of its name, or of one of its aliases.
func findField(w *avro.RecordSchema, f *avro.Field) *avro.Field {
	for _, wf := range w.Fields() {
		if wf.Name() == f.Name() {
			return wf
		}
	}
	for _, wf := range w.Fields() {
		if slices.Contains(f.Aliases(), wf.Name()) {
			return wf
		}
	}
	return nil
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
