package pipeline_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/source"
)

func backlogs(events, windows int, latency, read time.Duration) []pipeline.Backlog {
	out := make([]pipeline.Backlog, events)
	for i := range out {
		out[i] = pipeline.Backlog{Event: "E", Windows: windows, Latency: latency, Read: read}
	}
	return out
}

func TestEstimateBackfill(t *testing.T) {
	budgets := source.Budgets{Requests: source.BudgetConfig{PerMinute: 60}, SubmitEvery: time.Minute,
		PollInterval: 2 * time.Second, PollMaxInterval: 30 * time.Second}

	t.Run("fixed plan: the submit budget bounds it", func(t *testing.T) {
		// 12 events of 456 daily windows at a submit a minute: 5,472
		// minutes, the 91 hours, plus the last report.
		each, total := pipeline.EstimateBackfill(pipeline.Pace{Budgets: budgets, Concurrency: 4}, backlogs(12, 456, time.Minute, time.Second))
		assert.Equal(t, 5472*time.Minute+time.Minute+time.Second, total)
		for _, e := range each {
			assert.Equal(t, total, e, "the events share the budget in turn and end together")
		}
	})

	t.Run("adaptive plan: 192 reports", func(t *testing.T) {
		_, total := pipeline.EstimateBackfill(pipeline.Pace{Budgets: budgets, ReportsAhead: 2, Concurrency: 4}, backlogs(12, 16, 3*time.Minute, 10*time.Second))
		assert.Equal(t, 192*time.Minute+3*time.Minute+10*time.Second, total)
	})

	t.Run("an event with fewer windows ends first", func(t *testing.T) {
		bs := backlogs(2, 10, time.Minute, 0)
		bs[1].Windows = 2
		each, total := pipeline.EstimateBackfill(pipeline.Pace{Budgets: budgets, ReportsAhead: 2}, bs)
		assert.Equal(t, 12*time.Minute+time.Minute, each[0], "its last submit comes after the other's two and its own ten")
		assert.Equal(t, 4*time.Minute+time.Minute, each[1], "two turns of two submits")
		assert.Equal(t, each[0], total)
	})

	t.Run("without budgets, latency and reading bound it", func(t *testing.T) {
		free := pipeline.Pace{Budgets: source.Budgets{PollInterval: 2 * time.Second, PollMaxInterval: 30 * time.Second}}
		one := backlogs(1, 10, 6*time.Minute, time.Minute)
		_, total := pipeline.EstimateBackfill(free, one)
		assert.Equal(t, 10*(6*time.Minute+time.Minute), total, "one at a time: latency and read, window after window")
		free.ReportsAhead = 2
		_, total = pipeline.EstimateBackfill(free, one)
		// Three reports in flight hide most of the latency: a window every
		// (6m+1m)/3, after the first report.
		assert.Equal(t, 7*time.Minute+9*(7*time.Minute/3), total)
		free.ReportsAhead = 10
		_, total = pipeline.EstimateBackfill(free, one)
		assert.Equal(t, 7*time.Minute+9*time.Minute, total, "with enough ahead, reading is what is left")
	})

	t.Run("submitted reports need no submit; nothing left is done", func(t *testing.T) {
		bs := backlogs(1, 3, time.Minute, 0)
		bs[0].Submitted = 3
		_, total := pipeline.EstimateBackfill(pipeline.Pace{Budgets: budgets, ReportsAhead: 2}, bs)
		assert.Equal(t, time.Minute/2+2*(time.Minute/3), total, "half the latency of the first is assumed to have passed")
		_, total = pipeline.EstimateBackfill(pipeline.Pace{Budgets: budgets}, backlogs(3, 0, time.Minute, 0))
		assert.Zero(t, total)
	})

	t.Run("a daily request cap", func(t *testing.T) {
		capped := budgets
		capped.SubmitEvery = 0
		capped.Requests = source.BudgetConfig{PerDay: 100}
		bs := backlogs(1, 60, time.Second, 0)
		assert.Equal(t, 2, bs[0].Requests(pipeline.Pace{Budgets: capped})/60, "a submit and a poll a window")
		_, total := pipeline.EstimateBackfill(pipeline.Pace{Budgets: capped}, bs)
		assert.Equal(t, 24*time.Hour, total, "120 requests at 100 a day: the last 20 a day later")
	})
}
