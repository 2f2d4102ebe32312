package demo

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/freshstream/freshchat-kafka/pipeline"
)

func TestProgressLine(t *testing.T) {
	var p Progress
	p.total, p.began = 4, time.Now()
	p.OnWindow(pipeline.WindowDone{Produced: 100})
	var b strings.Builder
	stop := progressLine(&b, p.line)
	stop()
	assert.Regexp(t, `^   25%  1/4 windows  100 rows  \d+ rows/s\n$`, b.String(), "stopping prints the line a last time")

	// More windows than expected (live ones ending meanwhile) stay 100%.
	for range 4 {
		p.OnWindow(pipeline.WindowDone{Produced: 1})
	}
	assert.Regexp(t, `^  100%  5/5 windows  104 rows  `, p.line())
}
