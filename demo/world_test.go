package demo_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/demo"
)

// TestWorld starts a world on free ports and checks that the
// configuration it yields points at it.
func TestWorld(t *testing.T) {
	dir := t.TempDir()
	log, err := demo.OpenLog(dir)
	require.NoError(t, err)
	require.NoError(t, log.Close())
	assert.DirExists(t, filepath.Join(dir, "tmp"))
	assert.FileExists(t, filepath.Join(dir, "connector.log"))

	w, err := demo.Start(demo.Options{DataDir: dir, RowsPerHour: 60})
	require.NoError(t, err)
	defer w.Close()
	require.Len(t, w.Brokers, 1)
	assert.True(t, strings.HasPrefix(w.Brokers[0], "127.0.0.1:"))

	now := time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)
	cfg := w.Config(now, 3)
	assert.Equal(t, w.Brokers, cfg.Kafka.Brokers)
	assert.Equal(t, w.RegistryURL, cfg.SchemaRegistry.URL.String())
	assert.Equal(t, demo.Token, string(cfg.Freshchat.APIToken))
	assert.Equal(t, time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC), cfg.Start, "days back, to the hour")
	assert.Equal(t, filepath.Join(dir, "tmp"), cfg.TempDir)
	assert.Nil(t, cfg.Bounded)

	res, err := http.Get(w.RegistryURL + "/subjects")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode, "the registry answers")
	res, err = http.Get(cfg.Freshchat.APIURL.String() + "/reports/raw/nothing")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "the simulator answers, and wants the token")

	var b strings.Builder
	w.PrintAddresses(&b)
	assert.Contains(t, b.String(), "  Kafka brokers    "+w.Brokers[0]+" (data in "+filepath.Join(dir, "kafka")+")\n")
	assert.Contains(t, b.String(), "  Schema registry  "+w.RegistryURL+"\n")
	assert.Contains(t, b.String(), "  Connector log    "+filepath.Join(dir, "connector.log")+"\n")
}
