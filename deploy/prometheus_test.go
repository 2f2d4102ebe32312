package deploy_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/internal/logbuf"
)

// prometheusBin is Debian's Prometheus server (package prometheus).
const prometheusBin = "/usr/bin/prometheus"

// signalProbes name, for the alerts whose signal cannot exist in this test,
// the query checked instead (or none) and why. Every other alert's signal
// (its expression without the comparisons that make it a condition) must
// return series: see TestPrometheusScrapesTheConnector.
var signalProbes = map[string]struct {
	// drop is a label matcher of the expression: the probe is the
	// expression without it. Empty: the signal is not checked.
	drop string
	why  string
}{
	"FreshchatConnectorAPIAuthRefused": {
		drop: `, code=~"401|403"`,
		why:  "a connector whose only account's token is refused stops, so a running one has no 401/403; the same expression without the code filter must find the API's other answers",
	},
	"FreshchatConnectorNotReady": {
		why: "kube-state-metrics' readiness of the pod, and the test runs no Kubernetes (promtool's unit tests cover it; the Helm tests check its container selector)",
	},
}

// quietAlerts must be neither pending nor firing on the watched connector:
// it runs, is not stuck, is live within seconds and its token is accepted
// (its one account, default, is up).
// The others may be, by the faults the run injects (dead letters, 429s,
// failed dials before Kafka was up).
var quietAlerts = []string{
	"FreshchatConnectorDown", "FreshchatConnectorAbsent", "FreshchatConnectorFreshnessTooOld",
	"FreshchatConnectorEventStuck", "FreshchatConnectorAPIAuthRefused", "FreshchatConnectorAPINotReady",
	"FreshchatConnectorAccountDown",
}

// TestPrometheusScrapesTheConnector runs Debian's Prometheus against the
// running connector (connector_test.go), scraping every second with the
// alert rules loaded, and checks through its HTTP API that
//   - the target is up;
//   - every dashboard panel query, with the dashboard's variables set to
//     All and $__rate_interval to 1m, returns at least one series, and every
//     variable's label_values(selector, label) finds label values;
//   - every alert rule loaded and evaluates without error, and its signal
//     returns at least one series. An alert's expression returns nothing
//     while it does not fire, so the signal is the expression with every
//     comparison against a number removed ("x > 4800 and delta(x[2h]) > 0"
//     becomes "x and delta(x[2h])": the values the alert compares) and
//     absent(x) unwrapped to x; signalProbes lists the exceptions;
//   - the alerts that must not fire on this run do not, and the dead
//     letters the simulator provokes do fire FreshchatConnectorDeadLetters.
//
// It needs the prometheus binary: outside CI it skips without one; in CI
// (CI=true, as .ci/run sets, which installs it) it fails.
func TestPrometheusScrapesTheConnector(t *testing.T) {
	requirePrometheus(t)
	// Prometheus scrapes for the first time some 5 s after it starts (its
	// service discovery sends targets every 5 s): start it while the
	// connector warms up.
	c := connector(t)
	prom := startPrometheus(t, c.metricsAddr)
	c.warm(t)

	dashboardQs := loadDashboardQueries(t)
	rules := loadRules(t)

	type check struct {
		where, query string
	}
	var checks []check
	for _, q := range dashboardQs {
		expr := grafanaVars(t, q.expr)
		if q.label != "" {
			expr = fmt.Sprintf("count by (%s) (%s)", q.label, expr)
		}
		checks = append(checks, check{q.where, expr})
	}
	for _, r := range rules {
		if r.Alert == "" {
			continue
		}
		signal := alertSignal(r.Expr)
		if p, ok := signalProbes[r.Alert]; ok && p.drop == "" {
			t.Logf("%s: its signal is not checked: %s", r.Alert, p.why)
			continue
		} else if ok {
			probe := strings.Replace(signal, p.drop, "", 1)
			require.NotEqual(t, signal, probe, "signalProbes[%s].drop is a matcher of its expression", r.Alert)
			t.Logf("%s: checking %q instead of its signal: %s", r.Alert, probe, p.why)
			signal = probe
		}
		checks = append(checks, check{"alert " + r.Alert + " signal", signal})
	}

	// Every query must be valid at once; data arrives with the scrapes:
	// wait until every query has series (a rate needs two scrapes).
	began := time.Now()
	var empty []string
	deadline := began.Add(20 * time.Second)
	for {
		empty = empty[:0]
		for _, ch := range checks {
			n, err := prom.series(ch.query)
			require.NoError(t, err, "%s: %s", ch.where, ch.query)
			if n == 0 {
				empty = append(empty, fmt.Sprintf("%s: %s", ch.where, ch.query))
			}
		}
		if len(empty) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, e := range empty {
		t.Errorf("no series for %s", e)
	}
	if len(empty) == 0 {
		t.Logf("all %d queries returned series, %s after the connector warmed up", len(checks), time.Since(began).Round(100*time.Millisecond))
	}

	up, err := prom.values(fmt.Sprintf(`up{job=%q}`, scrapeJobName))
	require.NoError(t, err)
	assert.Equal(t, []float64{1}, up, "the connector's target is up")

	// The rules as Prometheus loaded and evaluated them.
	loaded := prom.rules(t)
	for _, r := range rules {
		if r.Alert == "" {
			continue
		}
		if lr, ok := loaded[r.Alert]; assert.True(t, ok, "Prometheus loaded %s", r.Alert) {
			assert.Equal(t, "ok", lr.Health, "%s evaluates: %s", r.Alert, lr.LastError)
		}
	}
	// The alerts' states, once Prometheus has watched the connector long
	// enough for every event to commit several windows (one every ~3 s):
	// right after its first scrapes, an hour's worth of "nothing changed"
	// is only a second's.
	prom.waitScrapes(t, 8)
	require.Eventually(t, func() bool {
		return prom.rules(t)["FreshchatConnectorDeadLetters"].State == "firing"
	}, 10*time.Second, 200*time.Millisecond, "the simulator's unconvertible rows fire FreshchatConnectorDeadLetters")
	loaded = prom.rules(t)
	for _, name := range quietAlerts {
		assert.Equal(t, "inactive", loaded[name].State, "%s on a healthy connector", name)
	}
	if t.Failed() {
		t.Logf("connector log (tail):\n%s", tail(c.logs, 30))
	}
}

// requirePrometheus skips the test without the prometheus binary, unless
// it runs in CI, where it fails.
func requirePrometheus(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(prometheusBin); err != nil {
		if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
			t.Fatalf("CI=%s and %s is missing (%v): .ci/run installs Debian's prometheus package", ci, prometheusBin, err)
		}
		t.Skipf("%s is missing (%v): apt-get install prometheus to run this test", prometheusBin, err)
	}
}

// numberComparison is a comparison against a number literal, bool
// modifier included: what turns a signal into an alert condition.
var numberComparison = regexp.MustCompile(`^\s*(==|!=|>=|<=|>|<)\s*(bool\s+)?[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\b`)

// alertSignal is what an alert's expression compares: the expression with
// every comparison against a number literal removed (outside quoted label
// values), and absent(x) unwrapped to x.
func alertSignal(expr string) string {
	var b strings.Builder
	for i := 0; i < len(expr); {
		switch c := expr[i]; {
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			for j < len(expr) && expr[j] != c {
				if expr[j] == '\\' && c != '`' {
					j++
				}
				j++
			}
			j = min(j+1, len(expr))
			b.WriteString(expr[i:j])
			i = j
		default:
			if m := numberComparison.FindString(expr[i:]); m != "" {
				i += len(m)
				continue
			}
			b.WriteByte(c)
			i++
		}
	}
	signal := strings.TrimSpace(b.String())
	if inner, ok := strings.CutPrefix(signal, "absent("); ok && strings.HasSuffix(inner, ")") {
		signal = strings.TrimSuffix(inner, ")")
	}
	return signal
}

// grafanaVars sets the dashboard's variables as a user choosing All would,
// and $__rate_interval to 1m; any other variable fails the test.
func grafanaVars(t *testing.T, expr string) string {
	t.Helper()
	out := strings.NewReplacer(
		"$__rate_interval", rateIntervalIn,
		"$job", variableAll, "$instance", variableAll, "$account", variableAll, "$event", variableAll,
	).Replace(expr)
	require.NotContains(t, out, "$", "a variable the test does not know in %q", expr)
	return out
}

func TestAlertSignal(t *testing.T) {
	for expr, want := range map[string]string{
		`up{job="x"} == 0`:                                   `up{job="x"}`,
		`absent(up{job="x"})`:                                `up{job="x"}`,
		"x > 4800\nand\ndelta(x[2h]) > 0":                    "x\nand\ndelta(x[2h])",
		`rate(a{code=~"4.."}[5m]) > bool 0.5`:                `rate(a{code=~"4.."}[5m])`,
		`(changes(p[1h]) == 0 and on (e) c == 0) and r > 0`:  `(changes(p[1h]) and on (e) c) and r`,
		`a{endpoint!="download", v=">3"} >= 1e3`:             `a{endpoint!="download", v=">3"}`,
		`a > on (job) b`:                                     `a > on (job) b`,
		`sum by (job) (increase(t[15m])) > 5 unless x < -1`:  `sum by (job) (increase(t[15m])) unless x`,
		`max_over_time(a{code=~"401|403"}[15m]) > 0 or b!=2`: `max_over_time(a{code=~"401|403"}[15m]) or b`,
	} {
		assert.Equal(t, want, alertSignal(expr), expr)
	}
}

// promServer is a Prometheus server started by a test.
type promServer struct {
	url string
}

// startPrometheus starts Debian's Prometheus on a free loopback port with
// a temporary storage folder, scraping target every second as job
// scrapeJobName and evaluating the alert rules every second.
func startPrometheus(t *testing.T, target string) *promServer {
	t.Helper()
	dir := t.TempDir()
	rules, err := filepath.Abs(rulesPath)
	require.NoError(t, err)
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - %q
scrape_configs:
  - job_name: %q
    static_configs:
      - targets: [%q]
`, rules, scrapeJobName, target)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o644))
	// Prometheus takes a free port itself and logs which ("Listening on").
	cmd := exec.Command(prometheusBin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:0",
		"--log.level=info",
	)
	logs := &logbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("prometheus log:\n%s", logs.String())
		}
	})
	var p *promServer
	deadline := time.Now().Add(15 * time.Second)
	for {
		if p == nil {
			if m := promListening.FindStringSubmatch(logs.String()); m != nil {
				p = &promServer{url: "http://" + m[1]}
			}
		}
		if p != nil {
			resp, err := http.Get(p.url + "/-/ready")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return p
				}
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("prometheus exited: %v\n%s", err, logs.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready within 15s:\n%s", logs.String())
		}
	}
}

// promListening finds the address Prometheus listens on in its log.
var promListening = regexp.MustCompile(`msg="Listening on" address=(\S+)`)

// waitScrapes waits until Prometheus has scraped the connector n times.
func (p *promServer) waitScrapes(t *testing.T, n int) {
	t.Helper()
	q := fmt.Sprintf(`count_over_time(up{job=%q}[10m]) >= %d`, scrapeJobName, n)
	require.Eventually(t, func() bool {
		k, err := p.series(q)
		return err == nil && k == 1
	}, time.Duration(n+10)*time.Second, 200*time.Millisecond, "%d scrapes", n)
}

// get calls the HTTP API and decodes its data into v.
func (p *promServer) get(path string, params url.Values, v any) error {
	resp, err := http.Get(p.url + path + "?" + params.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("%s: %s: %w", path, resp.Status, err)
	}
	if body.Status != "success" {
		return fmt.Errorf("%s: %s", path, body.Error)
	}
	return json.Unmarshal(body.Data, v)
}

// instant runs an instant query at the current time.
func (p *promServer) instant(q string) ([]struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}, error) {
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := p.get("/api/v1/query", url.Values{"query": {q}}, &data); err != nil {
		return nil, err
	}
	var out []struct {
		Metric map[string]string `json:"metric"`
		Value  [2]any            `json:"value"`
	}
	if data.ResultType != "vector" {
		return nil, fmt.Errorf("%s: result type %s, want vector", q, data.ResultType)
	}
	return out, json.Unmarshal(data.Result, &out)
}

// series is how many series q returns now.
func (p *promServer) series(q string) (int, error) {
	r, err := p.instant(q)
	return len(r), err
}

// values are the sorted values of q's series now.
func (p *promServer) values(q string) ([]float64, error) {
	r, err := p.instant(q)
	if err != nil {
		return nil, err
	}
	var out []float64
	for _, s := range r {
		v, _ := s.Value[1].(string)
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: value %q: %w", q, v, err)
		}
		out = append(out, f)
	}
	slices.Sort(out)
	return out, nil
}

// loadedRule is an alerting rule as /api/v1/rules reports it.
type loadedRule struct {
	State     string `json:"state"` // inactive, pending, firing
	Health    string `json:"health"`
	LastError string `json:"lastError"`
}

// rules returns the loaded alerting rules by name.
func (p *promServer) rules(t *testing.T) map[string]loadedRule {
	t.Helper()
	var data struct {
		Groups []struct {
			Rules []struct {
				loadedRule
				Name string `json:"name"`
				Type string `json:"type"`
			} `json:"rules"`
		} `json:"groups"`
	}
	require.NoError(t, p.get("/api/v1/rules", url.Values{"type": {"alert"}}, &data))
	out := map[string]loadedRule{}
	for _, g := range data.Groups {
		for _, r := range g.Rules {
			out[r.Name] = r.loadedRule
		}
	}
	return out
}
