package plan_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/plan"
	"github.com/freshstream/freshchat-kafka/source"
)

// now is the instant every plan is made at: a fixed one, so that the
// calendar months a plan spans do not depend on when the test runs.
var now = time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)

// totals reads the windows and reports of the plan's total lines, summed
// over the accounts.
func totals(t *testing.T, out string) (windows, reports int) {
	t.Helper()
	all := regexp.MustCompile(`(?m)^total\s+([\d,]+)\s+([\d,]+)\s+[\d,]+\s+\S+$`).FindAllStringSubmatch(out, -1)
	require.NotEmpty(t, all, "no total line in:\n%s", out)
	atoi := func(s string) int {
		n, err := strconv.Atoi(strings.ReplaceAll(s, ",", ""))
		require.NoError(t, err)
		return n
	}
	for _, m := range all {
		windows, reports = windows+atoi(m[1]), reports+atoi(m[2])
	}
	return windows, reports
}

func TestBuild(t *testing.T) {
	hour := now.Truncate(time.Hour)
	for _, tc := range []struct {
		name       string
		tweak      func(*config.Config)
		positions  map[string]checkpoint.Position
		rowsPerDay float64
		// windows is the total of the plan's windows, within delta.
		windows, delta int
		// submitted is how many of those windows have their report
		// submitted already.
		submitted int
		want      []string // regular expressions the printed plan matches
		wantNot   []string // and those it does not
	}{
		{
			name:  "from the configuration, near the 15-month limit",
			tweak: func(c *config.Config) { c.Start = source.Earliest(now).Add(time.Hour) },
			// 15 months of 12 events: a first day, then a report a
			// calendar month.
			windows: 192, delta: 12,
			want: []string{
				`(?m)^Backfill plan from \S+ to 2026-03-14T09:20:00Z \(now − settle\)$`,
				`Windows: up to a calendar month, sized for 1,000,000 rows a report \(an event's first window, its density unknown: 1d\)\.`,
				`Reports ahead: 2 an event\. Report latency assumed: 2m0s \(--latency\)\. Checkpoints: none read\.`,
				`1 submit\(s\)/min, requests 60/min`,
				`(?m)^Agent-Activity\s+\S+\s+unknown\s+1[5-7]\s+1[5-7]\s+`,
				`With fixed windows of 1d, one report at a time .* it would take 5,4\d\d reports`,
				// A plan from 15 months ago says what the moving limit takes.
				`Near the 15-month limit an event starts where Freshchat still serves rows`,
				`with 1 submit\(s\)/min the last of 12 events waits about 11m for it`,
			},
			wantNot: []string{`All accounts`, `no longer served`},
		},
		{
			name: "a known density makes windows smaller",
			tweak: func(c *config.Config) {
				c.Events = []string{"Message-Sent"}
				c.Bounded = &config.Range{From: now.Add(-10 * 24 * time.Hour), To: now}
			},
			// 2,000,000 rows a day is a window of half a day for a
			// million rows a report.
			rowsPerDay: 2_000_000,
			windows:    20, delta: 1,
			want: []string{
				`(?m)^Backfill plan from 2026-03-04T09:30:00Z to 2026-03-14T09:30:00Z$`,
				`(?m)^Message-Sent\s+2026-03-04T09:30:00Z\s+2,000,000\s+`,
			},
			wantNot: []string{`Near the 15-month limit`},
		},
		{
			name: "from a checkpoint, at its density",
			tweak: func(c *config.Config) {
				c.Events = []string{"Message-Sent", "CSAT-Score"}
				c.Start = hour.Add(-72 * time.Hour)
				c.Bounded = &config.Range{To: hour}
			},
			positions: map[string]checkpoint.Position{"Message-Sent": {
				Event: "Message-Sent", WindowStart: hour.Add(-49 * time.Hour), WindowEnd: hour.Add(-48 * time.Hour),
				ReportID: "rep-1", Rows: 100, Produced: 100, Done: true, CommittedAt: hour,
				Ahead: []checkpoint.Ahead{{WindowStart: hour.Add(-48 * time.Hour), WindowEnd: hour.Add(-24 * time.Hour), ReportID: "rep-2", Submits: 1}},
			}},
			// Message-Sent: the window ahead, whose report is submitted,
			// then one to the end; CSAT-Score: a first day, then the rest.
			windows: 4, submitted: 1,
			want: []string{
				// 100 rows an hour.
				`(?m)^Message-Sent\s+2026-03-12T09:00:00Z\s+2,400\s+2\s+1\s+`,
				`(?m)^  Message-Sent: from its checkpoint$`,
				`(?m)^CSAT-Score\s+2026-03-11T09:00:00Z\s+unknown\s+2\s+2\s+`,
			},
		},
		{
			name: "a start before the 15-month limit is moved to it",
			tweak: func(c *config.Config) {
				c.Events = []string{"CSAT-Score"}
				c.Start = source.Earliest(now).Add(-24 * time.Hour)
			},
			windows: 16, delta: 1,
			want: []string{
				`(?m)^  CSAT-Score: rows before 2024-12-14T09:32:00Z are no longer served \(15-month limit\)$`,
				`(?m)^CSAT-Score\s+2024-12-14T09:32:00Z\s+`,
			},
		},
		{
			name: "fixed windows, no comparison",
			tweak: func(c *config.Config) {
				c.Events = []string{"CSAT-Score"}
				c.Start = now.Add(-5 * 24 * time.Hour)
				c.Backfill.TargetReportRows, c.Backfill.ReportsAhead = 0, 0
			},
			windows: 5, delta: 1,
			want:    []string{`Windows: 1d each \(target_report_rows is 0\)\.`, `Reports ahead: 0 an event\.`},
			wantNot: []string{`With fixed windows`},
		},
		{
			name: "accounts run at once, each under its own budgets",
			tweak: func(c *config.Config) {
				c.Start = now.Add(-3 * 24 * time.Hour)
				c.Freshchat.SubmitsPerMinute = 0
				acme, globex := c.SingleAccount(), c.SingleAccount()
				acme.Name, acme.Events = "acme", []string{"CSAT-Score"}
				globex.Name, globex.Events, globex.RequestsPerMinute, globex.RequestsPerDay = "globex", []string{"Message-Sent", "CSAT-Score"}, 0, 0
				c.Accounts = []config.Account{acme, globex}
			},
			// A first day, then the rest in one window, for 3 events.
			windows: 6,
			want: []string{
				`(?m)^Account acme: submits paced by the request budget alone, requests 60/min, unlimited/day\.$`,
				`(?m)^Account globex: submits paced by the request budget alone, requests unlimited\.$`,
				`(?m)^All accounts \(each has its own budgets, all run at once\): \S+$`,
				`it would take 9 reports`,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Defaults(now)
			tc.tweak(&cfg)
			p := plan.Build(&cfg, tc.positions, now, 2*time.Minute, tc.rowsPerDay)
			p.Checkpoints = "none read"
			var b strings.Builder
			require.NoError(t, p.Print(&b))
			out := b.String()

			windows, reports := totals(t, out)
			assert.InDelta(t, tc.windows, windows, float64(tc.delta), out)
			assert.Equal(t, windows-tc.submitted, reports, "every window not submitted yet is a report to submit:\n%s", out)
			assert.Equal(t, reports, p.Submits())
			assert.Positive(t, p.Total())
			for _, re := range tc.want {
				assert.Regexp(t, re, out)
			}
			for _, re := range tc.wantNot {
				assert.NotRegexp(t, re, out)
			}
		})
	}
}

func TestBuildIsTheSlowestAccount(t *testing.T) {
	cfg := config.Defaults(now)
	cfg.Start = now.Add(-30 * 24 * time.Hour)
	one := cfg.SingleAccount()
	one.Name, one.Events = "one", []string{"CSAT-Score"}
	all := cfg.SingleAccount()
	all.Name = "all"
	cfg.Accounts = []config.Account{one}
	alone := plan.Build(&cfg, nil, now, 2*time.Minute, 0).Total()
	cfg.Accounts = []config.Account{one, all}
	both := plan.Build(&cfg, nil, now, 2*time.Minute, 0).Total()
	cfg.Accounts = []config.Account{all}
	assert.Equal(t, plan.Build(&cfg, nil, now, 2*time.Minute, 0).Total(), both, "the account of 12 events sets the pace")
	assert.Less(t, alone, both)
}
