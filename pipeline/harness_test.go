package pipeline_test

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/freshstream/freshchat-kafka/internal/kafkatest"
	"github.com/freshstream/freshchat-kafka/internal/kread"
	"github.com/freshstream/freshchat-kafka/internal/logbuf"
	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/schemas"
	"github.com/freshstream/freshchat-kafka/source"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

const token = "sim-token-0123456789"

// worldStart is the instant the clock of every test world starts at (see
// freshchattest.ClockFrom): ranges are fixed (see span), and so are the
// rows the simulator serves for them, whatever the day and the hour the
// tests run at.
var worldStart = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// env is a Freshchat simulator, a Kafka cluster and (optionally) a schema
// registry, all on loopback, sharing one clock.
type env struct {
	now   func() time.Time
	sim   *freshchattest.Server
	kafka []kgo.Opt
	reg   *sr.Client
	log   *slog.Logger
	logs  *logbuf.Buffer
}

func newEnv(t *testing.T, rowsPerHour int, faults freshchattest.Faults, withRegistry bool) *env {
	t.Helper()
	e := newEnvWith(t, freshchattest.Options{Token: token, RowsPerHour: rowsPerHour, Faults: faults})
	if withRegistry {
		reg := srfake.New()
		t.Cleanup(reg.Close)
		rc, err := sr.NewClient(sr.URLs(reg.URL()))
		require.NoError(t, err)
		e.reg = rc
	}
	return e
}

// newEnvWith is newEnv, without a registry, with the simulator's options
// given whole; the simulator runs on the world's clock unless opts.Now
// says otherwise.
func newEnvWith(t *testing.T, opts freshchattest.Options) *env {
	t.Helper()
	now := freshchattest.ClockFrom(worldStart)
	if opts.Now == nil {
		opts.Now = now
	}
	opts.TempDir = t.TempDir()
	sim := freshchattest.NewServer(opts)
	t.Cleanup(sim.Close)
	logs := &logbuf.Buffer{}
	e := &env{now: now, sim: sim, kafka: kafkatest.Cluster(t), logs: logs,
		log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	t.Cleanup(func() {
		if t.Failed() {
			out := logs.String()
			if len(out) > 6000 {
				out = out[len(out)-6000:]
			}
			t.Logf("connector logs (tail):\n%s", out)
		}
	})
	return e
}

func (e *env) source(t *testing.T) *source.Client {
	t.Helper()
	return e.sourceOf(t, e.sim, token)
}

// sourceOf is a client of the simulated account sim, with its token.
func (e *env) sourceOf(t *testing.T, sim *freshchattest.Server, tok string) *source.Client {
	t.Helper()
	u, err := url.Parse(sim.URL())
	require.NoError(t, err)
	c, err := source.NewClient(source.ClientConfig{
		BaseURL: u, Token: tok, Logger: e.log, Now: e.now,
		PollInterval: 5 * time.Millisecond, PollMaxInterval: 20 * time.Millisecond,
		Retry:   source.RetryConfig{Base: 2 * time.Millisecond, Max: 20 * time.Millisecond},
		TempDir: t.TempDir(),
	})
	require.NoError(t, err)
	return c
}

func (e *env) options(t *testing.T, events []string, from, to time.Time) pipeline.Options {
	return pipeline.Options{
		Events:             events,
		Start:              from,
		From:               from,
		Planner:            pipeline.Planner{Window: time.Hour, MinWindow: time.Minute, To: to},
		Concurrency:        4,
		Limits:             pipeline.Limits{Rows: 250, Bytes: 1 << 20},
		Topic:              func(ev string) string { return "freshchat." + strings.ToLower(ev) },
		CheckpointTopic:    "freshchat.checkpoints",
		TransactionalID:    "test-connector",
		TransactionTimeout: 30 * time.Second,
		Partitions:         3,
		ReplicationFactor:  1,
		Kafka:              e.kafka,
		Registry:           e.reg,
		Source:             e.source(t),
		Logger:             e.log,
		Now:                e.now,
	}
}

// run builds and runs a pipeline to its end.
func run(t *testing.T, o pipeline.Options) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := pipeline.New(ctx, o)
	if err != nil {
		return err
	}
	defer p.Close(ctx)
	return p.Run(ctx)
}

// decoded is one record as a consumer sees it.
type decoded struct {
	rec   *kgo.Record
	value map[string]any
}

// consume reads the event's topic with read_committed and decodes every
// value, resolving the writer's schema from the framing as a consumer would.
func (e *env) consume(t *testing.T, topic string) []decoded {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	recs, err := kread.ReadCommitted(ctx, e.kafka, topic)
	require.NoError(t, err)
	cache := map[string]avro.Schema{}
	out := make([]decoded, 0, len(recs))
	for _, r := range recs {
		var schema avro.Schema
		var body []byte
		switch {
		case len(r.Value) > 5 && r.Value[0] == 0 && e.reg != nil:
			id := int(binary.BigEndian.Uint32(r.Value[1:5]))
			k := "id:" + strconv.Itoa(id)
			if schema = cache[k]; schema == nil {
				ss, err := e.reg.SchemaByID(ctx, id)
				require.NoError(t, err)
				schema, err = avro.Parse(ss.Schema)
				require.NoError(t, err)
				cache[k] = schema
			}
			body = r.Value[5:]
		case len(r.Value) > 10 && r.Value[0] == 0xC3 && r.Value[1] == 0x01:
			k := "fp:" + string(r.Value[2:10])
			if schema = cache[k]; schema == nil {
				for _, ev := range schemas.Events() {
					s, err := schemas.Lookup(ev)
					require.NoError(t, err)
					if string(s.Fingerprint[:]) == string(r.Value[2:10]) {
						schema = s.Avro
					}
				}
				require.NotNil(t, schema, "no embedded schema has the fingerprint of a record on %s", topic)
				cache[k] = schema
			}
			body = r.Value[10:]
		default:
			t.Fatalf("record on %s offset %d has an unknown framing: % x", topic, r.Offset, r.Value[:min(len(r.Value), 10)])
		}
		var v map[string]any
		require.NoError(t, avro.Unmarshal(schema, body, &v), "decoding %s offset %d", topic, r.Offset)
		out = append(out, decoded{rec: r, value: v})
	}
	return out
}

// expectValue turns a simulator cell into what the event's Avro record must
// hold for its column, following the schema's field type.
func expectValue(t *testing.T, f *avro.Field, cell string) any {
	t.Helper()
	typ := f.Type()
	if u, ok := typ.(*avro.UnionSchema); ok {
		if cell == "" {
			return nil
		}
		for _, s := range u.Types() {
			if s.Type() != avro.Null {
				typ = s
			}
		}
	}
	switch typ.Type() {
	case avro.Boolean:
		b, err := strconv.ParseBool(cell)
		require.NoError(t, err)
		return b
	case avro.Int:
		n, err := strconv.Atoi(cell)
		require.NoError(t, err)
		return n
	case avro.Long:
		if ls, ok := typ.(avro.LogicalTypeSchema); ok && ls.Logical() != nil && ls.Logical().Type() == avro.TimestampMillis {
			ts, err := time.Parse(time.RFC3339Nano, cell)
			require.NoError(t, err)
			return ts.UTC()
		}
		n, err := strconv.ParseInt(cell, 10, 64)
		require.NoError(t, err)
		return n
	case avro.Double:
		x, err := strconv.ParseFloat(cell, 64)
		require.NoError(t, err)
		return x
	default:
		return cell
	}
}

// assertExactlyOnce checks that the topic holds exactly the simulator's
// rows of [from, to) for the event, each once, every cell typed as the
// schema says, and keyed by interaction_id (or the documented fallback).
func (e *env) assertExactlyOnce(t *testing.T, event, topic string, from, to time.Time) {
	t.Helper()
	want := e.sim.Rows(event, from, to)
	cols := freshchattest.Columns(event)
	got := e.consume(t, topic)
	require.Len(t, got, len(want), "event %s: records on %s", event, topic)

	schema, err := schemas.Lookup(event)
	require.NoError(t, err)
	rec := schema.Avro.(*avro.RecordSchema)
	fields := map[string]*avro.Field{}
	for _, f := range rec.Fields() {
		fields[f.Name()] = f
	}
	byCreated := map[int64]decoded{}
	for _, d := range got {
		ts := d.value["created_at"].(time.Time).UnixMilli()
		_, dup := byCreated[ts]
		require.False(t, dup, "event %s: row created at %d delivered twice", event, ts)
		byCreated[ts] = d
	}
	for _, row := range want {
		cell := map[string]string{}
		for i, c := range cols {
			cell[c] = row[i]
		}
		created, err := time.Parse(time.RFC3339Nano, cell["created_at"])
		require.NoError(t, err)
		d, ok := byCreated[created.UnixMilli()]
		require.True(t, ok, "event %s: row created at %s is missing", event, cell["created_at"])
		extra := map[string]any{}
		for c, v := range cell {
			f, known := fields[c]
			if !known {
				extra[c] = v
				continue
			}
			require.Equal(t, expectValue(t, f, v), d.value[c], "event %s row %s column %s", event, cell["created_at"], c)
		}
		require.Equal(t, extra, d.value["extra_columns"], "event %s row %s extra columns", event, cell["created_at"])
		for _, k := range []string{"interaction_id", "conversation_id", "agent_id", "actor_id"} {
			if _, known := fields[k]; known && cell[k] != "" {
				require.Equal(t, cell[k], string(d.rec.Key), "event %s: key", event)
				break
			}
		}
		headers := map[string]string{}
		for _, h := range d.rec.Headers {
			headers[h.Key] = string(h.Value)
		}
		require.Equal(t, event, headers[pipeline.HeaderEvent])
		for _, h := range []string{pipeline.HeaderWindow, pipeline.HeaderReportID, pipeline.HeaderFile, pipeline.HeaderLine} {
			require.NotEmpty(t, headers[h], "header %s", h)
		}
	}
}
