package pipeline_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

// avroName is the field name a derived schema gives a CSV column.
func avroName(col string) string {
	b := []byte(col)
	for i, c := range b {
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			b[i] = '_'
		}
	}
	if len(b) > 0 && '0' <= b[0] && b[0] <= '9' {
		return "_" + string(b)
	}
	return string(b)
}

// TestUnknownEventsGetDerivedSchemas: events the connector has no schema
// for are extracted with a schema derived from their header, published
// like the others, and stable across runs.
func TestUnknownEventsGetDerivedSchemas(t *testing.T) {
	e := newEnv(t, 120, freshchattest.Faults{ShuffleColumns: true, FilesPerZip: 2}, true)
	from, to := span(2)
	events := freshchattest.VendorEvents()
	o := e.options(t, events, from, to)
	require.NoError(t, run(t, o))

	for _, ev := range events {
		want := e.sim.Rows(ev, from, to)
		cols := freshchattest.Columns(ev)
		got := e.consume(t, o.Topic(ev))
		require.Len(t, got, len(want), ev)
		byCreated := map[int64]map[string]any{}
		for _, d := range got {
			byCreated[d.value["created_at"].(time.Time).UnixMilli()] = d.value
		}
		for _, row := range want {
			cells := map[string]string{}
			for i, c := range cols {
				cells[c] = row[i]
			}
			ts, err := time.Parse(time.RFC3339Nano, cells["created_at"])
			require.NoError(t, err)
			v, ok := byCreated[ts.UnixMilli()]
			require.True(t, ok, "%s: row %s missing", ev, cells["created_at"])
			for c, cell := range cells {
				if c == "created_at" {
					continue
				}
				var want any = cell
				if cell == "" {
					want = nil
				}
				assert.Equal(t, want, v[avroName(c)], "%s column %q", ev, c)
			}
		}
	}

	// A second run over the next hours keeps the schema: no new version.
	versions := map[string]int{}
	for _, ev := range events {
		vs, err := e.reg.SubjectVersions(context.Background(), o.Topic(ev)+"-value")
		require.NoError(t, err)
		versions[ev] = len(vs)
		assert.Len(t, vs, 1, "%s: one version", ev)
	}
	o2 := e.options(t, events, from, to.Add(time.Hour))
	require.NoError(t, run(t, o2))
	for _, ev := range events {
		vs, err := e.reg.SubjectVersions(context.Background(), o.Topic(ev)+"-value")
		require.NoError(t, err)
		assert.Len(t, vs, versions[ev], "%s: the derived schema is stable across runs", ev)
	}
}

// driftSpan is span(hours) moved back, by at most three hours, to start in
// an hour where HeaderDrift neither adds nor drops a column (UTC hour 2 or
// 4 mod 6, see freshchattest.DriftColumns). The first file then carries
// exactly the canonical columns, so what a derived schema learns later is
// known whatever the time of day the test runs at.
func driftSpan(hours int) (from, to time.Time) {
	from, to = span(hours)
	for from.Hour()%6 != 2 && from.Hour()%6 != 4 {
		from, to = from.Add(-time.Hour), to.Add(-time.Hour)
	}
	return from, to
}

// TestHeaderDrift: columns appear and disappear between windows and
// between the files of one report. Known columns stay typed, unknown ones
// are carried, a derived schema gains a compatible version, and every row
// still lands once.
func TestHeaderDrift(t *testing.T) {
	e := newEnv(t, 120, freshchattest.Faults{HeaderDrift: true, LinksPerReport: 2}, true)
	from, to := driftSpan(6)
	dropped, added := freshchattest.DriftColumns("classic", from)
	require.Empty(t, dropped, "the range starts in an hour with the canonical header")
	require.Empty(t, added, "the range starts in an hour with the canonical header")
	events := []string{"Message-Sent", "classic"}
	o := e.options(t, events, from, to)
	o.Planner.Window = 3 * time.Hour // reports span hours of different drift
	require.NoError(t, run(t, o))

	// Embedded schema: added columns travel in extra_columns, dropped ones are null.
	headers, rows := e.sim.ServedRows("Message-Sent", from, to)
	got := e.consume(t, o.Topic("Message-Sent"))
	require.Len(t, got, len(rows))
	byCreated := map[int64]map[string]any{}
	for _, d := range got {
		byCreated[d.value["created_at"].(time.Time).UnixMilli()] = d.value
	}
	sawExtra, sawDropped := false, false
	for i, row := range rows {
		cells := map[string]string{}
		for j, c := range headers[i] {
			cells[c] = row[j]
		}
		ts, err := time.Parse(time.RFC3339Nano, cells["created_at"])
		require.NoError(t, err)
		v := byCreated[ts.UnixMilli()]
		require.NotNil(t, v)
		extra := v["extra_columns"].(map[string]any)
		if val, ok := cells["drift_added"]; ok {
			sawExtra = true
			assert.Equal(t, val, extra["drift_added"])
		} else {
			assert.NotContains(t, extra, "drift_added")
		}
		for _, c := range freshchattest.Columns("Message-Sent") {
			if _, served := cells[c]; !served {
				sawDropped = true
				assert.Nil(t, v[c], "dropped column %s is null", c)
			}
		}
	}
	assert.True(t, sawExtra && sawDropped, "the drift happened both ways")

	// Derived schema: widened by a compatible version, never narrowed.
	vs, err := e.reg.SubjectVersions(context.Background(), o.Topic("classic")+"-value")
	require.NoError(t, err)
	assert.Len(t, vs, 2, "a second version for the added column")
	latest, err := e.reg.SchemaByVersion(context.Background(), o.Topic("classic")+"-value", -1)
	require.NoError(t, err)
	assert.True(t, strings.Contains(latest.Schema.Schema, "drift_added"))
	_, classic := e.sim.ServedRows("classic", from, to)
	assert.Len(t, e.consume(t, o.Topic("classic")), len(classic))
}
