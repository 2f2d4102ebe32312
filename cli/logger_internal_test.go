package cli

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/config"
)

// TestJSONLogWritesDurationsAsText: the JSON log writes durations as text
// mode does ("2s", "1m2s"), at the top level and inside groups such as the
// startup line's config, not as nanosecond integers.
func TestJSONLogWritesDurationsAsText(t *testing.T) {
	var cfg config.Config
	cfg.Freshchat.PollInterval = 2 * time.Second
	cfg.Kafka.TransactionTimeout = time.Minute
	cfg.Window = time.Hour

	var buf bytes.Buffer
	log := newLogger(config.Log{Level: slog.LevelInfo, Format: config.LogJSON}, &buf)
	log.Info("starting", "config", cfg)
	log.With(slog.Duration("poll_interval", 200*time.Millisecond)).
		WithGroup("budget").Info("waiting", "period", 153*time.Second, "budget_wait", 83182*time.Millisecond, "rows", 7)

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2)
	out := buf.String()
	for _, want := range []string{`"poll_interval":"2s"`, `"transaction_timeout":"1m0s"`, `"window":"1h0m0s"`, `"settle":"0s"`,
		`"poll_interval":"200ms"`, `"period":"2m33s"`, `"budget_wait":"1m23.182s"`, `"rows":7`} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, "2000000000")

	var first struct {
		Config struct {
			Freshchat map[string]any `json:"freshchat"`
		} `json:"config"`
	}
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	assert.Equal(t, "2s", first.Config.Freshchat["poll_interval"])

	// Text mode is unchanged.
	buf.Reset()
	newLogger(config.Log{Level: slog.LevelInfo}, &buf).Info("waiting", "period", 62*time.Second)
	assert.Contains(t, buf.String(), "period=1m2s")
}
