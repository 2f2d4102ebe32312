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
