package config

import (
	"testing"
	"time"
)

func TestBackfillSettings(t *testing.T) {
	month := 31 * 24 * time.Hour
	defaults := Backfill{MaxWindow: month, TargetReportRows: 1_000_000, ReportsAhead: 2}
	tests := []struct {
		name        string
		lc          loadCase
		want        Backfill
		submits     int
		wantProblem string
	}{
		{name: "defaults", want: defaults, submits: 1},
		{name: "yaml", submits: 3, want: Backfill{MaxWindow: 7 * 24 * time.Hour, TargetReportRows: 250_000, ReportsAhead: 0},
			lc: loadCase{yaml: "freshchat:\n  submits_per_minute: 3\nmax_window: 7d\ntarget_report_rows: 250000\nreports_ahead: 0\n"}},
		{name: "env, fixed windows, month spelled out", submits: 0, want: Backfill{MaxWindow: month, ReportsAhead: 1},
			lc: loadCase{env: with(map[string]string{"FRESHCHAT_MAX_WINDOW": "Month", "FRESHCHAT_TARGET_REPORT_ROWS": "0",
				"FRESHCHAT_REPORTS_AHEAD": "1", "FRESHCHAT_SUBMITS_PER_MINUTE": "0"})}},
		{name: "31d is a month", submits: 1, want: defaults, lc: loadCase{env: with(map[string]string{"FRESHCHAT_MAX_WINDOW": "31d"})}},
		{name: "max_window over a month", lc: loadCase{env: with(map[string]string{"FRESHCHAT_MAX_WINDOW": "32d"})},
			wantProblem: `max_window (env FRESHCHAT_MAX_WINDOW): bad value "32d" from the environment: must be at most 31d (744h)`},
		{name: "max_window not a duration", lc: loadCase{yaml: "max_window: monthly\n"},
			wantProblem: `max_window (env FRESHCHAT_MAX_WINDOW): bad value "monthly" from FILE line 1: must be month or a duration such as 7d, at most 31d (744h)`},
		{name: "negative target", lc: loadCase{env: with(map[string]string{"FRESHCHAT_TARGET_REPORT_ROWS": "-1"})},
			wantProblem: `target_report_rows (env FRESHCHAT_TARGET_REPORT_ROWS): bad value "-1" from the environment: must be between 0 and 1000000000`},
		{name: "too many ahead", lc: loadCase{env: with(map[string]string{"FRESHCHAT_REPORTS_AHEAD": "11"})},
			wantProblem: `reports_ahead (env FRESHCHAT_REPORTS_AHEAD): bad value "11" from the environment: must be between 0 and 10`},
		{name: "negative submits", lc: loadCase{env: with(map[string]string{"FRESHCHAT_SUBMITS_PER_MINUTE": "-2"})},
			wantProblem: `freshchat.submits_per_minute (env FRESHCHAT_SUBMITS_PER_MINUTE): bad value "-2" from the environment: must be between 0 and 1000000`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadWant(t, tt.lc, tt.wantProblem)
			if cfg == nil {
				return
			}
			if cfg.Backfill != tt.want || cfg.Freshchat.SubmitsPerMinute != tt.submits {
				t.Errorf("got %+v and %d submits/min, want %+v and %d", cfg.Backfill, cfg.Freshchat.SubmitsPerMinute, tt.want, tt.submits)
			}
		})
	}
}
