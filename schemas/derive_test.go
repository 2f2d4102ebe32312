package schemas

import (
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustDerive(t testing.TB, event string, columns ...string) *Schema {
	t.Helper()
	s, err := Derive(event, columns)
	require.NoError(t, err)
	return s
}

// avroFields returns name → field of a schema's record.
func avroFields(s *Schema) map[string]*avro.Field {
	out := map[string]*avro.Field{}
	for _, f := range s.Avro.(*avro.RecordSchema).Fields() {
		out[f.Name()] = f
	}
	return out
}

func TestDeriveRecordName(t *testing.T) {
	for event, want := range map[string]string{
		"agent-performance":      "AgentPerformance",
		"Chat-Transcript":        "ChatTranscript",
		"classic":                "Classic",
		"CSAT-Score":             "CSATScore",
		"agent performance_v2":   "AgentPerformanceV2",
		"24h-summary":            "Event24hSummary",
		"  --Über-Report--  ":    "BerReport",
		"Message-Sent":           "MessageSent",
		"dotted.name/with:stuff": "DottedNameWithStuff",
	} {
		t.Run(event, func(t *testing.T) {
			s := mustDerive(t, event, "created_at", "x")
			assert.Equal(t, DerivedNamespace+"."+want, s.Name)
			assert.Equal(t, event, s.Event)
		})
	}
	for _, event := range []string{"", "---", "日本"} {
		_, err := Derive(event, []string{"created_at"})
		assert.ErrorContains(t, err, "has no ASCII letter or digit", "%q", event)
	}
}

func TestDeriveShape(t *testing.T) {
	s := mustDerive(t, "agent-performance", "agent_id", "created_at", "first response", "avg_handle_time")
	assert.True(t, s.Derived())
	assert.Equal(t, "freshchat.reports.raw.derived.AgentPerformance", s.Name)
	assert.Equal(t, []string{"created_at", "agent_id", "avg_handle_time", "first response"}, s.Columns())
	assert.Equal(t, []string{"created_at", "agent_id", "avg_handle_time", "first_response"}, fieldNames(s))

	r := s.Avro.(*avro.RecordSchema)
	assert.Contains(t, r.Doc(), "derived by the connector from the report's CSV header")
	fs := avroFields(s)
	assert.Equal(t, `{"type":"long","logicalType":"timestamp-millis"}`, fs[CreatedAtField].Type().String())
	assert.False(t, fs[CreatedAtField].HasDefault())
	for _, name := range []string{"agent_id", "avg_handle_time", "first_response"} {
		assert.Equal(t, `["null","string"]`, fs[name].Type().String(), name)
		assert.True(t, fs[name].HasDefault(), name)
		assert.Nil(t, fs[name].Default(), name)
	}
	assert.Equal(t, `CSV column "first response".`, fs["first_response"].Doc())
	last := r.Fields()[len(r.Fields())-1]
	assert.Equal(t, ExtraColumnsField, last.Name())
	assert.Equal(t, `{"type":"map","values":"string"}`, last.Type().String())

	// The text is what a registry receives: compact JSON, parseable alone.
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(s.Text), &doc))
	assert.Equal(t, DerivedNamespace, doc["namespace"])
	assert.NotContains(t, s.Text, "\n")

	// Fingerprint of the Parsing Canonical Form, as for embedded schemas.
	assert.Equal(t, rabin([]byte(s.Canonical)), binary.LittleEndian.Uint64(s.Fingerprint[:]))

	embedded := mustLookup(t, "Message-Sent")
	assert.False(t, embedded.Derived())
	assert.Equal(t, fieldNames(embedded), embedded.Columns())
}

func TestDeriveWithoutCreatedAt(t *testing.T) {
	s := mustDerive(t, "classic", "name", "value")
	assert.Equal(t, []string{"name", "value"}, fieldNames(s))

	c, err := s.Converter([]string{"value", "name"})
	require.NoError(t, err)
	_, err = c.CreatedAt([]string{"1", "n"})
	require.ErrorIs(t, err, ErrNoCreatedAt)
	assert.EqualError(t, err, "schemas: classic: the header has no created_at column")

	b, err := c.Append(nil, []string{"1", ""})
	require.NoError(t, err)
	got := decodeExact(t, s, b)
	assert.Equal(t, map[string]any{"name": nil, "value": "1", ExtraColumnsField: map[string]any{}}, got)
}

// TestDeriveStable: the same set of columns gives the same schema in any
// CSV order.
func TestDeriveStable(t *testing.T) {
	cols := []string{"created_at", "interaction_id", "first response", "first-response", "2nd agent", "größe", "a_b", "a b", "Z", "extra_columns", "created at"}
	want := mustDerive(t, "Chat-Transcript", cols...)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		shuffled := slices.Clone(cols)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		got := mustDerive(t, "Chat-Transcript", shuffled...)
		require.Equal(t, want.Text, got.Text, "%q", shuffled)
		require.Equal(t, want.Fingerprint, got.Fingerprint)
		require.Equal(t, want.Columns(), got.Columns())
	}
}

func TestDeriveSanitises(t *testing.T) {
	// field name → column
	want := map[string]string{
		"created_at":       "created_at",
		"_":                "",
		"_2nd_agent":       "2nd agent",
		"a_b":              "a_b", // a valid name keeps it ...
		"a_b_2":            "a b", // ... and a sanitised one that collides gets a suffix
		"created_at_2":     "created at",
		"extra_columns_2":  "extra_columns",
		"first_response":   "first response",
		"first_response_2": "first-response",
		"gr__e":            "größe",
		"ok_Name1":         "ok_Name1",
	}
	_, err := Derive("x", []string{"", "\t"})
	require.ErrorContains(t, err, `column "" appears twice`, "cells are trimmed as the Converter trims them")

	s := mustDerive(t, "Chat-Transcript",
		"created_at", "first response", "first-response", "2nd agent", "größe", "a_b", "a b",
		"extra_columns", "created at", "ok_Name1", "")
	got := map[string]string{}
	names, cols := fieldNames(s), s.Columns()
	for i := range names {
		got[names[i]] = cols[i]
	}
	assert.Equal(t, want, got)
	assert.Equal(t, "created_at", names[0])
	assert.True(t, slices.IsSorted(names[1:]), "%q", names)
	for _, n := range names {
		assert.True(t, validName(n), n)
	}
	for _, f := range s.Avro.(*avro.RecordSchema).Fields()[1 : len(names)-1] {
		assert.Equal(t, `["null","string"]`, f.Type().String(), "%s is a nullable string", f.Name())
	}

	// The Converter reads the original names; extra_columns the column is
	// a field here, not the map.
	header := []string{"\uFEFFgröße", " first-response ", "a b", "extra_columns", "created_at", "created at", "other"}
	c, err := s.Converter(header)
	require.NoError(t, err)
	assert.Equal(t, []string{"other"}, c.Unknown())
	assert.Equal(t, []string{"", "2nd agent", "a_b", "first response", "ok_Name1"}, c.Missing())
	b, err := c.Append(nil, []string{"42", "fr", "ab", "xc", sampleCreatedAt, "ca", "o"})
	require.NoError(t, err)
	rec := decodeExact(t, s, b)
	assert.Equal(t, "42", rec["gr__e"])
	assert.Equal(t, "fr", rec["first_response_2"])
	assert.Nil(t, rec["first_response"])
	assert.Equal(t, "ab", rec["a_b_2"])
	assert.Nil(t, rec["a_b"])
	assert.Equal(t, "xc", rec["extra_columns_2"])
	assert.Equal(t, "ca", rec["created_at_2"])
	assert.True(t, sampleTime.Equal(rec[CreatedAtField].(time.Time)))
	assert.Equal(t, map[string]any{"other": "o"}, rec[ExtraColumnsField])
}

func TestDeriveErrors(t *testing.T) {
	_, err := Derive("agent-performance", []string{"a", "created_at", " a"})
	require.EqualError(t, err, `schemas: agent-performance header: column "a" appears twice (positions 0 and 2)`)
	_, err = Derive("agent-performance", nil)
	require.EqualError(t, err, "schemas: deriving a schema for agent-performance: the header has no columns")
}

// TestDerivedConverter runs a derived schema through the same Converter
// paths as the embedded ones: column order, keys with their fallback,
// created_at, cell errors.
func TestDerivedConverter(t *testing.T) {
	s := mustDerive(t, "agent-performance", "agent_id", "conversation_id", "created_at", "score")
	c, err := s.Converter([]string{"score", "created_at", "agent_id", "conversation_id"})
	require.NoError(t, err)

	row := []string{"4.5", sampleCreatedAtQuirk, "ag-1", ""}
	b, err := c.Append(nil, row)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"agent_id": "ag-1", "conversation_id": nil, "score": "4.5",
		CreatedAtField: sampleTime, ExtraColumnsField: map[string]any{},
	}, normaliseTimes(decodeExact(t, s, b)))

	key, ok := c.AppendKey(nil, row)
	require.True(t, ok)
	assert.Equal(t, "ag-1", string(key), "falls back past an empty conversation_id to agent_id")
	key, ok = c.AppendKey(nil, []string{"", sampleCreatedAt, "ag-1", "conv-9"})
	require.True(t, ok)
	assert.Equal(t, "conv-9", string(key))
	_, ok = c.AppendKey(nil, []string{"", sampleCreatedAt, "", ""})
	assert.False(t, ok)

	at, err := c.CreatedAt(row)
	require.NoError(t, err)
	assert.True(t, sampleTime.Equal(at))

	_, err = c.Append(nil, []string{"", "", "a", "b"})
	var ce *CellError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, CreatedAtField, ce.Column)
	assert.ErrorIs(t, err, errRequired)

	_, err = s.Converter([]string{"agent_id", "score"})
	require.EqualError(t, err, "schemas: agent-performance header has no created_at column, which every record requires")
}

// normaliseTimes turns time.Time values into UTC for comparison.
func normaliseTimes(m map[string]any) map[string]any {
	for k, v := range m {
		if tv, ok := v.(time.Time); ok {
			m[k] = tv.UTC()
		}
	}
	return m
}

func TestWiden(t *testing.T) {
	s := mustDerive(t, "agent-performance", "created_at", "agent_id", "score")

	same, changed, err := Widen(s, []string{"score", "agent_id", "created_at"})
	require.NoError(t, err)
	assert.False(t, changed)
	assert.Same(t, s, same)

	// A column dropped by the report never narrows the schema.
	same, changed, err = Widen(s, []string{"created_at", "agent_id"})
	require.NoError(t, err)
	assert.False(t, changed)
	assert.Same(t, s, same)

	w, changed, err := Widen(s, []string{"created_at", "agent_id", "handle time", "queue"})
	require.NoError(t, err)
	assert.True(t, changed)
	assert.True(t, w.Derived())
	assert.Equal(t, s.Name, w.Name)
	assert.Equal(t, []string{"created_at", "agent_id", "handle time", "queue", "score"}, w.Columns())
	assert.Equal(t, []string{"created_at", "agent_id", "handle_time", "queue", "score"}, fieldNames(w))
	assert.NoError(t, CheckCompatible(Full, s.Text, w.Text), "widening adds nullable fields only")

	// Without collisions, widening gives what deriving from the union gives.
	union := mustDerive(t, "agent-performance", "created_at", "agent_id", "score", "handle time", "queue")
	assert.Equal(t, union.Text, w.Text)
	assert.Equal(t, union.Fingerprint, w.Fingerprint)

	// Old columns missing from a later file are null.
	c, err := w.Converter([]string{"queue", "created_at"})
	require.NoError(t, err)
	assert.Equal(t, []string{"agent_id", "handle time", "score"}, c.Missing())
	b, err := c.Append(nil, []string{"q1", sampleCreatedAt})
	require.NoError(t, err)
	got := decodeExact(t, w, b)
	assert.Equal(t, "q1", got["queue"])
	assert.Nil(t, got["score"])
}

// TestWidenKeepsNames: a new column never takes the field name an existing
// column has, even where deriving from scratch would give it that name.
func TestWidenKeepsNames(t *testing.T) {
	s := mustDerive(t, "classic", "created_at", "a-b")
	assert.Equal(t, []string{"created_at", "a_b"}, fieldNames(s))

	w, changed, err := Widen(s, []string{"a_b", "a b", "created_at", "a-b"})
	require.NoError(t, err)
	require.True(t, changed)
	got := map[string]string{}
	names, cols := fieldNames(w), w.Columns()
	for i := range names {
		got[names[i]] = cols[i]
	}
	// The taken valid name a_b is sanitised like any other: suffixes follow
	// column order ("a b" < "a_b").
	assert.Equal(t, map[string]string{"created_at": "created_at", "a_b": "a-b", "a_b_2": "a b", "a_b_3": "a_b"}, got)
	assert.NoError(t, CheckCompatible(Full, s.Text, w.Text))

	fresh := mustDerive(t, "classic", "a_b", "a b", "created_at", "a-b")
	assert.NotEqual(t, fresh.Text, w.Text, "from scratch, the valid name a_b keeps its column")
}

// TestWidenCreatedAtLater: a created_at column appearing in a report derived
// without one is added nullable, so the new version still reads old records.
func TestWidenCreatedAtLater(t *testing.T) {
	s := mustDerive(t, "classic", "name")
	w, changed, err := Widen(s, []string{"name", "created_at"})
	require.NoError(t, err)
	require.True(t, changed)
	assert.Equal(t, []string{"created_at", "name"}, fieldNames(w))
	f := avroFields(w)[CreatedAtField]
	assert.Equal(t, `["null",{"type":"long","logicalType":"timestamp-millis"}]`, f.Type().String())
	assert.True(t, f.HasDefault())
	assert.NoError(t, CheckCompatible(Full, s.Text, w.Text))

	c, err := w.Converter([]string{"created_at", "name"})
	require.NoError(t, err)
	b, err := c.Append(nil, []string{sampleCreatedAt, "n"})
	require.NoError(t, err)
	got := decodeExact(t, w, b)
	assert.True(t, sampleTime.Equal(got[CreatedAtField].(time.Time)))
	at, err := c.CreatedAt([]string{sampleCreatedAt, "n"})
	require.NoError(t, err)
	assert.True(t, sampleTime.Equal(at))

	b, err = c.Append(nil, []string{"", "n"})
	require.NoError(t, err, "a nullable created_at may be empty")
	assert.Nil(t, decodeExact(t, w, b)[CreatedAtField])
	_, err = c.CreatedAt([]string{"", "n"})
	assert.ErrorIs(t, err, errRequired)
	_, err = c.Append(nil, []string{"yesterday", "n"})
	assert.ErrorIs(t, err, errTimestamp)

	// Files without the column still convert; CreatedAt says why it cannot.
	c, err = w.Converter([]string{"name"})
	require.NoError(t, err)
	b, err = c.Append(nil, []string{"n"})
	require.NoError(t, err)
	assert.Nil(t, decodeExact(t, w, b)[CreatedAtField])
	_, err = c.CreatedAt([]string{"n"})
	assert.ErrorIs(t, err, ErrNoCreatedAt)

	again, changed, err := Widen(w, []string{"created_at"})
	require.NoError(t, err)
	assert.False(t, changed)
	assert.Same(t, w, again)
}

func TestWidenErrors(t *testing.T) {
	_, _, err := Widen(mustLookup(t, "Message-Sent"), []string{"created_at", "new"})
	require.EqualError(t, err, "schemas: Message-Sent has an embedded schema, which is never widened (columns it does not name travel in extra_columns)")

	s := mustDerive(t, "classic", "created_at")
	_, _, err = Widen(s, []string{"x", "x"})
	require.EqualError(t, err, `schemas: classic header: column "x" appears twice (positions 0 and 1)`)
}
