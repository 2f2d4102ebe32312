package freshchattest_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

// allEvents is the 12 reports followed by the vendor events.
func allEvents() []string {
	return append(freshchattest.Events(), freshchattest.VendorEvents()...)
}

func TestVendorEventsAndColumns(t *testing.T) {
	assert.Equal(t, []string{"agent-performance", "classic", "Chat-Transcript"}, freshchattest.VendorEvents())
	require.Len(t, freshchattest.Events(), 12, "Events keeps returning the 12 reports")
	for _, e := range freshchattest.VendorEvents() {
		assert.NotContains(t, freshchattest.Events(), e)
	}
	assert.Equal(t, []string{"agent_id", "agent_name", "group_name", "created_at", "conversations_handled",
		"avg_response_seconds", "first response"}, freshchattest.Columns("agent-performance"))
	assert.Equal(t, []string{"interaction_id", "conversation_id", "created_at", "channel_id", "channel_name",
		"group_name", "status"}, freshchattest.Columns("classic"))
	assert.Equal(t, []string{"conversation_id", "interaction_id", "created_at", "actor_type", "actor_id",
		"actor_name", "message_text", "attachment_url"}, freshchattest.Columns("Chat-Transcript"))

	v := freshchattest.VendorEvents()
	v[0] = "changed"
	assert.Equal(t, "agent-performance", freshchattest.VendorEvents()[0], "VendorEvents returns a copy")
}

func TestVendorRows(t *testing.T) {
	const perHour = 500
	s := newSim(t, freshchattest.Options{RowsPerHour: perHour})
	twin := newSim(t, freshchattest.Options{RowsPerHour: perHour})
	from, to := winStart, winStart.Add(3*time.Hour)
	numbers := map[string]bool{"conversations_handled": true, "first response": true}
	for _, event := range freshchattest.VendorEvents() {
		t.Run(event, func(t *testing.T) {
			cols := freshchattest.Columns(event)
			rows := s.Rows(event, from, to)
			require.Len(t, rows, 3*perHour)
			assert.Equal(t, 3*perHour, s.Count(event, from, to))
			assert.Equal(t, rows, twin.Rows(event, from, to), "deterministic")

			at := indexOf(cols, "created_at")
			var prev time.Time
			hostile, empty := 0, 0
			for i, row := range rows {
				require.Len(t, row, len(cols))
				ts, err := time.Parse(isoLayout, row[at])
				require.NoError(t, err)
				if i > 0 {
					require.True(t, ts.After(prev), "ascending and unique")
				}
				prev = ts
				for j, c := range cols {
					v := row[j]
					require.True(t, utf8.ValidString(v))
					require.NotContains(t, v, "\r")
					if v == "" {
						empty++
						continue
					}
					switch {
					case numbers[c]:
						_, err := strconv.ParseInt(v, 10, 64)
						assert.NoError(t, err, "%s=%q", c, v)
					case c == "avg_response_seconds":
						_, err := strconv.ParseFloat(v, 64)
						assert.NoError(t, err, "%s=%q", c, v)
					case c == "status":
						assert.Contains(t, []string{"new", "assigned", "resolved", "reopened"}, v)
					case c == "actor_type":
						assert.Contains(t, []string{"USER", "AGENT", "SYSTEM", "BOT"}, v)
					case c == "interaction_id" || c == "conversation_id" || c == "agent_id":
						assert.Regexp(t, uuidV4, v)
					}
					if strings.Contains(v, ",") && strings.Contains(v, `"`) && strings.Contains(v, "\n") && !isASCII(v) {
						hostile++
					}
				}
			}
			assert.Positive(t, hostile, "hostile text: commas, quotes, newlines, UTF-8")
			assert.Positive(t, empty, "some cells are empty")
		})
	}
}

func TestVendorEventsServed(t *testing.T) {
	faults := freshchattest.Faults{
		LinksPerReport: 2, FilesPerZip: 2,
		BOM: true, CRLF: true, AltTimestamps: true, ShuffleColumns: true,
	}
	for _, event := range freshchattest.VendorEvents() {
		t.Run(event, func(t *testing.T) {
			t.Parallel()
			s := newSim(t, freshchattest.Options{Faults: faults})
			r := completed(t, s, submit(t, s, event, winStart, winEnd))
			got, files := servedRows(t, event, r)
			assert.Equal(t, s.Rows(event, winStart, winEnd.Add(time.Millisecond)), got)
			assert.Len(t, files, 4)
		})
	}
}

func TestSubmitVendorAndUnknownEvents(t *testing.T) {
	s := newSim(t, freshchattest.Options{})
	for _, event := range freshchattest.VendorEvents() {
		resp, b := call(t, http.MethodPost, s.URL()+"/reports/raw", token, submitBody(event, winStart, winEnd))
		assert.Equal(t, http.StatusAccepted, resp.StatusCode, "%s: %s", event, b)
	}
	// Names are matched exactly, as for the 12 reports.
	for _, event := range []string{"Chat-Log", "chat-transcript", "Agent-Performance", "agent_performance", "Classic", " classic"} {
		resp, b := call(t, http.MethodPost, s.URL()+"/reports/raw", token, submitBody(event, winStart, winEnd))
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "%q: %s", event, b)
		// The API's other error shape, {"error_code": 5, "message": ...}.
		var e struct {
			ErrorCode int    `json:"error_code"`
			Message   string `json:"message"`
		}
		require.NoError(t, json.Unmarshal(b, &e))
		assert.Equal(t, 5, e.ErrorCode, "%q", event)
		assert.Equal(t, "No matching event name", e.Message)
	}
	assert.False(t, slices.Contains(allEvents(), "Chat-Log"))
}
