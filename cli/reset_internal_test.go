package cli

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/connect"
)

// TestResetAsksBeforeWriting runs reset without --yes: a "no" writes
// nothing, a "yes" moves the checkpoint ("now" is a valid target).
func TestResetAsksBeforeWriting(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0))
	require.NoError(t, err)
	defer c.Close()
	for _, k := range []string{"FRESHCHAT_API_URL", "FRESHCHAT_API_TOKEN", "FRESHCHAT_API_TOKEN_FILE", "SCHEMA_REGISTRY_URL", "FRESHCHAT_START"} {
		t.Setenv(k, "")
	}
	t.Setenv("KAFKA_BROKERS", c.ListenAddrs()[0])
	t.Setenv("FRESHCHAT_EVENTS", "CSAT-Score")
	t.Setenv("LOG_LEVEL", "warn")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	reset := func(answer bool) (string, string, error) {
		var out, errb bytes.Buffer
		err := resetCommand(ctx, []string{"--event", "csat-score", "--to", "now"}, Streams{Out: &out, Err: &errb},
			func(q string) (bool, error) {
				assert.Contains(t, q, "Reset CSAT-Score to ")
				return answer, nil
			})
		return out.String(), errb.String(), err
	}

	out, _, err := reset(false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "reset cancelled: nothing was written")
	assert.Contains(t, out, "old: no checkpoint: the next run starts at the configured start")
	assert.Contains(t, out, "fast-forward: rows created from ")

	cfg, err := config.Load(config.LoadOptions{RequireBrokers: true})
	require.NoError(t, err)
	positions, err := connect.LoadPositions(ctx, cfg.Kafka, nil)
	require.NoError(t, err)
	assert.Empty(t, positions, "a declined reset writes nothing")

	before := time.Now().UTC().Truncate(time.Millisecond)
	out, errs, err := reset(true)
	require.NoError(t, err, errs)
	assert.Contains(t, out, "Reset CSAT-Score: was no checkpoint")
	positions, err = connect.LoadPositions(ctx, cfg.Kafka, nil)
	require.NoError(t, err)
	p := positions["CSAT-Score"]
	assert.True(t, p.Done)
	assert.Equal(t, p.WindowStart, p.WindowEnd)
	assert.False(t, p.Next().Before(before))
	assert.False(t, p.Next().After(time.Now()))
}
