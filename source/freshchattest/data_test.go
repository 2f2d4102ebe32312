package freshchattest_test

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

func TestEventsAndColumns(t *testing.T) {
	assert.Equal(t, []string{
		"Conversation-Created", "Message-Sent", "Conversation-Resolved", "Conversation-Resolution-Label",
		"CSAT-Score", "First-Response-Time", "Response-Time", "Resolution-Time",
		"Conversation-Agent-Assigned", "Conversation-Group-Assigned", "Agent-Activity",
		"Agent-Intelliassign-Activity",
	}, freshchattest.Events())
	for _, e := range freshchattest.Events() {
		cols := freshchattest.Columns(e)
		assert.Contains(t, cols, "created_at", e)
		assert.Len(t, slices.Compact(slices.Sorted(slices.Values(cols))), len(cols), "%s: duplicate column", e)
	}
	assert.Equal(t, []string{"agent_id", "agent_name", "agent_email", "group_id", "group_name", "status",
		"created_at", "duration_in_seconds", "status_reason"}, freshchattest.Columns("Agent-Activity"))
	assert.Equal(t, []string{"agent_id", "agent_name", "group_id", "group_name", "intelliassign_status",
		"created_at", "duration_in_seconds", "assigned_count"}, freshchattest.Columns("Agent-Intelliassign-Activity"))
	assert.Equal(t, "assignment_type", last(freshchattest.Columns("Conversation-Agent-Assigned")))
	assert.Equal(t, "previous_group_id", last(freshchattest.Columns("Conversation-Group-Assigned")))
	assert.Equal(t, []string{"channel_name", "reopened", "actor_type", "group_name", "reopen_cause", "created_at",
		"interaction_id", "conv_url", "interaction_raw_id", "group_id", "conversation_id", "is_conv_offline",
		"channel_id"}, freshchattest.Columns("Conversation-Created"))
	assert.Nil(t, freshchattest.Columns("Chat-Log"))

	cols := freshchattest.Columns("Message-Sent")
	cols[0] = "changed"
	assert.Equal(t, "channel_name", freshchattest.Columns("Message-Sent")[0], "Columns returns a copy")
}

func last(xs []string) string { return xs[len(xs)-1] }

// TestServedRowsMatchRows is the simulator's core promise: for every event,
// the union of what a report's links serve equals Rows for the window, with
// every CSV quirk on.
func TestServedRowsMatchRows(t *testing.T) {
	faults := freshchattest.Faults{
		LinksPerReport: 3, FilesPerZip: 2,
		BOM: true, CRLF: true, AltTimestamps: true, ShuffleColumns: true,
	}
	for _, event := range freshchattest.Events() {
		t.Run(event, func(t *testing.T) {
			t.Parallel()
			s := newSim(t, freshchattest.Options{Faults: faults})
			r := completed(t, s, submit(t, s, event, winStart, winEnd))
			require.Len(t, r.Links, 3)
			assert.Equal(t, "2025-05-31T00:00:00Z", r.Links[0].From)
			assert.Equal(t, "2025-05-31T05:59:59.999Z", r.Links[2].To)
			for k := 1; k < 3; k++ {
				prev, err := time.Parse(time.RFC3339Nano, r.Links[k-1].To)
				require.NoError(t, err)
				next, err := time.Parse(time.RFC3339Nano, r.Links[k].From)
				require.NoError(t, err)
				assert.Equal(t, time.Millisecond, next.Sub(prev), "links tile the window")
			}

			got, files := servedRows(t, event, r)
			want := s.Rows(event, winStart, winEnd.Add(time.Millisecond))
			require.Len(t, want, 6*60)
			assert.Equal(t, want, got)

			require.Len(t, files, 6)
			headers := map[string]bool{}
			for _, f := range files {
				assert.True(t, bytes.HasPrefix(f.raw, []byte("\xEF\xBB\xBF")), "%s: BOM", f.name)
				assert.Contains(t, string(f.raw), "\r\n", f.name)
				assert.NotContains(t, strings.ReplaceAll(string(f.raw), "\r\n", ""), "\n", "%s: every line ends in CRLF", f.name)
				assert.NotEqual(t, freshchattest.Columns(event), f.header, "%s: shuffled", f.name)
				headers[strings.Join(f.header, ",")] = true
				at := indexOf(f.header, "created_at")
				for _, row := range f.rows {
					assert.NotContains(t, row[at], "T", "alt timestamp %q", row[at])
				}
			}
			assert.Greater(t, len(headers), 1, "column order differs between files")
		})
	}
}

func TestReportHoldsRowsUpToCompletion(t *testing.T) {
	clk := newClock()
	s := newSim(t, freshchattest.Options{Now: clk.Now, Faults: freshchattest.Faults{PendingPolls: 1}})
	start, end := testNow.Add(-2*time.Hour), testNow.Add(2*time.Hour)
	id := submit(t, s, "Message-Sent", start, end)
	code, r := getReport(t, s, id)
	require.Equal(t, 200, code)
	require.Equal(t, "PENDING", r.Status)

	clk.Advance(10 * time.Minute) // completes at now+10m
	completedAt := clk.Now()
	r = completed(t, s, id)
	clk.Advance(time.Hour) // later rows exist now, but not in this report

	got, _ := servedRows(t, "Message-Sent", r)
	want := s.Rows("Message-Sent", start, completedAt.Add(time.Millisecond))
	assert.Equal(t, want, got)
	assert.Len(t, got, 130)
	assert.Len(t, s.Rows("Message-Sent", start, end), 190, "Rows stops at Now()")
	assert.Equal(t, 190, s.Count("Message-Sent", start, end))
}

func TestRowsInvariants(t *testing.T) {
	const perHour = 500
	s := newSim(t, freshchattest.Options{RowsPerHour: perHour})
	twin := newSim(t, freshchattest.Options{RowsPerHour: perHour})
	from := winStart
	to := winStart.Add(3 * time.Hour)
	booleans := map[string]bool{"reopened": true, "is_conv_offline": true, "actor_belongs_to_group": true,
		"has_response": true, "issue_resolved": true, "csat_reopen": true}
	longs := map[string]bool{"total_first_response_time_in_seconds": true, "value_in_seconds": true, "duration_in_seconds": true}

	for _, event := range freshchattest.Events() {
		t.Run(event, func(t *testing.T) {
			cols := freshchattest.Columns(event)
			rows := s.Rows(event, from, to)
			require.Len(t, rows, 3*perHour)
			assert.Equal(t, 3*perHour, s.Count(event, from, to))
			assert.Equal(t, len(s.Rows(event, from.Add(-time.Hour), from.Add(17*time.Minute))),
				s.Count(event, from.Add(-time.Hour), from.Add(17*time.Minute)))
			assert.Equal(t, rows, twin.Rows(event, from, to), "deterministic")

			mid := from.Add(97*time.Minute + 1234*time.Millisecond)
			assert.Equal(t, rows, append(s.Rows(event, from, mid), s.Rows(event, mid, to)...), "windows compose")

			at := indexOf(cols, "created_at")
			perHourSeen := map[int]int{}
			var prev time.Time
			hostile, fractional, empty := 0, 0, 0
			for i, row := range rows {
				require.Len(t, row, len(cols))
				ts, err := time.Parse(isoLayout, row[at])
				require.NoError(t, err)
				require.Equal(t, row[at], ts.Format(isoLayout))
				if i > 0 {
					require.True(t, ts.After(prev), "ascending and unique: %s after %s", ts, prev)
				}
				prev = ts
				perHourSeen[ts.Hour()]++
				for j, c := range cols {
					v := row[j]
					require.True(t, utf8.ValidString(v))
					require.NotContains(t, v, "\r")
					if v == "" {
						empty++
						continue
					}
					switch {
					case booleans[c]:
						assert.Contains(t, []string{"true", "false"}, v, c)
					case c == "value_in_seconds" && event == "Resolution-Time":
						_, err := strconv.ParseFloat(v, 64)
						assert.NoError(t, err, v)
						if strings.Contains(v, ".") {
							fractional++
						}
					case longs[c]:
						_, err := strconv.ParseInt(v, 10, 64)
						assert.NoError(t, err, "%s=%q", c, v)
					case c == "value":
						n, err := strconv.Atoi(v)
						assert.NoError(t, err)
						assert.True(t, n >= 0 && n <= 5, "CSAT value %d", n)
					case c == "actor_type":
						assert.Contains(t, []string{"USER", "user", "AGENT", "SYSTEM", "BOT"}, v)
					case c == "interaction_id" || c == "conversation_id" || c == "agent_id":
						assert.Regexp(t, uuidV4, v)
					}
					if strings.HasSuffix(c, "name") && strings.ContainsAny(v, ",") && strings.Contains(v, `"`) &&
						strings.Contains(v, "\n") && !isASCII(v) {
						hostile++
					}
				}
			}
			assert.Equal(t, map[int]int{0: perHour, 1: perHour, 2: perHour}, perHourSeen)
			assert.Greater(t, hostile, 3*perHour/20, "about every 7th row has a hostile name")
			if event == "Resolution-Time" {
				assert.Positive(t, fractional)
			}
			assert.Positive(t, empty, "some nullable cells are empty")
			if strings.HasPrefix(event, "Agent-") {
				assert.NotContains(t, cols, "interaction_id")
			}
		})
	}
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func TestRowsAtMaxDensity(t *testing.T) {
	s := newSim(t, freshchattest.Options{RowsPerHour: freshchattest.MaxRowsPerHour})
	rows := s.Rows("Agent-Activity", winStart.Add(-5*time.Millisecond), winStart.Add(5*time.Millisecond))
	require.Len(t, rows, 10, "one row per millisecond")
	at := indexOf(freshchattest.Columns("Agent-Activity"), "created_at")
	assert.Equal(t, "2025-05-30T23:59:59.995Z", rows[0][at])
	assert.Equal(t, "2025-05-31T00:00:00.004Z", rows[9][at])
}

func TestMalformedEvery(t *testing.T) {
	tests := []struct {
		event     string
		malformed bool
	}{
		{event: "Message-Sent", malformed: true},
		{event: "Conversation-Group-Assigned", malformed: true},
		{event: "Agent-Activity", malformed: false}, // no reopened column
	}
	for _, tt := range tests {
		t.Run(tt.event, func(t *testing.T) {
			s := newSim(t, freshchattest.Options{Faults: freshchattest.Faults{MalformedEvery: 4, LinksPerReport: 2, FilesPerZip: 3}})
			r := completed(t, s, submit(t, s, tt.event, winStart, winEnd))
			want := s.Rows(tt.event, winStart, winEnd.Add(time.Millisecond))
			reopened := indexOf(freshchattest.Columns(tt.event), "reopened")
			var got [][]string
			maybes := 0
			for _, href := range r.hrefs() {
				resp, body := mustFetch(t, href)
				served := 0 // counted per link, across its files
				for _, f := range unpack(t, resp.Header.Get("Content-Type"), body) {
					for _, row := range canonical(t, tt.event, f) {
						served++
						if tt.malformed && served%4 == 0 {
							require.Equal(t, "maybe", row[reopened], "row %d", served)
							maybes++
							row[reopened] = want[len(got)][reopened]
						}
						got = append(got, row)
					}
				}
			}
			assert.Equal(t, want, got)
			if tt.malformed {
				assert.Equal(t, len(want)/4, maybes)
			}
		})
	}
}

func TestClockFromRunsAtTheRealPaceFromItsStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := freshchattest.ClockFrom(testNow)
		assert.Equal(t, testNow, now(), "it starts at start")
		time.Sleep(90 * time.Minute)
		assert.Equal(t, testNow.Add(90*time.Minute), now(), "then runs with real time")
	})
}
