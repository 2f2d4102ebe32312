package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func mustLoad(t *testing.T, lc loadCase) *Config {
	t.Helper()
	cfg, err := lc.load(t)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cfg
}

func TestLoadDefaults(t *testing.T) {
	cfg := mustLoad(t, loadCase{})
	want := Config{
		Freshchat: Freshchat{
			APIURL:            mustURL(t, "https://acme.freshchat.com/v2"),
			APIToken:          testToken,
			PollInterval:      2 * time.Second,
			PollMaxInterval:   30 * time.Second,
			PendingTimeout:    30 * time.Minute,
			EmptyReportSettle: 2 * time.Minute,
			MaxSubmits:        5,
			RequestTimeout:    60 * time.Second,
			RetryBase:         500 * time.Millisecond,
			RetryMax:          30 * time.Second,
			RetryAttempts:     10,
			RequestsPerMinute: 60,
			SubmitsPerMinute:  1,
		},
		Kafka: Kafka{
			Brokers:            []string{"localhost:9092"},
			TopicTemplate:      "freshchat.{event}",
			Partitions:         -1,
			ReplicationFactor:  -1,
			CheckpointTopic:    "freshchat.checkpoints",
			TransactionalID:    "freshchat-connector",
			ClientID:           "freshchat-connector",
			TransactionTimeout: 60 * time.Second,
			ChunkRows:          10000,
			ChunkBytes:         16 << 20,
			Compression:        CompressionSnappy,
		},
		DeadLetter:  DeadLetter{Policy: PolicyDLQ, Topic: "freshchat.dlq"},
		Events:      AllEvents,
		Start:       now0.AddDate(0, 0, -7),
		Window:      24 * time.Hour,
		MinWindow:   15 * time.Minute,
		Settle:      10 * time.Minute,
		Backfill:    Backfill{MaxWindow: 31 * 24 * time.Hour, TargetReportRows: 1_000_000, ReportsAhead: 2},
		Concurrency: 4,
		TempDir:     os.TempDir(),
		Log:         Log{Level: slog.LevelInfo, Format: LogText},
		Metrics:     Metrics{Addr: ":9464", StuckAfter: time.Hour},
		Group:       Group{InstanceID: testHost, SessionTimeout: 30 * time.Second},
	}
	want.Accounts = []Account{{
		Name: DefaultAccount, APIURL: want.Freshchat.APIURL, APIToken: testToken, TopicTemplate: "freshchat.{event}",
		Events: AllEvents, Start: want.Start, Window: want.Window, RequestsPerMinute: 60,
	}}
	if !reflect.DeepEqual(*cfg, want) {
		t.Errorf("Load with defaults:\n got %#v\nwant %#v", *cfg, want)
	}

	d := Defaults(now0)
	want.Freshchat.APIURL, want.Freshchat.APIToken, want.Kafka.Brokers = nil, "", nil
	want.Accounts, want.Group.InstanceID = nil, "" // resolved by Load
	if !reflect.DeepEqual(d, want) {
		t.Errorf("Defaults:\n got %#v\nwant %#v", d, want)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := parseHTTPURL(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestAPIURLForms(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://acme.freshchat.com/v2", "https://acme.freshchat.com/v2"},
		{"https://api.freshchat.com/v2", "https://api.freshchat.com/v2"},
		{"https://api.eu.freshchat.com/v2", "https://api.eu.freshchat.com/v2"},
		{"https://api.in.freshchat.com/v2", "https://api.in.freshchat.com/v2"},
		{"https://api.au.freshchat.com/v2", "https://api.au.freshchat.com/v2"},
		{"https://acme-org.myfreshworks.com/v2", "https://acme-org.myfreshworks.com/v2"},
		{"https://acme.freshchat.com/v2/", "https://acme.freshchat.com/v2"},
		{"https://acme.freshchat.com", "https://acme.freshchat.com/v2"},
		{"https://acme.freshchat.com/", "https://acme.freshchat.com/v2"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/v2"},
		{"http://localhost:8080/v2/", "http://localhost:8080/v2"},
		{"http://[::1]:8080/sim/v2", "http://[::1]:8080/sim/v2"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			cfg := mustLoad(t, loadCase{env: with(map[string]string{"FRESHCHAT_API_URL": tt.in})})
			if got := cfg.Freshchat.APIURL.String(); got != tt.want {
				t.Errorf("APIURL = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSchemaRegistryURL(t *testing.T) {
	cfg := mustLoad(t, loadCase{env: with(map[string]string{"SCHEMA_REGISTRY_URL": "http://localhost:8081/"})})
	if got := cfg.SchemaRegistry.URL.String(); got != "http://localhost:8081" {
		t.Errorf("SchemaRegistry.URL = %q", got)
	}
	cfg = mustLoad(t, loadCase{})
	if cfg.SchemaRegistry.URL != nil {
		t.Errorf("SchemaRegistry.URL = %v, want nil", cfg.SchemaRegistry.URL)
	}
}

func TestTokenFile(t *testing.T) {
	path := writeFile(t, "token", "\n  "+testToken+"\n\n")
	env := map[string]string{
		"FRESHCHAT_API_URL":        "https://api.freshchat.com/v2",
		"FRESHCHAT_API_TOKEN_FILE": path,
		"KAFKA_BROKERS":            "localhost:9092",
	}
	cfg := mustLoad(t, loadCase{env: env})
	if cfg.Freshchat.APIToken.Reveal() != testToken {
		t.Errorf("token = %q, want the trimmed file content", cfg.Freshchat.APIToken.Reveal())
	}
	if cfg.Freshchat.APITokenFile != path {
		t.Errorf("APITokenFile = %q, want %q", cfg.Freshchat.APITokenFile, path)
	}

	empty := writeFile(t, "empty", " \n")
	env["FRESHCHAT_API_TOKEN_FILE"] = empty
	_, err := loadCase{env: env}.load(t)
	want := `freshchat.api_token_file (env FRESHCHAT_API_TOKEN_FILE): bad value "` + empty +
		`" from the environment: the token file is empty`
	if err == nil || err.Error() != want {
		t.Errorf("empty token file: got %v, want %s", err, want)
	}
}

func TestTokenFromEnvReplacesTokenFileFromYAML(t *testing.T) {
	cfg := mustLoad(t, loadCase{yaml: "freshchat:\n  api_token_file: /nonexistent/token\n"})
	if cfg.Freshchat.APIToken.Reveal() != testToken || cfg.Freshchat.APITokenFile != "" {
		t.Errorf("token = %q from file %q, want the env token", cfg.Freshchat.APIToken.Reveal(), cfg.Freshchat.APITokenFile)
	}
}

func TestPrecedence(t *testing.T) {
	yml := `
freshchat:
  poll_interval: 3s
kafka:
  brokers: [yaml1:9092, yaml2:9092]
window: 12h
events: Message-Sent
log:
  level: debug
`
	env := with(map[string]string{
		"FRESHCHAT_WINDOW": "6h",
		"FRESHCHAT_EVENTS": "CSAT-Score",
		"LOG_FORMAT":       "json",
		"KAFKA_BROKERS":    "",
	})
	cfg := mustLoad(t, loadCase{yaml: yml, env: env})
	if cfg.Window != 6*time.Hour {
		t.Errorf("Window = %v: env must override YAML", cfg.Window)
	}
	if cfg.Freshchat.PollInterval != 3*time.Second || cfg.Log.Level != slog.LevelDebug {
		t.Errorf("PollInterval = %v, Level = %v: YAML must override defaults", cfg.Freshchat.PollInterval, cfg.Log.Level)
	}
	if cfg.Log.Format != LogJSON {
		t.Errorf("Format = %v: env must override defaults", cfg.Log.Format)
	}
	if want := []string{"yaml1:9092", "yaml2:9092"}; !reflect.DeepEqual(cfg.Kafka.Brokers, want) {
		t.Errorf("Brokers = %v, want %v: an empty env variable counts as not set", cfg.Kafka.Brokers, want)
	}
	if want := []string{"CSAT-Score"}; !reflect.DeepEqual(cfg.Events, want) {
		t.Errorf("Events = %v, want %v: env must override YAML", cfg.Events, want)
	}

	cfg = mustLoad(t, loadCase{yaml: yml, env: env, ov: Overrides{Events: "agent-activity"}})
	if want := []string{"Agent-Activity"}; !reflect.DeepEqual(cfg.Events, want) {
		t.Errorf("Events = %v, want %v: flags must override env", cfg.Events, want)
	}
}

func TestEvents(t *testing.T) {
	tests := []struct {
		yaml string
		env  string
		want []string
	}{
		{env: "csat-score, MESSAGE-SENT,,Csat-Score", want: []string{"CSAT-Score", "Message-Sent"}},
		{env: "ALL", want: AllEvents},
		{yaml: "events:\n  - agent-intelliassign-activity\n  - response-time\n", want: []string{"Agent-Intelliassign-Activity", "Response-Time"}},
	}
	for _, tt := range tests {
		env := baseEnv()
		if tt.env != "" {
			env["FRESHCHAT_EVENTS"] = tt.env
		}
		cfg := mustLoad(t, loadCase{yaml: tt.yaml, env: env})
		if !reflect.DeepEqual(cfg.Events, tt.want) {
			t.Errorf("events %q%q: got %v, want %v", tt.env, tt.yaml, cfg.Events, tt.want)
		}
	}
}

func TestBounded(t *testing.T) {
	tests := []struct {
		ov   Overrides
		want *Range
	}{
		{Overrides{}, nil},
		{Overrides{From: "-2d", To: "now"}, &Range{From: now0.Add(-48 * time.Hour), To: now0}},
		{Overrides{From: "2026-03-01"}, &Range{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: now0}},
		{Overrides{To: "2026-03-10"}, &Range{To: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)}}, // from the checkpoints
		{
			Overrides{From: "2025-01-01T00:00:00+02:00", To: "2026-03-15T12:00:00Z"},
			&Range{From: time.Date(2024, 12, 31, 22, 0, 0, 0, time.UTC), To: now0},
		},
	}
	for _, tt := range tests {
		cfg := mustLoad(t, loadCase{ov: tt.ov})
		if !reflect.DeepEqual(cfg.Bounded, tt.want) {
			t.Errorf("%+v: Bounded = %+v, want %+v", tt.ov, cfg.Bounded, tt.want)
		}
	}
}

func TestNothingRequired(t *testing.T) {
	cfg, err := Load(LoadOptions{Env: func(string) (string, bool) { return "", false }, Now: func() time.Time { return now0 }})
	if err != nil {
		t.Fatalf("Load without requirements: %v", err)
	}
	if cfg.Freshchat.APIURL != nil || cfg.Freshchat.APIToken != "" || cfg.Kafka.Brokers != nil {
		t.Errorf("unset settings were filled: %+v", cfg)
	}
}

func TestTopic(t *testing.T) {
	k := Defaults(now0).Kafka
	if got := k.Topic("Message-Sent"); got != "freshchat.message-sent" {
		t.Errorf("Topic(Message-Sent) = %q", got)
	}
	cfg := mustLoad(t, loadCase{env: with(map[string]string{"KAFKA_TOPIC_TEMPLATE": "prod_{event}_v1"})})
	if got := cfg.Kafka.Topic("CSAT-Score"); got != "prod_csat-score_v1" {
		t.Errorf("Topic(CSAT-Score) = %q", got)
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	cfg := mustLoad(t, loadCase{ov: Overrides{From: "-1d"}})
	var outputs []string
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		outputs = append(outputs, fmt.Sprintf(f, cfg), fmt.Sprintf(f, *cfg))
	}
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s"} {
		outputs = append(outputs, fmt.Sprintf(f, cfg.Freshchat.APIToken))
	}
	forms, logged := printedForms(t, cfg, "config", *cfg, "token", cfg.Freshchat.APIToken)
	outputs = append(outputs, forms...)

	for _, out := range outputs {
		if strings.Contains(out, testToken) {
			t.Errorf("the token appears in %s", out)
		}
	}
	if !strings.Contains(logged, "api_token=[redacted]") || !strings.Contains(logged, `"api_token":"[redacted]"`) {
		t.Errorf("slog output does not show the redacted token:\n%s", logged)
	}
	if !strings.Contains(logged, "config.freshchat.api_url=https://acme.freshchat.com/v2") {
		t.Errorf("slog output does not show the effective settings:\n%s", logged)
	}
	if cfg.Freshchat.APIToken.Reveal() != testToken {
		t.Errorf("Reveal() = %q", cfg.Freshchat.APIToken.Reveal())
	}
}

func TestReference(t *testing.T) {
	ref := Reference()
	if len(ref) != 72 {
		t.Errorf("Reference has %d settings, want 72", len(ref))
	}
	keys, envs := map[string]bool{}, map[string]bool{}
	for _, s := range ref {
		if s.Key == "" || s.Env == "" || s.Doc == "" || s.parse == nil {
			t.Errorf("incomplete setting %+v", s)
		}
		if keys[s.Key] || envs[s.Env] {
			t.Errorf("setting %s (%s) is declared twice", s.Key, s.Env)
		}
		keys[s.Key], envs[s.Env] = true, true
	}
	ref[0].Key = "changed"
	if Reference()[0].Key == "changed" {
		t.Error("Reference exposes the table itself")
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90s", 90 * time.Second, true},
		{"1d", 24 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"1.5d", 36 * time.Hour, true},
		{"2w", 14 * 24 * time.Hour, true},
		{"-72h", -72 * time.Hour, true},
		{"500ms", 500 * time.Millisecond, true},
		{"1h30m", 90 * time.Minute, true},
		{"0", 0, true},
		{"", 0, false},
		{"10", 0, false},
		{"d", 0, false},
		{"1y", 0, false},
		{"5 m", 0, false},
		{"1000000w", 0, false},
	}
	for _, tt := range tests {
		got, err := parseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"now", now0},
		{"-72h", now0.Add(-72 * time.Hour)},
		{"-7d", now0.Add(-7 * 24 * time.Hour)},
		{"-2w", now0.Add(-14 * 24 * time.Hour)},
		{"2026-01-31", time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)},
		{"2026-01-31T10:00:00.5+01:00", time.Date(2026, 1, 31, 9, 0, 0, 5e8, time.UTC)},
	}
	for _, tt := range tests {
		got, err := parseTime(tt.in, now0)
		if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("parseTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "2026-01-31 10:00", "2026-01-31T10:00:00", "7d"} {
		if _, err := parseTime(bad, now0); err == nil {
			t.Errorf("parseTime(%q) succeeded", bad)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := map[string]int64{
		"16777216": 16 << 20, "16MiB": 16 << 20, "8MB": 8e6, "512KiB": 512 << 10,
		"512kib": 512 << 10, "1 GiB": 1 << 30, "100B": 100, "2kb": 2000,
	}
	for in, want := range tests {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "MiB", "1.5MiB", "16 megs", "-1", "99999999999GiB"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) succeeded", bad)
		}
	}
}

// printedForms is cfg as it can leave the process: as JSON, as YAML, and in
// a log line of each standard slog handler, attribute "config" first, then
// the key-value pairs in more. logged is the log lines alone.
func printedForms(t *testing.T, cfg *Config, more ...any) (forms []string, logged string) {
	t.Helper()
	j, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		slog.New(h).Info("config", append([]any{"config", cfg}, more...)...)
	}
	return []string{string(j), string(y), buf.String()}, buf.String()
}
