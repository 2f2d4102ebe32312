package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/freshstream/freshchat-kafka/pipeline"
)

func TestRenderProgress(t *testing.T) {
	frame := renderProgress([]pipeline.Progress{
		{Event: "Message-Sent", Windows: 3, WindowsLeft: 1, Rows: 1234567, Rate: 4321, Percent: 75, ETA: 90 * time.Second, ReportsAhead: 1},
		{Event: "CSAT-Score", Windows: 4, WindowsLeft: 0, Rows: 12, Rate: 1, Percent: 100},
	})
	assert.Len(t, frame, 4)
	assert.Contains(t, frame[1], "Message-Sent")
	assert.Contains(t, frame[1], "3/4")
	assert.Contains(t, frame[1], "1,234,567")
	assert.Contains(t, frame[1], "4,321/s")
	assert.Contains(t, frame[1], "████████████░░░░  75.0%")
	assert.Contains(t, frame[1], "1m30s")
	assert.Contains(t, frame[2], "4/4")
	assert.True(t, strings.HasPrefix(frame[3], "total"))
	assert.Contains(t, frame[3], "7/8")
	assert.Contains(t, frame[3], "1,234,579")
	assert.Contains(t, frame[3], "87.5%")
	assert.Regexp(t, `87\.5%\s+1\s+1m30s$`, frame[3], "reports ahead and the whole backfill's ETA: the longest")
}

func TestGroupDigits(t *testing.T) {
	for in, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", -1234567: "-1,234,567"} {
		assert.Equal(t, want, groupDigits(in))
	}
}

func TestProgressViewRedrawsInPlace(t *testing.T) {
	var b strings.Builder
	v := &progressView{w: &b}
	v.draw([]pipeline.Progress{{Event: "A"}})
	first := b.String()
	assert.NotContains(t, first, "\x1b[3A", "nothing to move over the first time")
	v.draw([]pipeline.Progress{{Event: "A"}})
	assert.Contains(t, strings.TrimPrefix(b.String(), first), "\x1b[3A", "the second frame moves up over the three lines of the first")
}
