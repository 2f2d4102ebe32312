package interop_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// field is one field of an event's .avsc, read from the file itself so the
// expectations do not come from the connector's code.
type field struct {
	name     string
	kind     string // string, boolean, int, long, double, timestamp-millis or map
	nullable bool   // ["null", kind] with default null
}

// loadFields reads the fields of an event's schema file.
func loadFields(t *testing.T, event string) []field {
	t.Helper()
	raw, err := os.ReadFile(avscPath(event))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Fields []struct {
			Name string          `json:"name"`
			Type json.RawMessage `json:"type"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s: %v", avscPath(event), err)
	}
	out := make([]field, 0, len(s.Fields))
	for _, f := range s.Fields {
		kind, nullable, err := fieldKind(f.Type)
		if err != nil {
			t.Fatalf("%s field %s: %v", avscPath(event), f.Name, err)
		}
		out = append(out, field{name: f.Name, kind: kind, nullable: nullable})
	}
	return out
}

// fieldKind recognises the shapes our schemas use; any other shape needs
// this test extended.
func fieldKind(raw json.RawMessage) (kind string, nullable bool, err error) {
	var union []string
	if json.Unmarshal(raw, &union) == nil && len(union) == 2 && union[0] == "null" {
		switch union[1] {
		case "string", "boolean", "int", "long", "double":
			return union[1], true, nil
		}
	}
	var obj struct {
		Type        string `json:"type"`
		LogicalType string `json:"logicalType"`
		Values      string `json:"values"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		switch {
		case obj.Type == "long" && obj.LogicalType == "timestamp-millis":
			return "timestamp-millis", false, nil
		case obj.Type == "map" && obj.Values == "string":
			return "map", false, nil
		}
	}
	return "", false, fmt.Errorf("type %s is not one this test knows", raw)
}

// row is what a consumer must decode for one simulator row.
type row struct {
	key   *string        // nil: a null key
	value map[string]any // typed: nil, string, bool, int64, float64, map[string]string
}

// keyColumns give the Kafka key, first non-empty wins (docs/CONTRACTS.md).
var keyColumns = []string{"interaction_id", "conversation_id", "agent_id", "actor_id"}

// expectedRows types the simulator's cells by the schema, keyed by
// created_at (milliseconds), which identifies a row of an event.
func expectedRows(t *testing.T, fields []field, columns []string, cells [][]string) map[int64]row {
	t.Helper()
	at := make(map[string]int, len(columns))
	for i, c := range columns {
		at[c] = i
	}
	named := map[string]bool{}
	for _, f := range fields {
		named[f.name] = true
	}
	out := make(map[int64]row, len(cells))
	for _, cs := range cells {
		v := make(map[string]any, len(fields))
		for _, f := range fields {
			if f.kind == "map" {
				continue
			}
			i, ok := at[f.name]
			if !ok || cs[i] == "" {
				if !f.nullable {
					t.Fatalf("simulator row without %s: %q", f.name, cs)
				}
				v[f.name] = nil
				continue
			}
			typed, err := typeCell(f.kind, cs[i])
			if err != nil {
				t.Fatalf("simulator cell %s=%q: %v", f.name, cs[i], err)
			}
			v[f.name] = typed
		}
		extra := map[string]string{}
		for i, c := range columns {
			if !named[c] {
				extra[c] = cs[i]
			}
		}
		v["extra_columns"] = extra
		var key *string
		for _, k := range keyColumns {
			if i, ok := at[k]; ok && cs[i] != "" {
				key = &cs[i]
				break
			}
		}
		ms := v["created_at"].(int64)
		if _, dup := out[ms]; dup {
			t.Fatalf("simulator served two rows with created_at %d", ms)
		}
		out[ms] = row{key: key, value: v}
	}
	return out
}

func typeCell(kind, cell string) (any, error) {
	switch kind {
	case "string":
		return cell, nil
	case "boolean":
		return strconv.ParseBool(cell)
	case "int", "long":
		return strconv.ParseInt(cell, 10, 64)
	case "double":
		return strconv.ParseFloat(cell, 64)
	case "timestamp-millis":
		ts, err := time.Parse("2006-01-02T15:04:05.000Z", cell)
		return ts.UnixMilli(), err
	}
	return nil, fmt.Errorf("kind %s", kind)
}

// line is one record printed by a Python consumer.
type line struct {
	Partition int32          `json:"partition"`
	Offset    int64          `json:"offset"`
	Key       *string        `json:"key"`
	Value     map[string]any `json:"value"`
}

func parseLines(t *testing.T, out []byte) []line {
	t.Helper()
	var lines []line
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber() // keep 3600 and 3600.0 apart: long and double
		var l line
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("consumer output %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// typed converts a value as Python's json printed it to the types of row,
// checking that the consumer decoded each field with the schema's type.
func typed(fields []field, v map[string]any) (map[string]any, []string) {
	out := make(map[string]any, len(fields))
	var problems []string
	bad := func(f field, x any, why string) {
		problems = append(problems, fmt.Sprintf("field %s (%s) = %#v: %s", f.name, f.kind, x, why))
	}
	for _, f := range fields {
		x, ok := v[f.name]
		if !ok {
			problems = append(problems, "field "+f.name+" missing")
			continue
		}
		if x == nil {
			if !f.nullable {
				bad(f, x, "null in a required field")
			}
			out[f.name] = nil
			continue
		}
		switch f.kind {
		case "string", "boolean":
			if (f.kind == "string") != isString(x) || (f.kind == "boolean") != isBool(x) {
				bad(f, x, "decoded with another type")
			}
			out[f.name] = x
		case "int", "long", "double":
			n, ok := x.(json.Number)
			// Python prints a float with a point or an exponent, an int without.
			if !ok || strings.ContainsAny(string(n), ".eE") != (f.kind == "double") {
				bad(f, x, "decoded with another type")
				continue
			}
			if f.kind == "double" {
				out[f.name], _ = n.Float64()
			} else {
				out[f.name], _ = n.Int64()
			}
		case "timestamp-millis":
			s, ok := x.(string)
			if !ok {
				bad(f, x, "want the datetime the logical type decodes to, printed as ISO 8601")
				continue
			}
			ts, err := time.Parse(time.RFC3339Nano, s)
			if _, off := ts.Zone(); err != nil || off != 0 {
				bad(f, x, "want an ISO 8601 datetime in UTC")
				continue
			}
			out[f.name] = ts.UnixMilli()
		case "map":
			m, ok := x.(map[string]any)
			extra := make(map[string]string, len(m))
			for k, e := range m {
				s, isStr := e.(string)
				ok = ok && isStr
				extra[k] = s
			}
			if !ok {
				bad(f, x, "want a map of strings")
			}
			out[f.name] = extra
		}
	}
	for name := range v {
		if !slices.ContainsFunc(fields, func(f field) bool { return f.name == name }) {
			problems = append(problems, "field "+name+" is not in the schema")
		}
	}
	return out, problems
}

func isString(x any) bool { _, ok := x.(string); return ok }
func isBool(x any) bool   { _, ok := x.(bool); return ok }

// compareDecoded checks that a consumer saw exactly the records of the Go
// read_committed view, with their keys, and decoded every one of them to
// the simulator's row, field by field.
func compareDecoded(t *testing.T, fields []field, want map[int64]row, committed []*kgo.Record, got []line) {
	t.Helper()
	var errs []string
	if len(got) != len(committed) {
		errs = append(errs, fmt.Sprintf("consumer decoded %d records, the Go read_committed view holds %d", len(got), len(committed)))
	}
	type pos struct {
		p int32
		o int64
	}
	byPos := make(map[pos]*kgo.Record, len(committed))
	for _, r := range committed {
		byPos[pos{r.Partition, r.Offset}] = r
	}
	seen := map[int64]bool{}
	for _, l := range got {
		where := fmt.Sprintf("partition %d offset %d", l.Partition, l.Offset)
		r, ok := byPos[pos{l.Partition, l.Offset}]
		switch {
		case !ok:
			errs = append(errs, where+": not a record of the Go read_committed view")
		case !sameKey(l.Key, r.Key):
			errs = append(errs, fmt.Sprintf("%s: key %s, Go reads %q", where, show(l.Key), r.Key))
		}
		v, problems := typed(fields, l.Value)
		for _, p := range problems {
			errs = append(errs, where+": "+p)
		}
		ms, ok := v["created_at"].(int64)
		if !ok {
			continue
		}
		w, ok := want[ms]
		if !ok || seen[ms] {
			errs = append(errs, fmt.Sprintf("%s: created_at %s is not a row the simulator served once", where, time.UnixMilli(ms).UTC()))
			continue
		}
		seen[ms] = true
		if !sameKey(l.Key, keyBytes(w.key)) {
			errs = append(errs, fmt.Sprintf("%s: key %s, want %s", where, show(l.Key), show(w.key)))
		}
		for _, f := range fields {
			if !reflect.DeepEqual(v[f.name], w.value[f.name]) {
				errs = append(errs, fmt.Sprintf("%s created_at %d: %s = %#v, want %#v", where, ms, f.name, v[f.name], w.value[f.name]))
			}
		}
	}
	if missing := len(want) - len(seen); missing > 0 {
		errs = append(errs, fmt.Sprintf("%d of %d simulator rows were not decoded", missing, len(want)))
	}
	if len(errs) > 0 {
		if len(errs) > 20 {
			errs = append(errs[:20], fmt.Sprintf("... and %d more", len(errs)-20))
		}
		t.Fatalf("consumer output differs from the simulator's rows:\n%s", strings.Join(errs, "\n"))
	}
}

func keyBytes(k *string) []byte {
	if k == nil {
		return nil
	}
	return []byte(*k)
}

func sameKey(got *string, want []byte) bool {
	if got == nil || want == nil {
		return got == nil && want == nil
	}
	return *got == string(want)
}

func show(k *string) string {
	if k == nil {
		return "null"
	}
	return strconv.Quote(*k)
}

// compareKeys checks that kcat saw as many records as the Go
// read_committed view, with the same keys (null prints as "").
func compareKeys(t *testing.T, committed []*kgo.Record, kcat []string) {
	t.Helper()
	want := make([]string, len(committed))
	for i, r := range committed {
		want[i] = string(r.Key)
	}
	slices.Sort(want)
	got := slices.Sorted(slices.Values(kcat))
	if len(got) != len(want) {
		t.Fatalf("kcat read %d records, the Go read_committed view holds %d", len(got), len(want))
	}
	if !slices.Equal(got, want) {
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("kcat keys differ from the Go read_committed view: first difference at sorted position %d: %q, want %q", i, got[i], want[i])
			}
		}
	}
}
