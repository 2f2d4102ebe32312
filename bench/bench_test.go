package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/source"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

func TestPlanRows(t *testing.T) {
	for _, tc := range []struct {
		rows   int
		window time.Duration
		perH   int
	}{
		{rows: 1_000_000, window: 8 * time.Hour, perH: 125_000},
		{rows: 5_000_000, window: 8 * time.Hour, perH: 625_000},
		{rows: 24_000, window: 24 * time.Hour, perH: 1_000},
		{rows: 7, window: time.Hour, perH: 7},
		{rows: 3_600_001, window: 24 * time.Hour, perH: 150_000}, // prime-ish: rounded
		{rows: 3 * freshchattest.MaxRowsPerHour, window: 24 * time.Hour, perH: freshchattest.MaxRowsPerHour / 8},
	} {
		p, err := PlanRows(tc.rows)
		require.NoError(t, err, "rows %d", tc.rows)
		require.Equal(t, tc.window, p.Window, "rows %d", tc.rows)
		require.Equal(t, tc.perH, p.RowsPerHour, "rows %d", tc.rows)
		require.LessOrEqual(t, p.RowsPerHour, freshchattest.MaxRowsPerHour)
		require.InDelta(t, tc.rows, p.Rows(), 12, "rows %d", tc.rows)
	}
	for _, bad := range []int{0, -1, 24*freshchattest.MaxRowsPerHour + 1} {
		_, err := PlanRows(bad)
		require.Error(t, err, "rows %d", bad)
	}
}

// TestGenerateMakesTheReportLaterSubmitsGet: Generate submits, polls and
// downloads once, and a connector that submits the same window later gets
// that report, already generated.
func TestGenerateMakesTheReportLaterSubmitsGet(t *testing.T) {
	const token = "bench-test-token-0123"
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(time.Hour)
	sim := freshchattest.NewServer(freshchattest.Options{Token: token, RowsPerHour: 600, TempDir: t.TempDir(),
		Now: freshchattest.ClockFrom(from.AddDate(0, 0, 3)), ReuseReports: true})
	t.Cleanup(sim.Close)
	ctx := context.Background()

	rep, err := Generate(ctx, sim, token, "Message-Sent", from, to)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Links)
	require.Positive(t, rep.Bytes)
	require.Equal(t, Requests{Submits: 1, Gets: 1, Downloads: 1, DownloadBytes: rep.Bytes}, RequestsOf(sim))

	base, err := url.Parse(sim.URL())
	require.NoError(t, err)
	c, err := source.NewClient(source.ClientConfig{BaseURL: base, Token: token, TempDir: t.TempDir()})
	require.NoError(t, err)
	id, err := c.Submit(ctx, "Message-Sent", source.Window{Start: from, End: to})
	require.NoError(t, err)
	assert.Equal(t, rep.ID, id, "a later submit of the window gets the generated report")
	assert.Equal(t, 2, RequestsOf(sim).Submits)
}

func TestResultFormats(t *testing.T) {
	conn := Result{Name: "connector", Rows: 1_000_000,
		Usage:    Usage{Wall: 2500 * time.Millisecond, User: 3 * time.Second, Sys: 500 * time.Millisecond, MaxRSS: 64 << 20},
		Requests: Requests{Submits: 1, Gets: 1, Downloads: 1}}
	base := Result{Name: "baseline", Rows: 1_000_000,
		Usage:    Usage{Wall: 10 * time.Second, User: 7 * time.Second, MaxRSS: 256 << 20},
		Requests: Requests{Submits: 1, Gets: 1, Downloads: 1}}
	require.Equal(t, "BenchmarkE2E/connector/rows=1000000 1 2500000000 ns/op 400000 rows/s 3.500 cpu-s 3.500 cpu-s/1M-rows 64.0 peak-rss-MiB 3 api-requests", conn.BenchLine())
	q := Compare(conn, base)
	require.InDelta(t, 4.0, q.RowsPerSec, 1e-9)
	require.InDelta(t, 0.5, q.CPU, 1e-9)
	require.InDelta(t, 0.25, q.RSS, 1e-9)

	run := Run{Event: "Message-Sent", Rows: 1_000_000, Results: []Result{conn, base}}
	var table, line strings.Builder
	require.NoError(t, run.WriteTable(&table))
	require.Contains(t, table.String(), "connector / baseline: 4.00x rows/s, 0.50x CPU s, 0.25x peak RSS")
	require.Contains(t, table.String(), conn.BenchLine()+"\n"+base.BenchLine()+"\n")
	require.NoError(t, run.WriteJSON(&line))
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(line.String()), &got))
	require.Len(t, got["results"], 2)
	require.InDelta(t, 4.0, got["connector_vs_baseline"].(map[string]any)["rows_per_s"], 1e-9)
}

// TestTopicBytesSeesCompression produces the same repetitive records
// uncompressed and gzipped into two topics: TopicBytes counts at least the
// raw values of the first and much less for the second, and nothing of
// other topics.
func TestTopicBytesSeesCompression(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	k, err := NewKafka()
	require.NoError(t, err)
	defer k.Close()

	value := bytes.Repeat([]byte("freshchat "), 100) // 1000 bytes that compress well
	const n = 500
	produce := func(topic string, codec kgo.CompressionCodec) {
		cl, err := kgo.NewClient(append(k.Opts(), kgo.ProducerBatchCompression(codec))...)
		require.NoError(t, err)
		defer cl.Close()
		_, err = kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, topic)
		require.NoError(t, err)
		for range n {
			cl.Produce(ctx, &kgo.Record{Topic: topic, Value: value}, func(_ *kgo.Record, err error) { assert.NoError(t, err) })
		}
		require.NoError(t, cl.Flush(ctx))
	}
	produce("plain", kgo.NoCompression())
	produce("gzipped", kgo.GzipCompression())

	plain, err := k.TopicBytes(ctx, "plain")
	require.NoError(t, err)
	gzipped, err := k.TopicBytes(ctx, "gzipped")
	require.NoError(t, err)
	require.GreaterOrEqual(t, plain, int64(n*len(value)), "uncompressed batches hold every value byte")
	require.Less(t, gzipped*10, plain, "gzip shrinks the repetitive values more than tenfold")
	none, err := k.TopicBytes(ctx, "absent")
	require.NoError(t, err)
	require.Zero(t, none)
}
