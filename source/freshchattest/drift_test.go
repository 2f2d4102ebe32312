package freshchattest_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

// driftDrops is the documented column HeaderDrift drops per event.
var driftDrops = map[string]string{
	"Conversation-Created":          "reopen_cause",
	"Message-Sent":                  "actor_sub_type",
	"Conversation-Resolved":         "agent_name",
	"Conversation-Resolution-Label": "agent_name",
	"CSAT-Score":                    "csat_response",
	"First-Response-Time":           "group_name",
	"Response-Time":                 "actor_sub_type",
	"Resolution-Time":               "actor_sub_type",
	"Conversation-Agent-Assigned":   "actor_sub_type",
	"Conversation-Group-Assigned":   "actor_sub_type",
	"Agent-Activity":                "agent_email",
	"Agent-Intelliassign-Activity":  "group_name",
	"agent-performance":             "group_name",
	"classic":                       "group_name",
	"Chat-Transcript":               "attachment_url",
}

// driftHeader is the canonical-order header of event's files for the rows
// of hour's UTC hour with HeaderDrift on.
func driftHeader(t testing.TB, event string, hour time.Time) []string {
	t.Helper()
	dropped, added := freshchattest.DriftColumns(event, hour)
	h := slices.DeleteFunc(freshchattest.Columns(event), func(c string) bool { return slices.Contains(dropped, c) })
	return append(h, added...)
}

func TestDriftColumns(t *testing.T) {
	require.ElementsMatch(t, allEvents(), slices.Collect(maps.Keys(driftDrops)))
	for _, event := range allEvents() {
		drop := driftDrops[event]
		require.Contains(t, freshchattest.Columns(event), drop, event)
		require.NotContains(t, []string{"created_at", "interaction_id", "conversation_id", "agent_id", "actor_id"}, drop)
		for h := range 24 {
			at := winStart.Add(time.Duration(h)*time.Hour + 17*time.Minute + 3*time.Second)
			var wantDropped, wantAdded []string
			if h%3 == 0 {
				wantDropped = []string{drop}
			}
			if h%2 == 1 {
				wantAdded = []string{"drift_added"}
			}
			dropped, added := freshchattest.DriftColumns(event, at)
			assert.Equal(t, wantDropped, dropped, "%s hour %d", event, h)
			assert.Equal(t, wantAdded, added, "%s hour %d", event, h)
		}
	}

	// The UTC hour counts, whatever the location of the time.
	dropped, added := freshchattest.DriftColumns("Message-Sent", time.Date(2025, 5, 31, 2, 30, 0, 0, time.FixedZone("UTC+2", 2*3600)))
	assert.Equal(t, []string{"actor_sub_type"}, dropped)
	assert.Nil(t, added)

	dropped, added = freshchattest.DriftColumns("Chat-Log", winStart)
	assert.Nil(t, dropped)
	assert.Nil(t, added)
}

// TestHeaderDriftZipHeaders parses the zips of a six-hour report: each link
// (three hours) splits at every drift change and at the FilesPerZip
// boundary, and every file has the documented header of its rows' hour.
func TestHeaderDriftZipHeaders(t *testing.T) {
	const event = "Message-Sent"
	s := newSim(t, freshchattest.Options{Faults: freshchattest.Faults{HeaderDrift: true, LinksPerReport: 2, FilesPerZip: 2}})
	r := completed(t, s, submit(t, s, event, winStart, winEnd))
	require.Len(t, r.Links, 2)

	cols := freshchattest.Columns(event)
	without := slices.DeleteFunc(slices.Clone(cols), func(c string) bool { return c == "actor_sub_type" })
	plus := func(h []string) []string { return append(slices.Clone(h), "drift_added") }
	// hour of each file's rows, and its header spelled out
	want := [][]struct {
		hour   int
		header []string
	}{
		{{0, without}, {1, plus(cols)}, {1, plus(cols)}, {2, cols}}, // count split inside hour 1
		{{3, plus(without)}, {4, cols}, {4, cols}, {5, plus(cols)}}, // count split inside hour 4
	}
	for k, href := range r.hrefs() {
		resp, body := mustFetch(t, href)
		files := unpack(t, resp.Header.Get("Content-Type"), body)
		require.Len(t, files, len(want[k]), "link %d", k)
		for i, f := range files {
			w := want[k][i]
			assert.True(t, strings.HasSuffix(f.name, fmt.Sprintf("_%d.csv", i+1)), f.name)
			assert.Equal(t, w.header, f.header, f.name)
			assert.Equal(t, driftHeader(t, event, winStart.Add(time.Duration(w.hour)*time.Hour)), f.header, f.name)
			require.NotEmpty(t, f.rows, f.name)
			at := indexOf(f.header, "created_at")
			added := indexOf(f.header, "drift_added")
			for _, row := range f.rows {
				require.Len(t, row, len(f.header))
				ts, err := time.Parse(isoLayout, row[at])
				require.NoError(t, err)
				assert.Equal(t, w.hour, ts.Hour(), f.name)
				if added >= 0 {
					assert.Regexp(t, `^drift-[0-9]+$`, row[added])
				}
			}
		}
	}

	// A link without rows (after Now) carries the drift of its start:
	// 13:00 (odd) adds, 14:00 neither adds nor drops.
	start := time.Date(2025, 6, 1, 13, 0, 0, 0, time.UTC)
	r = completed(t, s, submit(t, s, event, start, start.Add(2*time.Hour-time.Millisecond)))
	for k, href := range r.hrefs() {
		resp, body := mustFetch(t, href)
		files := unpack(t, resp.Header.Get("Content-Type"), body)
		require.Len(t, files, 2)
		for _, f := range files {
			assert.Empty(t, f.rows)
			assert.Equal(t, driftHeader(t, event, start.Add(time.Duration(k)*time.Hour)), f.header)
		}
	}
}

// TestServedRowsMatchFilesWithDrift: for every event, what the files of a
// report hold, row by row, is what ServedRows says (header and cells), and
// ServedRows agrees with Rows.
func TestServedRowsMatchFilesWithDrift(t *testing.T) {
	faults := freshchattest.Faults{
		HeaderDrift: true, LinksPerReport: 2, FilesPerZip: 2, ShuffleColumns: true,
		AltTimestamps: true, BOM: true, CRLF: true,
	}
	for _, event := range allEvents() {
		t.Run(event, func(t *testing.T) {
			t.Parallel()
			s := newSim(t, freshchattest.Options{Faults: faults})
			r := completed(t, s, submit(t, s, event, winStart, winEnd))
			wantHeaders, wantRows := s.ServedRows(event, winStart, winEnd.Add(time.Millisecond))
			require.Len(t, wantRows, 6*60)
			require.Len(t, wantHeaders, len(wantRows))

			i := 0
			shapes := map[string]bool{}
			for _, href := range r.hrefs() {
				resp, body := mustFetch(t, href)
				files := unpack(t, resp.Header.Get("Content-Type"), body)
				require.Len(t, files, 4)
				for _, f := range files {
					shapes[strings.Join(slices.Sorted(slices.Values(f.header)), ",")] = true
					if at := indexOf(f.header, "drift_added"); at >= 0 {
						assert.Equal(t, len(f.header)-1, at, "%s: drift_added is appended", f.name)
					}
					for _, row := range f.rows {
						require.Less(t, i, len(wantRows), "more rows served than ServedRows")
						h := wantHeaders[i]
						require.ElementsMatch(t, h, f.header, "%s row %d", f.name, i)
						assert.NotEqual(t, h, f.header, "%s: shuffled", f.name)
						got := make([]string, len(h))
						for c, name := range h {
							got[c] = row[indexOf(f.header, name)]
						}
						at := indexOf(h, "created_at")
						ts, err := time.Parse("2006-01-02 15:04:05.999999999", got[at])
						require.NoError(t, err, "alt timestamp %q", got[at])
						got[at] = ts.UTC().Format(isoLayout)
						require.Equal(t, wantRows[i], got, "%s row %d", f.name, i)
						i++
					}
				}
			}
			assert.Equal(t, len(wantRows), i, "every row ServedRows lists was served")
			assert.Len(t, shapes, 4, "canonical, dropped, added, both")

			cols := freshchattest.Columns(event)
			rows := s.Rows(event, winStart, winEnd.Add(time.Millisecond))
			for i, row := range rows {
				ts, err := time.Parse(isoLayout, row[indexOf(cols, "created_at")])
				require.NoError(t, err)
				require.Equal(t, driftHeader(t, event, ts), wantHeaders[i])
				for c, name := range wantHeaders[i] {
					if name == "drift_added" {
						assert.Regexp(t, `^drift-[0-9]+$`, wantRows[i][c])
						continue
					}
					require.Equal(t, row[indexOf(cols, name)], wantRows[i][c], "row %d %s", i, name)
				}
			}
		})
	}
}

// TestHeaderDriftSingleFileFormats: a plain or gzip link is one file with
// the drift of its first row throughout, as ServedRows says per link.
func TestHeaderDriftSingleFileFormats(t *testing.T) {
	const event = "Conversation-Created"
	for _, format := range []string{"csv", "gzip"} {
		t.Run(format, func(t *testing.T) {
			s := newSim(t, freshchattest.Options{Faults: freshchattest.Faults{HeaderDrift: true, Format: format, LinksPerReport: 2}})
			r := completed(t, s, submit(t, s, event, winStart, winEnd))
			require.Len(t, r.Links, 2)
			for k, l := range r.Links {
				from, err := time.Parse(time.RFC3339Nano, l.From)
				require.NoError(t, err)
				to, err := time.Parse(time.RFC3339Nano, l.To)
				require.NoError(t, err)
				resp, body := mustFetch(t, l.Link.Href)
				files := unpack(t, resp.Header.Get("Content-Type"), body)
				require.Len(t, files, 1)
				f := files[0]

				header := driftHeader(t, event, from) // hours 0 (drop) and 3 (drop and add)
				assert.Equal(t, header, f.header, "link %d", k)
				assert.NotContains(t, f.header, "reopen_cause")
				assert.Equal(t, k == 1, slices.Contains(f.header, "drift_added"))

				headers, rows := s.ServedRows(event, from, to.Add(time.Millisecond))
				require.Len(t, rows, 3*60)
				for _, h := range headers {
					require.Equal(t, header, h)
				}
				assert.Equal(t, rows, f.rows, "link %d spans three hours under one header", k)
			}
		})
	}
}

// TestHeaderDriftOff: without the knob ServedRows is Rows under Columns,
// and turning the knob on later does not change files already handed out.
func TestHeaderDriftOff(t *testing.T) {
	s := newSim(t, freshchattest.Options{Faults: freshchattest.Faults{FilesPerZip: 2}})
	for _, event := range allEvents() {
		headers, rows := s.ServedRows(event, winStart, winEnd)
		assert.Equal(t, s.Rows(event, winStart, winEnd), rows, event)
		for _, h := range headers {
			require.Equal(t, freshchattest.Columns(event), h, event)
		}
	}
	headers, rows := s.ServedRows("Chat-Log", winStart, winEnd)
	assert.Nil(t, headers)
	assert.Nil(t, rows)

	href := completed(t, s, submit(t, s, "Message-Sent", winStart, winEnd)).hrefs()[0]
	_, before := mustFetch(t, href)
	s.SetFaults(freshchattest.Faults{FilesPerZip: 2, HeaderDrift: true})
	resp, after := mustFetch(t, href)
	assert.Equal(t, before, after)
	for _, f := range unpack(t, resp.Header.Get("Content-Type"), after) {
		assert.Equal(t, freshchattest.Columns("Message-Sent"), f.header)
	}
}
