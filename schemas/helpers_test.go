package schemas

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sampleCreatedAt is the created_at of every sample row, in both served forms.
const (
	sampleCreatedAt      = "2020-09-14T10:00:00.123Z"
	sampleCreatedAtQuirk = "2020-09-14 10:00:00.123"
)

var sampleTime = time.Date(2020, 9, 14, 10, 0, 0, 123_000_000, time.UTC)

// sampleCell is a realistic CSV cell of a column and the value hamba must
// decode from its Avro encoding.
type sampleCell struct {
	cell string
	want any
}

// samples holds one realistic cell per column name across all events.
// Typed columns deliberately use the accepted spellings that are not the
// plainest ones (FALSE, False, padded numbers).
var samples = map[string]sampleCell{
	"channel_id":                           str("b4d1c3f0-6f2a-4c59-9a8e-1d2e3f4a5b6c"),
	"channel_name":                         str("Billing"),
	"reopened":                             {"true", true},
	"actor_type":                           str("AGENT"),
	"actor_sub_type":                       str("intelliAssign"),
	"group_name":                           str("Tier 1 Support"),
	"group_id":                             str("0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"),
	"reopen_cause":                         str("USER_MESSAGE"),
	"created_at":                           {sampleCreatedAt, sampleTime},
	"interaction_id":                       str("408721234567890123"),
	"interaction_raw_id":                   str("9a8b7c6d-1600077600123"),
	"conv_url":                             str("https://acme.freshchat.com/a/884253/inbox/open/0/conversation/408721234567"),
	"conversation_id":                      str("9a8b7c6d-e5f4-4a3b-9c2d-1e0f9a8b7c6d"),
	"is_conv_offline":                      {"FALSE", false},
	"actor_name":                           str("Dana Whitfield"),
	"actor_id":                             str("c0ffee00-1234-4abc-8def-0123456789ab"),
	"resolve_type":                         str("AGENT_RESOLVE"),
	"agent_name":                           str("Dana Whitfield"),
	"agent_id":                             str("c0ffee00-1234-4abc-8def-0123456789ab"),
	"agent_email":                          str("dana.whitfield@acme.example"),
	"actor_belongs_to_group":               {"False", false},
	"label_sub_category_id":                str("e1d2c3b4-a596-4877-8695-a4b3c2d1e0f9"),
	"label_sub_category_name":              str("Refund requested"),
	"label_category_id":                    str("a1b2c3d4-e5f6-4789-8abc-def012345678"),
	"label_category_name":                  str("Payments"),
	"labelled_by_type":                     str("AGENT"),
	"user_name":                            str("Jörg Müller"),
	"csat_id":                              str("5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"),
	"csat_submitter_user_name":             str("Jörg Müller"),
	"csat_submitter_user_id":               str("77aa88bb-99cc-4dd0-8ee1-ff2233445566"),
	"has_response":                         {"TRUE", true},
	"issue_resolved":                       {"true", true},
	"csat_reopen":                          {"false", false},
	"csat_response":                        str(`Quick and friendly, "thanks"!`),
	"value":                                {" 4 ", 4},
	"total_first_response_time_in_seconds": {"187", int64(187)},
	"value_in_seconds":                     {"-42", int64(-42)},
	"duration_in_seconds":                  {"3600", int64(3600)},
	"status":                               str("AVAILABLE"),
	"intelliassign_status":                 str("ACTIVE"),
}

// resolutionTimeValue is value_in_seconds of Resolution-Time, a double.
var resolutionTimeValue = sampleCell{"3600.5", 3600.5}

func str(s string) sampleCell { return sampleCell{s, s} }

// extraColumns are the columns the simulator serves that the schemas do not
// name (docs/CONTRACTS.md), plus one vendor addition for the documented
// reports.
var extraColumns = map[string][]string{
	"Conversation-Agent-Assigned":  {"assignment_type"},
	"Conversation-Group-Assigned":  {"previous_group_id"},
	"Agent-Activity":               {"status_reason"},
	"Agent-Intelliassign-Activity": {"assigned_count"},
}

func extraFor(event string) []string {
	if x, ok := extraColumns[event]; ok {
		return x
	}
	return []string{"vendor_new_column"}
}

var extraCells = map[string]string{
	"assignment_type":   "AUTO",
	"previous_group_id": "",
	"status_reason":     "lunch, back at 2",
	"assigned_count":    "7",
	"vendor_new_column": "βeta",
}

// fieldNames returns the names of the fields of s, extra_columns excluded.
func fieldNames(s *Schema) []string {
	var out []string
	for _, f := range s.Avro.(*avro.RecordSchema).Fields() {
		if f.Name() != ExtraColumnsField {
			out = append(out, f.Name())
		}
	}
	return out
}

// sampleCellFor returns the sample cell of a column in an event.
func sampleCellFor(t testing.TB, event, col string) sampleCell {
	t.Helper()
	if event == "Resolution-Time" && col == "value_in_seconds" {
		return resolutionTimeValue
	}
	sc, ok := samples[col]
	require.True(t, ok, "no sample for column %s", col)
	return sc
}

// sampleRow is a shuffled header and a matching row holding every schema
// field of the event and its extra columns, with the decoded record hamba
// must produce.
type sampleRow struct {
	header []string
	row    []string
	want   map[string]any
}

func newSampleRow(t testing.TB, s *Schema, seed uint64) sampleRow {
	t.Helper()
	cols := append(fieldNames(s), extraFor(s.Event)...)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	rng.Shuffle(len(cols), func(i, j int) { cols[i], cols[j] = cols[j], cols[i] })

	r := sampleRow{want: map[string]any{}}
	extra := map[string]any{}
	for _, col := range cols {
		r.header = append(r.header, col)
		if cell, ok := extraCells[col]; ok {
			r.row = append(r.row, cell)
			extra[col] = cell
			continue
		}
		sc := sampleCellFor(t, s.Event, col)
		r.row = append(r.row, sc.cell)
		r.want[col] = sc.want
	}
	r.want[ExtraColumnsField] = extra
	return r
}

// decodeExact decodes b, which must hold exactly one record of s, with hamba.
// It appends a second copy of the record and decodes both from one stream:
// a record one byte too long or too short would misalign the second one.
func decodeExact(t testing.TB, s *Schema, b []byte) map[string]any {
	t.Helper()
	twice := append(append([]byte(nil), b...), b...)
	dec := avro.NewDecoderForSchema(s.Avro, bytes.NewReader(twice))
	var first, second map[string]any
	require.NoError(t, dec.Decode(&first), "first record")
	require.NoError(t, dec.Decode(&second), "second record")
	var third map[string]any
	require.ErrorIs(t, dec.Decode(&third), io.EOF, "bytes left after two records")
	require.Equal(t, first, second)
	return first
}

// assertRecord compares a decoded record with the expected values; every
// schema field must be present, with nil for null.
func assertRecord(t testing.TB, s *Schema, want, got map[string]any) {
	t.Helper()
	require.Len(t, got, len(fieldNames(s))+1)
	for _, name := range append(fieldNames(s), ExtraColumnsField) {
		w := want[name]
		g, ok := got[name]
		require.True(t, ok, "field %s not decoded", name)
		if wt, isTime := w.(time.Time); isTime {
			gt, ok := g.(time.Time)
			if assert.True(t, ok, "field %s: got %T, want time.Time", name, g) {
				assert.True(t, wt.Equal(gt), "field %s: got %v, want %v", name, gt, wt)
			}
			continue
		}
		assert.Equal(t, w, g, "field %s", name)
	}
}
