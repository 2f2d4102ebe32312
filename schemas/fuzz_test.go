package schemas

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzConvert feeds arbitrary headers and rows (comma-separated, no quoting)
// to the converter of one event. Nothing may panic; whenever Append succeeds
// hamba must decode exactly one record, whose created_at equals CreatedAt and
// whose extra_columns carry the unknown cells.
func FuzzConvert(f *testing.F) {
	f.Add(uint8(1), "created_at,actor_id,reopened", "2020-09-14T10:00:00.000Z,a-1,true")
	f.Add(uint8(7), "\ufeffvalue_in_seconds, created_at ,x", "3600.5,2020-09-14 10:00:00.0,y")
	f.Add(uint8(4), "value,created_at,has_response", "5,2020-09-14T10:00:00+05:30,FALSE")
	f.Add(uint8(10), "created_at,duration_in_seconds,status_reason", "1969-12-31T23:59:59.9995Z,-1,")

	f.Fuzz(func(t *testing.T, event uint8, header, row string) {
		s := mustLookup(t, events[int(event)%len(events)])
		h := strings.Split(header, ",")
		r := strings.Split(row, ",")
		c, err := s.Converter(h)
		if err != nil {
			return
		}
		c.Unknown()
		c.Missing()
		key, ok := c.AppendKey(nil, r)
		if !ok {
			require.Nil(t, key)
		}

		at, atErr := c.CreatedAt(r)
		b, err := c.Append([]byte{0xff}, r)
		if err != nil {
			var ce *CellError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, []byte{0xff}, b)
			return
		}
		require.NoError(t, atErr, "Append succeeded but CreatedAt failed")

		got := decodeExact(t, s, b[1:])
		decoded, isTime := got[CreatedAtField].(time.Time)
		require.True(t, isTime)
		require.True(t, at.Equal(decoded), "CreatedAt %v, decoded %v", at, decoded)

		extra := map[string]any{}
		for i, name := range h {
			if i == 0 {
				name = strings.TrimPrefix(name, "\uFEFF")
			}
			name = strings.TrimSpace(name)
			if _, named := got[name]; named && name != ExtraColumnsField {
				if r[i] == "" {
					assert.Nil(t, got[name], "empty cell of %s", name)
				}
				continue
			}
			extra[name] = r[i]
		}
		require.Equal(t, extra, got[ExtraColumnsField])
	})
}
