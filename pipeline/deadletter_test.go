package pipeline_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/internal/kread"
	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

// TestDeadLettersKeepEveryRow: with the dlq policy, rows that cannot be
// converted go to the dead-letter topic with their cause, in the same
// transactions as the good rows; every good row lands exactly once, and the
// checkpoints account for every row read.
func TestDeadLettersKeepEveryRow(t *testing.T) {
	e := newEnv(t, 300, freshchattest.Faults{MalformedEvery: 37, LinksPerReport: 2, FilesPerZip: 2}, true)
	from, to := span(3)
	events := []string{"Conversation-Created", "Message-Sent", "Agent-Activity"}
	o := e.options(t, events, from, to)
	o.DeadLetterTopic = "freshchat.dlq"
	o.Limits.Rows = 64
	require.NoError(t, run(t, o))

	ctx := context.Background()
	dl, err := kread.ReadCommitted(ctx, e.kafka, "freshchat.dlq")
	require.NoError(t, err)
	badByEvent := map[string]map[string]bool{}
	for _, r := range dl {
		var d pipeline.DeadLetter
		require.NoError(t, json.Unmarshal(r.Value, &d))
		assert.Equal(t, "reopened", d.Column)
		assert.Equal(t, "maybe", d.Value)
		assert.Contains(t, d.Cause, "boolean")
		assert.NotEmpty(t, d.ReportID)
		assert.NotEmpty(t, d.File)
		assert.Positive(t, d.Line)
		// The raw line parses back to a row of the header's width whose
		// created_at identifies the served row.
		fields, err := csv.NewReader(strings.NewReader(d.Raw)).Read()
		require.NoError(t, err)
		require.Len(t, fields, len(d.Header))
		created := ""
		for i, h := range d.Header {
			if h == "created_at" {
				created = fields[i]
			}
		}
		ts, err := parseAnyTime(created)
		require.NoError(t, err)
		if badByEvent[d.Event] == nil {
			badByEvent[d.Event] = map[string]bool{}
		}
		key := ts.UTC().Format("2006-01-02T15:04:05.000Z")
		assert.False(t, badByEvent[d.Event][key], "dead letter written twice")
		badByEvent[d.Event][key] = true
	}
	assert.NotEmpty(t, badByEvent["Conversation-Created"])
	assert.NotEmpty(t, badByEvent["Message-Sent"])
	assert.Empty(t, badByEvent["Agent-Activity"], "Agent-Activity has no reopened column")

	cps, err := kread.ReadCommitted(ctx, e.kafka, o.CheckpointTopic)
	require.NoError(t, err)
	for _, ev := range events {
		want := e.sim.Rows(ev, from, to)
		got := e.consume(t, o.Topic(ev))
		assert.Equal(t, len(want), len(got)+len(badByEvent[ev]), "event %s: every row is produced or dead-lettered", ev)
		created := map[string]bool{}
		for _, d := range got {
			k := d.value["created_at"].(time.Time).UTC().Format("2006-01-02T15:04:05.000Z")
			assert.False(t, created[k], "duplicate")
			assert.False(t, badByEvent[ev][k], "a row is both produced and dead-lettered")
			created[k] = true
		}
		// Every window's final checkpoint accounts for every row read.
		var read, produced, dead int64
		for _, r := range cps {
			p, err := checkpoint.Decode(r.Value)
			require.NoError(t, err)
			if p.Event == ev && p.Done {
				read, produced, dead = read+p.Rows, produced+p.Produced, dead+p.DeadLettered
			}
		}
		assert.EqualValues(t, len(want), read, "event %s rows read", ev)
		assert.EqualValues(t, len(got), produced)
		assert.EqualValues(t, len(badByEvent[ev]), dead)
	}
}

// TestEmptyWindowIsRecorded: a window whose report is empty is committed
// as such, not skipped.
func TestEmptyWindowIsRecorded(t *testing.T) {
	e := newEnv(t, 1, freshchattest.Faults{}, false)
	_, to := span(1)
	from := to.Add(-10 * time.Minute) // one row an hour: at most one of these minutes holds it
	o := e.options(t, []string{"CSAT-Score"}, from, to)
	o.Planner.Window = time.Minute
	require.NoError(t, run(t, o))
	cps, err := kread.ReadCommitted(context.Background(), e.kafka, o.CheckpointTopic)
	require.NoError(t, err)
	var done, empty int
	for _, r := range cps {
		p, err := checkpoint.Decode(r.Value)
		require.NoError(t, err)
		if p.Done {
			done++
			if p.Rows == 0 {
				empty++
			}
		}
	}
	assert.Equal(t, 10, done, "every one-minute window is recorded")
	assert.GreaterOrEqual(t, empty, 9, "at most one minute holds the hour's single row")
}

func parseAnyTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02 15:04:05.999999999", s)
}
