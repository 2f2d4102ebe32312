package plan

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/freshstream/freshchat-kafka/source"
)

func TestFmtDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{-time.Hour, "0s"},
		{44*time.Second + 600*time.Millisecond, "45s"},
		{2 * time.Hour, "2h"},
		{2*time.Hour + 29*time.Second, "2h"},
		{2*time.Hour + 30*time.Second, "2h1m"},
		{3*24*time.Hour + 4*time.Hour + 5*time.Minute, "3d4h5m"},
		{24*time.Hour + 5*time.Minute, "1d5m"},
	} {
		assert.Equal(t, tc.want, fmtDuration(tc.d), tc.d.String())
	}
}

func TestBudgetNames(t *testing.T) {
	assert.Equal(t, "3 submit(s)/min", perMinute(3, "submit"))
	assert.Equal(t, "submits paced by the request budget alone", perMinute(0, "submit"))
	assert.Equal(t, "requests unlimited", requestBudget(source.BudgetConfig{}))
	assert.Equal(t, "requests 60/min, unlimited/day", requestBudget(source.BudgetConfig{PerMinute: 60}))
}
