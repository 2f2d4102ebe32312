// Package deploy_test checks the monitoring files of deploy/ against the
// connector: the Grafana dashboard and the Prometheus alert rules query
// only metrics the connector exports (queries_test.go), and Debian's
// Prometheus, scraping a running connector, finds data for every panel and
// every alert (prometheus_test.go).
package deploy_test

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/freshstream/freshchat-kafka/metrics"
)

const (
	dashboardPath  = "grafana/freshchat-connector.json"
	rulesPath      = "prometheus/alerts.yaml"
	rulesTestPath  = "prometheus/alerts_test.yaml"
	readmePath     = "../README.md"
	metricPrefix   = metrics.Namespace + "_"
	scrapeJobName  = "freshchat-connector" // the job the rules' `up` selectors name
	variableAll    = ".*"                  // the dashboard variables' "All" value
	rateIntervalIn = "1m"                  // $__rate_interval, for queries run outside Grafana
)

// query is one PromQL expression of the dashboard or the rules, with where
// it comes from.
type query struct {
	where string // "panel \"Freshness\" A", "variable event", "alert FreshchatConnectorDown"
	expr  string
	// label is set for a Grafana label_values(selector, label) variable
	// query: expr is then its selector.
	label string
}

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	Panels     []panel `json:"panels"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type panel struct {
	Title   string  `json:"title"`
	Type    string  `json:"type"`
	Panels  []panel `json:"panels"` // a collapsed row holds its panels
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

type variable struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Query      any    `json:"query"` // a string, or {"query": "..."} in newer Grafana
	Definition string `json:"definition"`
	AllValue   string `json:"allValue"`
}

// labelValues is Grafana's label_values(selector, label) variable query.
var labelValues = regexp.MustCompile(`^\s*label_values\(\s*(.+?)\s*,\s*([a-zA-Z_]\w*)\s*\)\s*$`)

// dashboardQueries returns every query of a dashboard: each panel target
// (rows' nested panels included) and each query variable.
func dashboardQueries(raw []byte) ([]query, error) {
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	var out []query
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				out = append(out, query{where: fmt.Sprintf("panel %q %s", p.Title, t.RefID), expr: t.Expr})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q := v.Definition
		switch vq := v.Query.(type) {
		case string:
			q = vq
		case map[string]any:
			if s, ok := vq["query"].(string); ok {
				q = s
			}
		}
		m := labelValues.FindStringSubmatch(q)
		if m == nil {
			return nil, fmt.Errorf("variable %s: want a label_values(selector, label) query, got %q", v.Name, q)
		}
		out = append(out, query{where: "variable " + v.Name, expr: m[1], label: m[2]})
	}
	return out, nil
}

// ruleFile is a Prometheus rules file.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

func loadRules(t *testing.T) []rule {
	t.Helper()
	raw, err := os.ReadFile(rulesPath)
	require.NoError(t, err)
	var f ruleFile
	require.NoError(t, yaml.Unmarshal(raw, &f))
	var out []rule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	require.NotEmpty(t, out)
	return out
}

func ruleQueries(rules []rule) []query {
	out := make([]query, 0, len(rules))
	for _, r := range rules {
		name := "alert " + r.Alert
		if r.Record != "" {
			name = "record " + r.Record
		}
		out = append(out, query{where: name, expr: r.Expr})
	}
	return out
}

func loadDashboardQueries(t *testing.T) []query {
	t.Helper()
	raw, err := os.ReadFile(dashboardPath)
	require.NoError(t, err)
	qs, err := dashboardQueries(raw)
	require.NoError(t, err)
	require.NotEmpty(t, qs)
	return qs
}

// metricRef is a metric name a query uses.
type metricRef struct {
	name string
	// byRegex: the name is a regular expression on __name__, which cannot
	// be checked against the exported names.
	byRegex bool
}

// metricNames returns the connector metrics (names with metricPrefix) that
// a PromQL expression or a Grafana selector uses. It reads the text as
// PromQL's lexer does: a name is a whole identifier (so my_freshchat_... is
// not one of ours), text in quotes is a label value and names nothing
// unless it is the value of a __name__ matcher, and # starts a comment.
func metricNames(expr string) []metricRef {
	var out []metricRef
	isIdentStart := func(c byte) bool { return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	isIdent := func(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }
	nameMatcher := regexp.MustCompile(`__name__\s*(=~|!~|!=|=)\s*$`)
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '#':
			for i < len(expr) && expr[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			for j < len(expr) && expr[j] != c {
				if expr[j] == '\\' && c != '`' {
					j++
				}
				j++
			}
			value := expr[i+1 : min(j, len(expr))]
			if m := nameMatcher.FindStringSubmatch(expr[:i]); m != nil {
				switch m[1] {
				case "=":
					if strings.HasPrefix(value, metricPrefix) {
						out = append(out, metricRef{name: value})
					}
				case "=~":
					out = append(out, metricRef{name: value, byRegex: true})
				}
			}
			i = j + 1
		case c >= '0' && c <= '9' || c == '.':
			for i < len(expr) && (isIdent(expr[i]) || expr[i] == '.') {
				i++ // a number or a duration such as 5m
			}
		case isIdentStart(c):
			j := i
			for j < len(expr) && isIdent(expr[j]) {
				j++
			}
			if id := expr[i:j]; strings.HasPrefix(id, metricPrefix) {
				out = append(out, metricRef{name: id})
			}
			i = j
		default:
			i++
		}
	}
	return out
}

// families maps each exported metric family name to its type as the
// exposition format spells it: counter, gauge, histogram, summary, untyped.
type families map[string]string

// problem says why a metric reference is wrong, or "" when the connector
// exports it. A histogram's series are name_bucket, name_sum and
// name_count: the bare name has none, and a counter has no _count.
func (f families) problem(ref metricRef) string {
	if ref.byRegex {
		return fmt.Sprintf("__name__=~%q selects metrics by pattern, which cannot be checked: name them", ref.name)
	}
	if typ, ok := f[ref.name]; ok {
		if typ == "histogram" {
			return fmt.Sprintf("%s is a histogram: it has no series of that name (query %[1]s_bucket, _sum or _count)", ref.name)
		}
		return ""
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(ref.name, suffix)
		if !ok {
			continue
		}
		switch f[base] {
		case "histogram":
			return ""
		case "summary":
			if suffix != "_bucket" {
				return ""
			}
		}
	}
	return fmt.Sprintf("%s is not a metric the connector exports", ref.name)
}

// unknownMetrics lists, for every query, the metric names the connector
// does not export.
func unknownMetrics(qs []query, f families) []string {
	var out []string
	for _, q := range qs {
		for _, ref := range metricNames(q.expr) {
			if p := f.problem(ref); p != "" {
				out = append(out, q.where+": "+p)
			}
		}
	}
	return out
}

// TestDashboardAndAlertsUseExportedMetrics checks every metric name the
// dashboard (panels and variables) and the alert rules query against what
// a running connector serves on /metrics: a real `connector run` against
// the Freshchat simulator and kfake (see connector_test.go), including the
// Kafka client metrics that exist only after a failed dial.
func TestDashboardAndAlertsUseExportedMetrics(t *testing.T) {
	exported := connector(t).warm(t).families(t)
	qs := append(loadDashboardQueries(t), ruleQueries(loadRules(t))...)
	used := 0
	for _, q := range qs {
		used += len(metricNames(q.expr))
	}
	require.Positive(t, used, "the tokenizer finds the queries' metric names")
	for _, problem := range unknownMetrics(qs, exported) {
		t.Error(problem)
	}
}

// TestUnknownMetricsAreFound shows that the check above fails for a
// dashboard that queries a metric the connector does not export, and how
// names are read from PromQL.
func TestUnknownMetricsAreFound(t *testing.T) {
	exported := families{
		"freshchat_connector_rows_read_total":         "counter",
		"freshchat_connector_freshness_seconds":       "gauge",
		"freshchat_connector_report_wait_seconds":     "histogram",
		"freshchat_connector_kafka_connects_total":    "counter",
		"freshchat_connector_build_info":              "gauge",
		"freshchat_connector_api_requests_total":      "counter",
		"freshchat_connector_kafka_request_summary_s": "summary",
	}
	panelDashboard := func(exprs ...string) string {
		targets := make([]string, len(exprs))
		for i, e := range exprs {
			b, _ := json.Marshal(e)
			targets[i] = fmt.Sprintf(`{"refId": %q, "expr": %s}`, string(rune('A'+i)), b)
		}
		return `{"panels": [{"title": "P", "type": "timeseries", "targets": [` + strings.Join(targets, ",") + `]}]}`
	}
	tests := []struct {
		name      string
		dashboard string
		want      []string
	}{
		{name: "exported counter and gauge",
			dashboard: panelDashboard(`sum by (event) (rate(freshchat_connector_rows_read_total{event=~"$event"}[$__rate_interval]))`, `max(freshchat_connector_freshness_seconds)`)},
		{name: "histogram series",
			dashboard: panelDashboard(`histogram_quantile(0.9, sum by (le) (rate(freshchat_connector_report_wait_seconds_bucket[1h])))`,
				"sum(rate(freshchat_connector_report_wait_seconds_sum[1h]))\n/\nsum(rate(freshchat_connector_report_wait_seconds_count[1h]))")},
		{name: "summary sum and count",
			dashboard: panelDashboard(`freshchat_connector_kafka_request_summary_s_sum / freshchat_connector_kafka_request_summary_s_count`)},
		{name: "a metric that does not exist",
			dashboard: panelDashboard(`max by (event) (freshchat_connector_event_state{state="failed"})`),
			want:      []string{`panel "P" A: freshchat_connector_event_state is not a metric the connector exports`}},
		{name: "a typo, in the second target",
			dashboard: panelDashboard(`freshchat_connector_build_info`, `rate(freshchat_connector_rows_reed_total[5m])`),
			want:      []string{`panel "P" B: freshchat_connector_rows_reed_total is not a metric the connector exports`}},
		{name: "a histogram's bare name",
			dashboard: panelDashboard(`freshchat_connector_report_wait_seconds`),
			want:      []string{`panel "P" A: freshchat_connector_report_wait_seconds is a histogram: it has no series of that name (query freshchat_connector_report_wait_seconds_bucket, _sum or _count)`}},
		{name: "a counter has no _count",
			dashboard: panelDashboard(`freshchat_connector_rows_read_total_count`),
			want:      []string{`panel "P" A: freshchat_connector_rows_read_total_count is not a metric the connector exports`}},
		{name: "a summary has no _bucket",
			dashboard: panelDashboard(`freshchat_connector_kafka_request_summary_s_bucket`),
			want:      []string{`panel "P" A: freshchat_connector_kafka_request_summary_s_bucket is not a metric the connector exports`}},
		{name: "label values, other namespaces, comments and durations name nothing",
			dashboard: panelDashboard("up{job=\"freshchat_connector_nothing\", instance!~'freshchat_connector_x'}\n# freshchat_connector_in_a_comment\n" +
				"+ on() my_freshchat_connector_total offset 5m + freshchat_connector_build_info")},
		{name: "a __name__ matcher names a metric",
			dashboard: panelDashboard(`rate({__name__="freshchat_connector_nothing_total"}[5m])`),
			want:      []string{`panel "P" A: freshchat_connector_nothing_total is not a metric the connector exports`}},
		{name: "a __name__ pattern cannot be checked",
			dashboard: panelDashboard(`{__name__=~"freshchat_connector_.+"}`),
			want:      []string{`panel "P" A: __name__=~"freshchat_connector_.+" selects metrics by pattern, which cannot be checked: name them`}},
		{name: "panels inside a collapsed row",
			dashboard: `{"panels": [{"type": "row", "title": "R", "panels": [{"title": "Inner", "targets": [{"refId": "A", "expr": "freshchat_connector_api_ready"}]}]}]}`,
			want:      []string{`panel "Inner" A: freshchat_connector_api_ready is not a metric the connector exports`}},
		{name: "variables, as a string or an object",
			dashboard: `{"templating": {"list": [
				{"name": "datasource", "type": "datasource", "query": "prometheus"},
				{"name": "job", "type": "query", "query": "label_values(freshchat_connector_build_info, job)"},
				{"name": "event", "type": "query", "query": {"query": "label_values(freshchat_connector_events_total{job=~\"$job\"}, event)", "refId": "X"}}]}}`,
			want: []string{`variable event: freshchat_connector_events_total is not a metric the connector exports`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			qs, err := dashboardQueries([]byte(tt.dashboard))
			require.NoError(t, err)
			require.NotEmpty(t, qs)
			assert.Equal(t, tt.want, unknownMetrics(qs, exported))
		})
	}
}

// TestAlertRulesAreDocumentedAndTested checks what promtool does not: every
// alert has a severity, a summary, a description and a runbook pointing at
// a README heading that exists, and alerts_test.yaml has, for every alert,
// a case where it fires and one where it must not.
func TestAlertRulesAreDocumentedAndTested(t *testing.T) {
	rules := loadRules(t)
	readme, err := os.ReadFile(readmePath)
	require.NoError(t, err)
	anchors := headingAnchors(string(readme))

	raw, err := os.ReadFile(rulesTestPath)
	require.NoError(t, err)
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &tests))
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, g := range tests.Tests {
		for _, c := range g.AlertRuleTest {
			if len(c.ExpAlerts) > 0 {
				fires[c.Alertname] = true
			} else {
				quiet[c.Alertname] = true
			}
		}
	}

	var names []string
	for _, r := range rules {
		if r.Alert == "" {
			continue
		}
		names = append(names, r.Alert)
		t.Run(r.Alert, func(t *testing.T) {
			assert.True(t, strings.HasPrefix(r.Alert, "FreshchatConnector"), "alert names share a prefix")
			assert.Contains(t, []string{"critical", "warning"}, r.Labels["severity"])
			assert.NotEmpty(t, r.Annotations["summary"])
			assert.NotEmpty(t, r.Annotations["description"])
			file, anchor, ok := strings.Cut(r.Annotations["runbook"], "#")
			if assert.True(t, ok, "runbook is README.md#heading") {
				assert.Equal(t, "README.md", file)
				assert.Contains(t, anchors, anchor, "the runbook names a README heading")
			}
			assert.True(t, fires[r.Alert], "alerts_test.yaml has a case where it fires")
			assert.True(t, quiet[r.Alert], "alerts_test.yaml has a case where it must not fire")
		})
	}
	assert.Len(t, names, len(slices.Compact(slices.Sorted(slices.Values(names)))), "alert names are unique")
}

// headingAnchors returns the GitHub anchors of a Markdown document's
// headings: lower case, spaces to hyphens, punctuation dropped.
func headingAnchors(md string) []string {
	var out []string
	inFence := false
	for line := range strings.SplitSeq(md, "\n") {
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
		}
		if inFence || !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(title) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r):
				b.WriteRune(r)
			}
		}
		out = append(out, b.String())
	}
	return out
}

// groupingClause is a PromQL by (...), without (...), on (...) or
// ignoring (...) clause, with its labels.
var groupingClause = regexp.MustCompile(`\b(by|without|on|ignoring)\s*\(([^)]*)\)`)

// unitsApart says why a query mixes units of different accounts, or "": a
// unit is (account, event), so every clause that groups or matches by
// event must name account too (and one that drops account must drop event
// too), and a dashboard selector that filters by the event variable
// filters by the account variable as well.
func unitsApart(expr string) string {
	for _, m := range groupingClause.FindAllStringSubmatch(expr, -1) {
		labels := map[string]bool{}
		for l := range strings.SplitSeq(m[2], ",") {
			labels[strings.TrimSpace(l)] = true
		}
		keep, drop := "event", "account" // by, on: what is kept must be whole
		if m[1] == "without" || m[1] == "ignoring" {
			keep, drop = "account", "event" // what is dropped must be whole
		}
		if labels[keep] && !labels[drop] {
			return fmt.Sprintf("%q names %s without %s: the same event of two accounts would be mixed", m[0], keep, drop)
		}
	}
	if strings.Contains(expr, `event=~"$event"`) && !strings.Contains(expr, `account=~"$account"`) {
		return `filters by $event but not by $account`
	}
	return ""
}

// TestQueriesKeepUnitsApart checks every query of the dashboard and the
// rules with unitsApart.
func TestQueriesKeepUnitsApart(t *testing.T) {
	for _, q := range append(loadDashboardQueries(t), ruleQueries(loadRules(t))...) {
		if p := unitsApart(q.expr); p != "" {
			t.Errorf("%s: %s", q.where, p)
		}
	}
	for expr, want := range map[string]string{
		`sum by (account, event) (rate(x{event=~"$event", account=~"$account"}[5m]))`: "",
		`a and on (job, instance, event) b`:                                           `"on (job, instance, event)" names event without account: the same event of two accounts would be mixed`,
		`sum by(event)(x)`:                                                            `"by(event)" names event without account: the same event of two accounts would be mixed`,
		`sum by (instance) (x{event=~"$event"})`:                                      `filters by $event but not by $account`,
		`sum without (account) (x)`:                                                   `"without (account)" names account without event: the same event of two accounts would be mixed`,
		`sum without (account, event) (x)`:                                            "",
	} {
		assert.Equal(t, want, unitsApart(expr), expr)
	}
}
