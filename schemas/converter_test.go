package schemas

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustLookup(t testing.TB, event string) *Schema {
	t.Helper()
	s, err := Lookup(event)
	require.NoError(t, err)
	return s
}

func TestAppendRoundTrip(t *testing.T) {
	for i, ev := range contractEvents {
		s := mustLookup(t, ev)
		for _, variant := range []string{"all values", "BOM and padded header", "nullable cells empty", "quirk timestamp"} {
			t.Run(ev+"/"+variant, func(t *testing.T) {
				r := newSampleRow(t, s, uint64(i))
				header := slices.Clone(r.header)
				switch variant {
				case "BOM and padded header":
					header[0] = "\uFEFF" + header[0]
					for j := range header {
						if j%3 == 1 {
							header[j] = "  " + header[j] + "\t"
						}
					}
				case "nullable cells empty":
					for j, col := range r.header {
						if col != CreatedAtField {
							r.row[j] = ""
						}
						if _, ok := r.want[col]; ok && col != CreatedAtField && col != ExtraColumnsField {
							r.want[col] = nil
						}
					}
					for k := range r.want[ExtraColumnsField].(map[string]any) {
						r.want[ExtraColumnsField].(map[string]any)[k] = ""
					}
				case "quirk timestamp":
					r.row[slices.Index(r.header, CreatedAtField)] = sampleCreatedAtQuirk
				}

				c, err := s.Converter(header)
				require.NoError(t, err)
				assert.Empty(t, c.Missing())
				assert.Equal(t, extraFor(ev), c.Unknown())

				prefix := []byte("prefix")
				b, err := c.Append(slices.Clone(prefix), r.row)
				require.NoError(t, err)
				require.True(t, bytes.HasPrefix(b, prefix), "Append must keep dst")
				got := decodeExact(t, s, b[len(prefix):])
				assertRecord(t, s, r.want, got)

				at, err := c.CreatedAt(r.row)
				require.NoError(t, err)
				assert.True(t, sampleTime.Equal(at))
				assert.Equal(t, time.UTC, at.Location())
			})
		}
	}
}

// TestAppendBytes pins the wire format on one small record.
func TestAppendBytes(t *testing.T) {
	s := mustLookup(t, "Agent-Intelliassign-Activity")
	c, err := s.Converter([]string{"created_at", "agent_id", "duration_in_seconds", "assigned_count"})
	require.NoError(t, err)
	b, err := c.Append(nil, []string{"1970-01-01T00:00:01.000Z", "a1", "-3", "7"})
	require.NoError(t, err)

	want := slices.Concat(
		// agent_id: union branch 1, string of length 2
		[]byte{0x02, 0x04}, []byte("a1"),
		// agent_name, group_id, group_name, intelliassign_status: null
		[]byte{0x00, 0x00, 0x00, 0x00},
		// created_at: 1000 ms, the zigzag varint of 2000
		[]byte{0xd0, 0x0f},
		// duration_in_seconds: union branch 1, zigzag(-3)
		[]byte{0x02, 0x05},
		// extra_columns: a block of one entry, key of length 14, value of
		// length 1, then the empty block ending the map
		[]byte{0x02}, []byte{0x1c}, []byte("assigned_count"), []byte{0x02}, []byte("7"), []byte{0x00},
	)
	assert.Equal(t, want, b)
	assert.Equal(t, []string{"agent_name", "group_id", "group_name", "intelliassign_status"}, c.Missing())
	assert.Equal(t, []string{"assigned_count"}, c.Unknown())
}

func TestAppendNoExtraColumnsIsEmptyMap(t *testing.T) {
	s := mustLookup(t, "Agent-Activity")
	c, err := s.Converter([]string{"created_at"})
	require.NoError(t, err)
	b, err := c.Append(nil, []string{"1970-01-01T00:00:00Z"})
	require.NoError(t, err)
	// 7 null fields, created_at 0, empty map.
	assert.Equal(t, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0}, b)
	got := decodeExact(t, s, b)
	assert.Equal(t, map[string]any{}, got[ExtraColumnsField])
	assert.Nil(t, c.Unknown())
}

func TestConverterHeader(t *testing.T) {
	s := mustLookup(t, "Message-Sent")

	t.Run("unknown and missing", func(t *testing.T) {
		c, err := s.Converter([]string{"\uFEFF created_at ", "Actor_ID", "conversation_id", "extra_columns", ""})
		require.NoError(t, err)
		assert.Equal(t, []string{"Actor_ID", "extra_columns", ""}, c.Unknown(), "matching is case-sensitive")
		assert.Equal(t, []string{"channel_name", "actor_sub_type", "reopened", "actor_type", "group_name",
			"actor_name", "interaction_id", "interaction_raw_id", "group_id", "actor_id", "channel_id"}, c.Missing())
		assert.Same(t, s, c.Schema())

		b, err := c.Append(nil, []string{"2020-09-14T10:00:00.000Z", "A-1", "conv-1", "x", "y"})
		require.NoError(t, err)
		got := decodeExact(t, s, b)
		assert.Equal(t, "conv-1", got["conversation_id"])
		assert.Nil(t, got["actor_id"])
		assert.Equal(t, map[string]any{"Actor_ID": "A-1", "extra_columns": "x", "": "y"}, got[ExtraColumnsField])

		c.Unknown()[0] = "changed"
		c.Missing()[0] = "changed"
		assert.Equal(t, "Actor_ID", c.Unknown()[0], "Unknown must return a copy")
		assert.Equal(t, "channel_name", c.Missing()[0], "Missing must return a copy")
	})

	errCases := []struct {
		name   string
		header []string
		want   string
	}{
		{"no created_at", []string{"actor_id", "conversation_id"}, `schemas: Message-Sent header has no created_at column, which every record requires`},
		{"empty header", nil, `schemas: Message-Sent header has no created_at column, which every record requires`},
		{"created_at in other case", []string{"Created_At"}, `schemas: Message-Sent header has no created_at column, which every record requires`},
		{"BOM only stripped from first cell", []string{"actor_id", "\uFEFFcreated_at"}, `schemas: Message-Sent header has no created_at column, which every record requires`},
		{"duplicate named column", []string{"created_at", "actor_id", " actor_id"}, `schemas: Message-Sent header: column "actor_id" appears twice (positions 1 and 2)`},
		{"duplicate unknown column", []string{"x", "created_at", "x"}, `schemas: Message-Sent header: column "x" appears twice (positions 0 and 2)`},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := s.Converter(tc.header)
			assert.Nil(t, c)
			assert.EqualError(t, err, tc.want)
		})
	}
}

func TestAppendCellErrors(t *testing.T) {
	s := mustLookup(t, "Resolution-Time")
	csat := mustLookup(t, "CSAT-Score")
	frt := mustLookup(t, "First-Response-Time")

	cases := []struct {
		name   string
		schema *Schema
		column string
		value  string
		want   string
		is     error
	}{
		{"bad boolean", s, "reopened", "maybe", `column "reopened" value "maybe": not a boolean (want true or false)`, errBool},
		{"boolean as digit", s, "actor_belongs_to_group", "1", `column "actor_belongs_to_group" value "1": not a boolean (want true or false)`, errBool},
		{"boolean yes", s, "reopened", "yes", `column "reopened" value "yes": not a boolean (want true or false)`, errBool},
		{"blank boolean", s, "reopened", " ", `column "reopened" value " ": not a boolean (want true or false)`, errBool},
		{"long with fraction", frt, "value_in_seconds", "12.0", `column "value_in_seconds" value "12.0": not an integer (want base-10 digits, optionally signed)`, errInteger},
		{"long word", frt, "total_first_response_time_in_seconds", "abc", `column "total_first_response_time_in_seconds" value "abc": not an integer (want base-10 digits, optionally signed)`, errInteger},
		{"long exponent", frt, "value_in_seconds", "1e3", `column "value_in_seconds" value "1e3": not an integer (want base-10 digits, optionally signed)`, errInteger},
		{"long sign only", frt, "value_in_seconds", "-", `column "value_in_seconds" value "-": not an integer (want base-10 digits, optionally signed)`, errInteger},
		{"long inner space", frt, "value_in_seconds", "1 2", `column "value_in_seconds" value "1 2": not an integer (want base-10 digits, optionally signed)`, errInteger},
		{"long overflow", frt, "value_in_seconds", "9223372036854775808", `column "value_in_seconds" value "9223372036854775808": integer out of range for long`, errLongRange},
		{"int overflow", csat, "value", "2147483648", `column "value" value "2147483648": integer out of range for int`, errIntRange},
		{"int with fraction", csat, "value", "4.5", `column "value" value "4.5": not an integer (want base-10 digits, optionally signed)`, errInteger},
		{"NaN double", s, "value_in_seconds", "NaN", `column "value_in_seconds" value "NaN": not a finite number (NaN and infinities are not allowed)`, errNotFinite},
		{"Inf double", s, "value_in_seconds", "-Inf", `column "value_in_seconds" value "-Inf": not a finite number (NaN and infinities are not allowed)`, errNotFinite},
		{"overflowing double", s, "value_in_seconds", "1e400", `column "value_in_seconds" value "1e400": not a finite number (NaN and infinities are not allowed)`, errNotFinite},
		{"bad double", s, "value_in_seconds", "3600,5", `column "value_in_seconds" value "3600,5": not a number`, errDouble},
		{"bad timestamp", s, "created_at", "2020-13-01T00:00:00Z", `column "created_at" value "2020-13-01T00:00:00Z": not a timestamp (want 2006-01-02T15:04:05.000Z, an RFC 3339 offset, or 2006-01-02 15:04:05.0 in UTC)`, errTimestamp},
		{"word timestamp", s, "created_at", "yesterday", `column "created_at" value "yesterday": not a timestamp (want 2006-01-02T15:04:05.000Z, an RFC 3339 offset, or 2006-01-02 15:04:05.0 in UTC)`, errTimestamp},
		{"empty created_at", s, "created_at", "", `column "created_at" value "": empty, but the field is required`, errRequired},
		{"long value shortened in message", s, "reopened", strings.Repeat("x", 100), `column "reopened" value "` + strings.Repeat("x", 64) + `...": not a boolean (want true or false)`, errBool},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			header := []string{"conversation_id", "created_at", tc.column}
			row := []string{"c-1", "2020-09-14T10:00:00.000Z", tc.value}
			if tc.column == CreatedAtField {
				header, row = header[:2], row[:2]
				row[1] = tc.value
			}
			c, err := tc.schema.Converter(header)
			require.NoError(t, err)

			dst := []byte("keep")
			out, err := c.Append(dst, row)
			require.Error(t, err)
			assert.Equal(t, []byte("keep"), out, "dst returned unchanged")
			assert.EqualError(t, err, tc.want)
			assert.ErrorIs(t, err, tc.is)

			var ce *CellError
			require.True(t, errors.As(err, &ce))
			assert.Equal(t, tc.column, ce.Column)
			assert.Equal(t, len(header)-1, ce.Index)
			assert.Equal(t, tc.value, ce.Value)

			if tc.column == CreatedAtField {
				_, err := c.CreatedAt(row)
				assert.EqualError(t, err, tc.want)
				require.True(t, errors.As(err, &ce))
				assert.Equal(t, 1, ce.Index)
			}
		})
	}
}

func TestAppendFieldCount(t *testing.T) {
	s := mustLookup(t, "Message-Sent")
	c, err := s.Converter([]string{"created_at", "actor_id", "conversation_id"})
	require.NoError(t, err)
	for _, row := range [][]string{nil, {"2020-09-14T10:00:00Z", "a"}, {"2020-09-14T10:00:00Z", "a", "b", "c"}} {
		t.Run(fmt.Sprint(len(row)), func(t *testing.T) {
			want := fmt.Sprintf("row has %d fields, header has 3", len(row))
			out, err := c.Append([]byte("keep"), row)
			assert.Equal(t, []byte("keep"), out)
			assert.EqualError(t, err, want)
			var ce *CellError
			require.True(t, errors.As(err, &ce))
			assert.Equal(t, "", ce.Column)
			assert.Equal(t, -1, ce.Index)

			_, err = c.CreatedAt(row)
			assert.EqualError(t, err, want)
			assert.True(t, errors.As(err, &ce))
		})
	}
}

func TestAppendAcceptedCells(t *testing.T) {
	cases := []struct {
		event, column, cell string
		want                any
	}{
		{"Resolution-Time", "reopened", "TRUE", true},
		{"Resolution-Time", "reopened", "False", false},
		{"Resolution-Time", "reopened", " true ", true},
		{"Resolution-Time", "reopened", "fAlSe", false},
		{"Resolution-Time", "value_in_seconds", "3600.5", 3600.5},
		{"Resolution-Time", "value_in_seconds", " 7 ", 7.0},
		{"Resolution-Time", "value_in_seconds", "-0.25", -0.25},
		{"Resolution-Time", "value_in_seconds", "1e3", 1000.0},
		{"Resolution-Time", "actor_name", " padded ", " padded "},
		{"Resolution-Time", "actor_name", " ", " "},
		{"First-Response-Time", "value_in_seconds", " 42 ", int64(42)},
		{"First-Response-Time", "value_in_seconds", "+7", int64(7)},
		{"First-Response-Time", "value_in_seconds", "-9223372036854775808", int64(-9223372036854775808)},
		{"First-Response-Time", "value_in_seconds", "007", int64(7)},
		{"CSAT-Score", "value", "0", 0},
		{"CSAT-Score", "value", "5", 5},
		{"CSAT-Score", "value", "-2147483648", -2147483648},
		{"Agent-Activity", "duration_in_seconds", "86400", int64(86400)},
	}
	for _, tc := range cases {
		t.Run(tc.event+"/"+tc.column+"/"+tc.cell, func(t *testing.T) {
			s := mustLookup(t, tc.event)
			c, err := s.Converter([]string{tc.column, "created_at"})
			require.NoError(t, err)
			b, err := c.Append(nil, []string{tc.cell, "2020-09-14T10:00:00Z"})
			require.NoError(t, err)
			assert.Equal(t, tc.want, decodeExact(t, s, b)[tc.column])
		})
	}
}

func TestAppendKey(t *testing.T) {
	s := mustLookup(t, "Conversation-Resolved")
	header := []string{"actor_id", "agent_id", "conversation_id", "interaction_id", "created_at"}
	c, err := s.Converter(header)
	require.NoError(t, err)

	cases := []struct {
		row  []string
		want string
		ok   bool
	}{
		{[]string{"act", "agt", "conv", "int", "t"}, "int", true},
		{[]string{"act", "agt", "conv", "", "t"}, "conv", true},
		{[]string{"act", "agt", "", "", "t"}, "agt", true},
		{[]string{"act", "", "", "", "t"}, "act", true},
		{[]string{"", "", "", "", "t"}, "", false},
		{[]string{" ", "", "", "", "t"}, " ", true},
		{[]string{"act"}, "act", true},
		{nil, "", false},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.row, ","), func(t *testing.T) {
			dst := []byte("k:")
			got, ok := c.AppendKey(dst, tc.row)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, "k:"+tc.want, string(got))
		})
	}

	t.Run("key columns absent from header", func(t *testing.T) {
		c, err := mustLookup(t, "Agent-Activity").Converter([]string{"created_at", "group_id"})
		require.NoError(t, err)
		got, ok := c.AppendKey(nil, []string{"2020-09-14T10:00:00Z", "g"})
		assert.False(t, ok)
		assert.Nil(t, got)
	})

	t.Run("unknown column of a key name is not a key", func(t *testing.T) {
		// Agent-Activity names agent_id but not interaction_id: an
		// interaction_id column lands in extra_columns and is not the key.
		c, err := mustLookup(t, "Agent-Activity").Converter([]string{"interaction_id", "created_at", "agent_id"})
		require.NoError(t, err)
		got, ok := c.AppendKey(nil, []string{"i-1", "2020-09-14T10:00:00Z", "a-1"})
		assert.True(t, ok)
		assert.Equal(t, "a-1", string(got))
	})
}

func TestCreatedAtForms(t *testing.T) {
	s := mustLookup(t, "Message-Sent")
	c, err := s.Converter([]string{"created_at"})
	require.NoError(t, err)
	iso, err := c.CreatedAt([]string{"2020-09-14T10:00:00.000Z"})
	require.NoError(t, err)
	quirk, err := c.CreatedAt([]string{"2020-09-14 10:00:00.0"})
	require.NoError(t, err)
	assert.Equal(t, iso, quirk)
	assert.Equal(t, time.Date(2020, 9, 14, 10, 0, 0, 0, time.UTC), iso)

	bi, err := c.Append(nil, []string{"2020-09-14T10:00:00.000Z"})
	require.NoError(t, err)
	bq, err := c.Append(nil, []string{"2020-09-14 10:00:00.0"})
	require.NoError(t, err)
	assert.Equal(t, bi, bq)
}

func TestAppendAllocs(t *testing.T) {
	for _, ev := range contractEvents {
		t.Run(ev, func(t *testing.T) {
			s := mustLookup(t, ev)
			r := newSampleRow(t, s, 1)
			c, err := s.Converter(r.header)
			require.NoError(t, err)
			dst := make([]byte, 0, 4096)
			allocs := testing.AllocsPerRun(100, func() {
				var err error
				if _, err = c.Append(dst[:0], r.row); err != nil {
					panic(err)
				}
				if _, ok := c.AppendKey(dst[:0], r.row); !ok {
					panic("no key")
				}
			})
			assert.Zero(t, allocs)
		})
	}
}

func TestConverterConcurrent(t *testing.T) {
	s := mustLookup(t, "CSAT-Score")
	r := newSampleRow(t, s, 7)
	c, err := s.Converter(r.header)
	require.NoError(t, err)
	want, err := c.Append(nil, r.row)
	require.NoError(t, err)

	done := make(chan []byte)
	for range 8 {
		go func() {
			var b []byte
			for range 200 {
				b, _ = c.Append(b[:0], r.row)
			}
			done <- b
		}()
	}
	for range 8 {
		assert.Equal(t, want, <-done)
	}
}
