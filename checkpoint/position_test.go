package checkpoint_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/checkpoint"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	start := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	p := checkpoint.Position{
		Event: "Message-Sent", WindowStart: start, WindowEnd: start.Add(24 * time.Hour),
		ReportID: "r-1", Rows: 12345, Digest: checkpoint.NewDigest.AddRow([]string{"a", "b"}),
		Produced: 12340, DeadLettered: 5, File: "link0/a.csv", Line: 99, CommittedAt: start.Add(25 * time.Hour),
		CoveredFrom: start.AddDate(0, 0, -30),
	}
	b, err := checkpoint.Encode(p)
	require.NoError(t, err)
	got, err := checkpoint.Decode(b)
	require.NoError(t, err)
	assert.Equal(t, p, got)
	assert.Contains(t, string(b), `"v":1`)
}

func TestDecodeRefuses(t *testing.T) {
	cases := map[string]struct {
		in   string
		want string
	}{
		"not json":             {`{`, "decoding record"},
		"newer version":        {`{"v":2,"event":"Message-Sent"}`, "upgrade the connector"},
		"no event":             {`{"v":1}`, "no event"},
		"bad digest":           {`{"v":1,"event":"A","digest":"zz"}`, "digest"},
		"rows unaccounted for": {`{"v":1,"event":"A","rows":10,"produced":7,"dead_lettered":2}`, "reconciliation failed: 10 rows read but 7 produced + 2 dead-lettered"},
		"end before start": {`{"v":1,"event":"A","window_start":"2026-01-02T00:00:00Z","window_end":"2026-01-01T00:00:00Z"}`,
			"before start"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := checkpoint.Decode([]byte(tc.in))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestEncodeNeedsEvent(t *testing.T) {
	_, err := checkpoint.Encode(checkpoint.Position{})
	require.Error(t, err)
}

func TestNext(t *testing.T) {
	s := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := s.Add(time.Hour)
	assert.Equal(t, s, checkpoint.Position{Event: "A", WindowStart: s, WindowEnd: e}.Next())
	assert.Equal(t, e, checkpoint.Position{Event: "A", WindowStart: s, WindowEnd: e, Done: true}.Next())
	assert.True(t, checkpoint.Position{}.IsZero())
}

func TestCovered(t *testing.T) {
	s := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := checkpoint.Position{Event: "A", WindowStart: s, WindowEnd: s.Add(time.Hour), Done: true}
	assert.Equal(t, s, p.Covered(), "a record without covered_from vouches for its own window only")
	p.CoveredFrom = s.AddDate(0, -2, 0)
	assert.Equal(t, s.AddDate(0, -2, 0), p.Covered())

	legacy, err := checkpoint.Decode([]byte(`{"v":1,"event":"A","window_start":"2026-01-01T00:00:00Z","window_end":"2026-01-01T01:00:00Z","done":true}`))
	require.NoError(t, err)
	assert.Equal(t, s, legacy.Covered(), "records written before covered_from existed still decode")
	b, err := checkpoint.Encode(legacy)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "covered_from", "an unknown start is not written as year 1")
}

func TestDigestChainsAndSeparatesFields(t *testing.T) {
	rows := [][]string{{"a", "b"}, {"c,d", ""}, {"日本", "x"}}
	all := checkpoint.NewDigest
	for _, r := range rows {
		all = all.AddRow(r)
	}
	// Resuming from a stored prefix gives the same digest.
	prefix := checkpoint.NewDigest.AddRow(rows[0])
	b, err := checkpoint.Encode(checkpoint.Position{Event: "A", Digest: prefix})
	require.NoError(t, err)
	p, err := checkpoint.Decode(b)
	require.NoError(t, err)
	assert.Equal(t, all, p.Digest.AddRow(rows[1]).AddRow(rows[2]))

	assert.NotEqual(t, checkpoint.NewDigest.AddRow([]string{"a,b"}), checkpoint.NewDigest.AddRow([]string{"a", "b"}))
	assert.NotEqual(t, checkpoint.NewDigest.AddRow([]string{"a"}).AddRow([]string{"b"}), checkpoint.NewDigest.AddRow([]string{"a", "b"}))
	assert.NotEqual(t, checkpoint.NewDigest.AddRow(rows[0]).AddRow(rows[1]), checkpoint.NewDigest.AddRow(rows[1]).AddRow(rows[0]))
}

func TestResetTo(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	old := checkpoint.Position{Event: "A", WindowStart: day(9), WindowEnd: day(10), Done: true, CoveredFrom: day(3)}
	cases := []struct {
		name   string
		had    bool
		target time.Time
		want   time.Time
	}{
		{"no earlier checkpoint", false, day(5), day(5)},
		{"rewind inside what was committed", true, day(6), day(3)},
		{"no move", true, day(10), day(3)},
		{"back to where it began", true, day(3), day(3)},
		{"rewind before where it began", true, day(1), day(1)},
		{"fast-forward past a gap", true, day(12), day(12)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var p checkpoint.Position
			if tc.had {
				p = old
			}
			got := checkpoint.ResetTo("A", tc.target, p, tc.had, day(20))
			assert.Equal(t, tc.want, got.CoveredFrom)
			assert.True(t, got.Done)
			assert.Equal(t, tc.target, got.Next(), "extraction continues at the target")
			assert.NoError(t, got.Reconcile())
		})
	}
}

func TestBehind(t *testing.T) {
	h := func(i int) time.Time { return time.Date(2026, 11, 1, i, 0, 0, 0, time.UTC) }
	win := func(i int, rows int64, done bool) checkpoint.Position {
		return checkpoint.Position{Event: "A", WindowStart: h(i), WindowEnd: h(i + 1), Rows: rows, Done: done}
	}
	submitted := win(2, 0, false)
	submitted.ReportID, submitted.Submits = "r", 1
	cases := []struct {
		name string
		p, q checkpoint.Position
		want bool
	}{
		{"nothing is behind nothing", checkpoint.Position{}, checkpoint.Position{}, false},
		{"nothing is behind a commit", checkpoint.Position{}, win(1, 5, false), true},
		{"an earlier window", win(1, 5, true), win(3, 0, false), true},
		{"fewer rows of the same window", win(2, 5, false), win(2, 10, false), true},
		{"more rows of the same window", win(2, 10, false), win(2, 5, false), false},
		{"the window before, done, where the next has begun", win(1, 7, true), submitted, true},
		{"the next window begun, where the one before is done", submitted, win(1, 7, true), false},
		{"the same window before its report was recorded", win(2, 0, false), submitted, true},
		{"equal", win(2, 5, false), win(2, 5, false), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.p.Behind(tc.q))
		})
	}
}

func TestUnitKey(t *testing.T) {
	for _, tc := range []struct {
		account, event, key, wantAccount string
	}{
		{"", "Message-Sent", "Message-Sent", checkpoint.DefaultAccount},
		{checkpoint.DefaultAccount, "Message-Sent", "Message-Sent", checkpoint.DefaultAccount},
		{"acme-eu", "CSAT-Score", "acme-eu/CSAT-Score", "acme-eu"},
	} {
		key := checkpoint.UnitKey(tc.account, tc.event)
		assert.Equal(t, tc.key, key)
		a, e := checkpoint.SplitKey(key)
		assert.Equal(t, tc.wantAccount, a)
		assert.Equal(t, tc.event, e)
		assert.Equal(t, tc.key, checkpoint.Position{Account: tc.account, Event: tc.event}.Key())
	}
}

func TestEncodeOmitsDefaultAccount(t *testing.T) {
	// Records of the default account must stay byte-compatible with those
	// written before accounts existed.
	b, err := checkpoint.Encode(checkpoint.Position{Event: "Message-Sent"})
	require.NoError(t, err)
	assert.NotContains(t, string(b), "account")
	b, err = checkpoint.Encode(checkpoint.Position{Account: "acme", Event: "Message-Sent"})
	require.NoError(t, err)
	p, err := checkpoint.Decode(b)
	require.NoError(t, err)
	assert.Equal(t, "acme/Message-Sent", p.Key())
}

func TestReportsAheadRoundTrip(t *testing.T) {
	start := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
	feb := time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC)
	p := checkpoint.Position{
		Event: "Message-Sent", WindowStart: start, WindowEnd: feb, ReportID: "r-1", Submits: 1,
		Ahead: []checkpoint.Ahead{
			{WindowStart: feb, WindowEnd: feb.AddDate(0, 1, 0), ReportID: "r-2", Submits: 1},
			{WindowStart: feb.AddDate(0, 1, 0), WindowEnd: feb.AddDate(0, 1, 10)},
		},
		Digest: checkpoint.NewDigest, CommittedAt: start,
	}
	b, err := checkpoint.Encode(p)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"ahead":[{"window_start":"2026-02-28T00:00:00Z","window_end":"2026-03-28T00:00:00Z","report_id":"r-2","submits":1},`)
	got, err := checkpoint.Decode(b)
	require.NoError(t, err)
	assert.Equal(t, p, got)
	assert.Contains(t, got.String(), "2 window(s) ahead")

	p.Ahead = nil
	b, err = checkpoint.Encode(p)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "ahead", "records without reports ahead stay as they were")
}
