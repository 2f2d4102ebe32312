package schemas

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/soe"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var contractEvents = []string{
	"Conversation-Created", "Message-Sent", "Conversation-Resolved", "Conversation-Resolution-Label",
	"CSAT-Score", "First-Response-Time", "Response-Time", "Resolution-Time",
	"Conversation-Agent-Assigned", "Conversation-Group-Assigned", "Agent-Activity",
	"Agent-Intelliassign-Activity",
}

var unpublished = map[string]bool{
	"Conversation-Agent-Assigned":  true,
	"Conversation-Group-Assigned":  true,
	"Agent-Activity":               true,
	"Agent-Intelliassign-Activity": true,
}

func TestEvents(t *testing.T) {
	got := Events()
	assert.Equal(t, contractEvents, got)

	got[0] = "changed"
	assert.Equal(t, "Conversation-Created", Events()[0], "Events must return a copy")
}

func TestLookup(t *testing.T) {
	recordNames := map[string]string{
		"Conversation-Created":          "ConversationCreated",
		"Message-Sent":                  "MessageSent",
		"Conversation-Resolved":         "ConversationResolved",
		"Conversation-Resolution-Label": "ConversationResolutionLabel",
		"CSAT-Score":                    "CSATScore",
		"First-Response-Time":           "FirstResponseTime",
		"Response-Time":                 "ResponseTime",
		"Resolution-Time":               "ResolutionTime",
		"Conversation-Agent-Assigned":   "ConversationAgentAssigned",
		"Conversation-Group-Assigned":   "ConversationGroupAssigned",
		"Agent-Activity":                "AgentActivity",
		"Agent-Intelliassign-Activity":  "AgentIntelliassignActivity",
	}
	for _, ev := range contractEvents {
		t.Run(ev, func(t *testing.T) {
			s, err := Lookup(ev)
			require.NoError(t, err)
			assert.Equal(t, ev, s.Event)
			assert.Equal(t, "freshchat.reports.raw."+recordNames[ev], s.Name)
			assert.Equal(t, s.Name, s.Avro.(*avro.RecordSchema).FullName())
		})
	}

	for _, name := range []string{"", "message-sent", "MessageSent", "Message-Sent ", "Unknown"} {
		t.Run("unknown "+name, func(t *testing.T) {
			s, err := Lookup(name)
			require.Error(t, err)
			assert.Nil(t, s)
			assert.ErrorIs(t, err, ErrUnknownEvent)
			for _, ev := range contractEvents {
				assert.Contains(t, err.Error(), ev)
			}
		})
	}
}

// wantType is the Avro type of each column per docs/CONTRACTS.md.
func wantType(event, col string) string {
	switch col {
	case "created_at":
		return `{"type":"long","logicalType":"timestamp-millis"}`
	case "reopened", "is_conv_offline", "actor_belongs_to_group", "has_response", "issue_resolved", "csat_reopen":
		return `["null","boolean"]`
	case "total_first_response_time_in_seconds", "duration_in_seconds":
		return `["null","long"]`
	case "value_in_seconds":
		if event == "Resolution-Time" {
			return `["null","double"]`
		}
		return `["null","long"]`
	case "value":
		if event == "CSAT-Score" {
			return `["null","int"]`
		}
	case "extra_columns":
		return `{"type":"map","values":"string"}`
	}
	return `["null","string"]`
}

func TestSchemaFiles(t *testing.T) {
	entries, err := fs.ReadDir(files, "avro")
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".avsc"))
	}
	assert.ElementsMatch(t, contractEvents, names, "one .avsc per event, nothing else")

	for _, ev := range contractEvents {
		t.Run(ev, func(t *testing.T) {
			raw, err := os.ReadFile("avro/" + ev + ".avsc")
			require.NoError(t, err)

			// The file parses on its own.
			parsed, err := avro.ParseWithCache(string(raw), "", &avro.SchemaCache{})
			require.NoError(t, err)
			rec, ok := parsed.(*avro.RecordSchema)
			require.True(t, ok)
			assert.Equal(t, Namespace, rec.Namespace())
			assert.NotEmpty(t, strings.TrimSpace(rec.Doc()), "record doc")
			if unpublished[ev] {
				assert.Contains(t, rec.Doc(), "inferred")
			}

			// The JSON itself, as a registry would see it.
			var doc struct {
				Fields []struct {
					Name    string          `json:"name"`
					Doc     string          `json:"doc"`
					Type    json.RawMessage `json:"type"`
					Default json.RawMessage `json:"default"`
				} `json:"fields"`
			}
			require.NoError(t, json.Unmarshal(raw, &doc))
			seen := map[string]bool{}
			for i, f := range doc.Fields {
				assert.False(t, seen[f.Name], "duplicate field %s", f.Name)
				seen[f.Name] = true
				assert.NotEmpty(t, strings.TrimSpace(f.Doc), "doc of %s", f.Name)
				var typ bytes.Buffer
				require.NoError(t, json.Compact(&typ, f.Type))
				assert.Equal(t, wantType(ev, f.Name), typ.String(), "type of %s", f.Name)
				switch f.Name {
				case CreatedAtField:
					assert.Nil(t, f.Default, "created_at is required: no default")
				case ExtraColumnsField:
					assert.Equal(t, len(doc.Fields)-1, i, "extra_columns is last")
					assert.JSONEq(t, `{}`, string(f.Default))
					assert.Contains(t, f.Doc, "never dropped")
				default:
					assert.Equal(t, "null", string(f.Default), "default of %s", f.Name)
					if unpublished[ev] {
						assert.Contains(t, f.Doc, "Inferred", "doc of %s", f.Name)
					}
				}
			}
			assert.True(t, seen[CreatedAtField])
			assert.True(t, seen[ExtraColumnsField])

			// The parsed form agrees: created_at is a timestamp-millis long.
			for _, f := range rec.Fields() {
				if f.Name() == CreatedAtField {
					p, ok := f.Type().(*avro.PrimitiveSchema)
					require.True(t, ok)
					assert.Equal(t, avro.Long, p.Type())
					require.NotNil(t, p.Logical())
					assert.Equal(t, avro.TimestampMillis, p.Logical().Type())
				}
			}

			// The registered Text is the file, minus insignificant white space.
			var compact bytes.Buffer
			require.NoError(t, json.Compact(&compact, raw))
			s, err := Lookup(ev)
			require.NoError(t, err)
			assert.Equal(t, compact.String(), s.Text)
		})
	}
}

func TestSchemaSelfCompatible(t *testing.T) {
	for _, ev := range contractEvents {
		t.Run(ev, func(t *testing.T) {
			s, err := Lookup(ev)
			require.NoError(t, err)
			assert.NoError(t, avro.NewSchemaCompatibility().Compatible(s.Avro, s.Avro))
			resolved, err := avro.NewSchemaCompatibility().Resolve(s.Avro, s.Avro)
			require.NoError(t, err)
			assert.Equal(t, s.Avro.String(), resolved.String())
		})
	}
}

// rabin is the CRC-64-AVRO fingerprint exactly as the Avro specification
// writes it (bit by bit, no table), independent of the package under test.
func rabin(b []byte) uint64 {
	const empty = 0xc15d213aa4d7a795
	fp := uint64(empty)
	for _, c := range b {
		fp ^= uint64(c)
		for range 8 {
			fp = (fp >> 1) ^ (empty & -(fp & 1))
		}
	}
	return fp
}

func TestRabinReference(t *testing.T) {
	// Test vector of the Avro Java implementation (SchemaNormalization) for
	// the schema "null".
	assert.Equal(t, uint64(7195948357588979594), rabin([]byte(`"null"`)))
}

// stripLogicalTypes removes every logicalType attribute from a JSON schema.
func stripLogicalTypes(v any) any {
	switch t := v.(type) {
	case map[string]any:
		delete(t, "logicalType")
		for k, x := range t {
			t[k] = stripLogicalTypes(x)
		}
	case []any:
		for i, x := range t {
			t[i] = stripLogicalTypes(x)
		}
	}
	return v
}

func TestFingerprint(t *testing.T) {
	for _, ev := range contractEvents {
		t.Run(ev, func(t *testing.T) {
			s, err := Lookup(ev)
			require.NoError(t, err)

			// Parsing Canonical Form: names and types only.
			for _, attr := range []string{`"doc"`, `"default"`, `"logicalType"`, `"namespace"`, " ", "\n"} {
				assert.NotContains(t, s.Canonical, attr)
			}
			assert.True(t, strings.HasPrefix(s.Canonical, `{"name":"`+s.Name+`","type":"record","fields":[`))

			// Single-object encoding stores the fingerprint little-endian.
			fp := rabin([]byte(s.Canonical))
			assert.Equal(t, fp, binary.LittleEndian.Uint64(s.Fingerprint[:]))

			// hamba's canonical form keeps logicalType, which the Avro
			// specification strips. With logical types removed from the
			// input, hamba and this package agree byte for byte.
			var doc any
			require.NoError(t, json.Unmarshal([]byte(s.Text), &doc))
			stripped, err := json.Marshal(stripLogicalTypes(doc))
			require.NoError(t, err)
			plain, err := avro.ParseWithCache(string(stripped), "", &avro.SchemaCache{})
			require.NoError(t, err)
			assert.Equal(t, s.Canonical, plain.String())

			be, err := plain.FingerprintUsing(avro.CRC64Avro)
			require.NoError(t, err)
			assert.Equal(t, fp, binary.BigEndian.Uint64(be), "hamba CRC64-AVRO is big-endian")
			reversed := slices.Clone(be)
			slices.Reverse(reversed)
			assert.Equal(t, s.Fingerprint[:], reversed)

			le, err := soe.ComputeFingerprint(plain)
			require.NoError(t, err)
			assert.Equal(t, s.Fingerprint[:], le, "soe.ComputeFingerprint")
		})
	}
}

func TestFingerprintsDistinct(t *testing.T) {
	seen := map[[8]byte]string{}
	for _, ev := range contractEvents {
		s, err := Lookup(ev)
		require.NoError(t, err)
		other, dup := seen[s.Fingerprint]
		assert.False(t, dup, "%s and %s share a fingerprint", ev, other)
		seen[s.Fingerprint] = ev
	}
}
