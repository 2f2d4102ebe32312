package demo_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/demo"
	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/source"
)

func TestBackfillWindows(t *testing.T) {
	start := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	to := start.Add(72 * time.Hour)
	events := []string{"A", "B", "C"}
	at := func(h int) time.Time { return start.Add(time.Duration(h) * time.Hour) }

	total, resumed := demo.BackfillWindows(nil, events, start, to, 6*time.Hour)
	assert.Equal(t, int64(36), total, "12 windows per event from the start")
	assert.False(t, resumed)

	positions := map[string]checkpoint.Position{
		"A": {Event: "A", WindowStart: at(60), WindowEnd: at(66), Done: true}, // 1 left
		"B": {Event: "B", WindowStart: at(60), WindowEnd: at(66)},             // in progress: 2 left
		"C": {Event: "C", WindowStart: at(72), WindowEnd: at(78), Done: true}, // past to: none
	}
	total, resumed = demo.BackfillWindows(positions, events, start, to, 6*time.Hour)
	assert.Equal(t, int64(3), total)
	assert.True(t, resumed)
}

func TestLiveWindows(t *testing.T) {
	var b strings.Builder
	show := demo.LiveWindows(&b)
	start := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	window := source.Window{Start: start, End: start.Add(10 * time.Second)}
	var wg sync.WaitGroup
	for i, n := range []int64{1, 12} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			show(pipeline.WindowDone{Event: []string{"CSAT-Score", "Message-Sent"}[i], Window: window, Produced: n, Topic: "t"})
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	assert.Len(t, lines, 2, "a whole line a window:\n%s", b.String())
	assert.Contains(t, b.String(), "  CSAT-Score                     10:00:00.000 → 10:00:10.000     1 row   → t\n")
	assert.Contains(t, b.String(), "  Message-Sent                   10:00:00.000 → 10:00:10.000    12 rows  → t\n")
}

func TestListenMetrics(t *testing.T) {
	for _, addr := range []string{"off", "OFF", ""} {
		ln, err := demo.ListenMetrics(addr)
		assert.NoError(t, err)
		assert.Nil(t, ln, addr)
	}

	for _, addr := range []string{"garbage", "127.0.0.1", "127.0.0.1:http", "127.0.0.1:70000"} {
		ln, err := demo.ListenMetrics(addr)
		assert.Error(t, err, addr)
		assert.Nil(t, ln, addr, "a bad address never listens (before: on every interface)")
	}

	busy, err := demo.ListenMetrics("127.0.0.1:0")
	assert.NoError(t, err)
	defer busy.Close()
	ln, err := demo.ListenMetrics(busy.Addr().String())
	assert.NoError(t, err, "a busy port falls back to a free one")
	defer ln.Close()
	assert.NotEqual(t, busy.Addr().String(), ln.Addr().String())
	assert.True(t, strings.HasPrefix(ln.Addr().String(), "127.0.0.1:"))
}
