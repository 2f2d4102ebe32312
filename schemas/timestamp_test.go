package schemas

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseTimestamp(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	}
	cases := []struct {
		in   string
		want time.Time
	}{
		{"2020-09-14T10:00:00.000Z", utc(2020, 9, 14, 10, 0, 0, 0)},
		{"2020-09-14 10:00:00.0", utc(2020, 9, 14, 10, 0, 0, 0)},
		{"2020-09-14 10:00:00", utc(2020, 9, 14, 10, 0, 0, 0)},
		{"2020-09-14T10:00:00", utc(2020, 9, 14, 10, 0, 0, 0)},
		{"2020-09-14T10:00:00Z", utc(2020, 9, 14, 10, 0, 0, 0)},
		{" 2020-09-14T10:00:00Z\t", utc(2020, 9, 14, 10, 0, 0, 0)},
		{"2020-09-14T10:00:00.1Z", utc(2020, 9, 14, 10, 0, 0, 100_000_000)},
		{"2020-09-14T10:00:00.12Z", utc(2020, 9, 14, 10, 0, 0, 120_000_000)},
		{"2020-09-14T10:00:00.123Z", utc(2020, 9, 14, 10, 0, 0, 123_000_000)},
		{"2020-09-14T10:00:00.1239Z", utc(2020, 9, 14, 10, 0, 0, 123_000_000)},
		{"2020-09-14T10:00:00.123999999Z", utc(2020, 9, 14, 10, 0, 0, 123_000_000)},
		{"2020-09-14 10:00:00.999999999", utc(2020, 9, 14, 10, 0, 0, 999_000_000)},
		{"2020-09-14T15:30:00.000+05:30", utc(2020, 9, 14, 10, 0, 0, 0)},
		{"2020-09-14T15:30:00+0530", utc(2020, 9, 14, 10, 0, 0, 0)},
		{"2020-09-14T05:00:00-05", utc(2020, 9, 14, 10, 0, 0, 0)},
		{"2020-09-14T10:00:00-00:00", utc(2020, 9, 14, 10, 0, 0, 0)},
		{"2020-09-14 12:00:00+02:00", utc(2020, 9, 14, 10, 0, 0, 0)},
		{"2020-01-01T00:30:00+01:00", utc(2019, 12, 31, 23, 30, 0, 0)},
		{"2020-02-29T23:59:59.999Z", utc(2020, 2, 29, 23, 59, 59, 999_000_000)},
		{"2000-02-29T00:00:00Z", utc(2000, 2, 29, 0, 0, 0, 0)},
		{"1970-01-01T00:00:00Z", utc(1970, 1, 1, 0, 0, 0, 0)},
		{"1969-12-31T23:59:59.9995Z", utc(1969, 12, 31, 23, 59, 59, 999_000_000)},
		{"0000-01-01T00:00:00Z", utc(0, 1, 1, 0, 0, 0, 0)},
		{"9999-12-31T23:59:59.999Z", utc(9999, 12, 31, 23, 59, 59, 999_000_000)},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			ms, err := parseTimestamp(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want.UnixMilli(), ms, "got %v", time.UnixMilli(ms).UTC())
		})
	}
}

// TestParseTimestampMatchesTimeParse checks the hand parser against
// time.Parse on the forms time.Parse also reads.
func TestParseTimestampMatchesTimeParse(t *testing.T) {
	const quirk = "2006-01-02 15:04:05"
	start := time.Date(1899, 12, 30, 23, 59, 58, 987_654_321, time.UTC)
	for i := range 5000 {
		ts := start.Add(time.Duration(i) * 3_333_333_333_333_337)
		for _, in := range []string{
			ts.Format(time.RFC3339Nano),
			ts.Format("2006-01-02T15:04:05.000Z07:00"),
			ts.In(time.FixedZone("", -(9*3600 + 30*60))).Format(time.RFC3339Nano),
			ts.In(time.FixedZone("", 14*3600)).Format(time.RFC3339),
			ts.Format(quirk + ".0"),
			ts.Format(quirk + ".999999999"),
			ts.Format(quirk),
		} {
			ref, err := time.Parse(time.RFC3339Nano, in)
			if err != nil {
				ref, err = time.Parse(quirk, in)
			}
			require.NoError(t, err, in)
			ms, err := parseTimestamp(in)
			require.NoError(t, err, in)
			require.Equal(t, ref.UnixMilli(), ms, in)
		}
	}
}

func TestParseTimestampRejects(t *testing.T) {
	for _, in := range []string{
		"",
		"   ",
		"2020-09-14",
		"2020-09-14T10:00",
		"2020-09-14T10:00:00.",
		"2020-09-14T10:00:00.Z",
		"2020-09-14T10:00:00.1234567890Z",
		"2020-09-14T10:00:00,123Z",
		"2020-09-14t10:00:00Z",
		"2020-09-14T10:00:00z",
		"2020-09-14_10:00:00",
		"2020/09/14 10:00:00",
		"20-09-14T10:00:00Z",
		"2020-9-14T10:00:00Z",
		"2020-09-14T10:00:00 Z",
		"2020-09-14T10:00:00ZZ",
		"2020-09-14T10:00:00+5:30",
		"2020-09-14T10:00:00+05:3",
		"2020-09-14T10:00:00+05-30",
		"2020-09-14T10:00:00+24:00",
		"2020-09-14T10:00:00+05:60",
		"2020-09-14T10:00:00+",
		"2020-09-14T10:00:00.000+05:30:00",
		"2020-00-14T10:00:00Z",
		"2020-13-14T10:00:00Z",
		"2020-09-00T10:00:00Z",
		"2020-09-31T10:00:00Z",
		"2019-02-29T10:00:00Z",
		"1900-02-29T10:00:00Z",
		"2020-09-14T24:00:00Z",
		"2020-09-14T10:60:00Z",
		"2020-09-14T10:00:60Z",
		"+020-09-14T10:00:00Z",
		"2020-09-14T10:00:00.000Z junk",
		"１２３４-09-14T10:00:00Z",
	} {
		t.Run(in, func(t *testing.T) {
			_, err := parseTimestamp(in)
			assert.ErrorIs(t, err, errTimestamp)
		})
	}
}

func TestDaysFromCivil(t *testing.T) {
	for d := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 10000; d = d.AddDate(0, 0, 13) {
		got := daysFromCivil(int64(d.Year()), int64(d.Month()), int64(d.Day()))
		require.Equal(t, d.Unix()/86400, got, "%v", d)
	}
}
