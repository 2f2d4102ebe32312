package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

var now0 = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

const testToken = "tok-5ecr3t-VALUE"

// testHost is the host name Load sees in tests.
const testHost = "test-host"

// baseEnv holds the settings Load requires when RequireAPI and
// RequireBrokers are set.
func baseEnv() map[string]string {
	return map[string]string{
		"FRESHCHAT_API_URL":   "https://acme.freshchat.com/v2",
		"FRESHCHAT_API_TOKEN": testToken,
		"KAFKA_BROKERS":       "localhost:9092",
	}
}

type loadCase struct {
	yaml     string            // written to a file when not empty
	env      map[string]string // nil: baseEnv()
	ov       Overrides
	hostname func() (string, error) // nil: testHost
}

func (lc loadCase) load(t *testing.T) (*Config, error) {
	t.Helper()
	opts := LoadOptions{
		Now:            func() time.Time { return now0 },
		Overrides:      lc.ov,
		RequireAPI:     true,
		RequireBrokers: true,
	}
	env := lc.env
	if env == nil {
		env = baseEnv()
	}
	opts.Env = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	opts.Environ = func() []string {
		var kv []string
		for k, v := range env {
			kv = append(kv, k+"="+v)
		}
		return kv
	}
	opts.Hostname = lc.hostname
	if opts.Hostname == nil {
		opts.Hostname = func() (string, error) { return testHost, nil }
	}
	if lc.yaml != "" {
		opts.Path = writeFile(t, "config.yaml", lc.yaml)
	}
	return Load(opts)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

var yamlPath = regexp.MustCompile(`\S*/config\.yaml`)

// replacePath writes the temporary YAML file's path as FILE.
func replacePath(problems []string) []string {
	out := make([]string, len(problems))
	for i, p := range problems {
		out[i] = yamlPath.ReplaceAllString(p, "FILE")
	}
	return out
}

func with(extra map[string]string) map[string]string {
	env := baseEnv()
	for k, v := range extra {
		env[k] = v
	}
	return env
}

func TestLoadProblems(t *testing.T) {
	tests := []struct {
		name string
		loadCase
		want []string // exact problems; the path of the YAML file is written FILE
	}{
		{
			name:     "malformed YAML names the line",
			loadCase: loadCase{yaml: "window: 1h\nsettle: 10m\nlog: level: info\n"},
			want:     []string{"FILE: invalid YAML: line 3: mapping values are not allowed in this context"},
		},
		{
			name:     "tab in YAML",
			loadCase: loadCase{yaml: "window: 1h\n\tsettle: 2m\n"},
			want:     []string{"FILE: invalid YAML: line 2: found a tab character that violates indentation"},
		},
		{
			name:     "unknown key",
			loadCase: loadCase{yaml: "freshchat:\n  pol_interval: 2s\n"},
			want: []string{`FILE line 2: unknown key "freshchat.pol_interval" (known keys under freshchat: ` +
				`api_url, api_token, api_token_file, poll_interval, poll_max_interval, pending_timeout, empty_report_settle, max_submits, ` +
				`request_timeout, retry_base, retry_max, retry_attempts, requests_per_minute, requests_per_day, submits_per_minute)`},
		},
		{
			name:     "unknown top-level key",
			loadCase: loadCase{yaml: "kafka_brokers: a:1\n"},
			want: []string{`FILE line 1: unknown key "kafka_brokers" (known keys: freshchat, accounts, kafka, ` +
				`dead_letter, schema_registry, events, start, window, min_window, settle, max_window, target_report_rows, reports_ahead, concurrency, temp_dir, log, metrics, group)`},
		},
		{
			name:     "duplicate key",
			loadCase: loadCase{yaml: "window: 1h\nwindow: 2h\n"},
			want:     []string{`FILE line 2: duplicate key "window" (first at line 1)`},
		},
		{
			name:     "section given a scalar",
			loadCase: loadCase{yaml: "log: debug\n"},
			want:     []string{"FILE line 1: log must be a mapping with the keys level, format"},
		},
		{
			name:     "setting given a mapping",
			loadCase: loadCase{yaml: "window:\n  size: 1h\n"},
			want:     []string{"FILE line 1: window must be a single value"},
		},
		{
			name:     "bad duration in YAML",
			loadCase: loadCase{yaml: "freshchat:\n  poll_interval: 2 seconds\n"},
			want: []string{`freshchat.poll_interval (env FRESHCHAT_POLL_INTERVAL): bad value "2 seconds" from ` +
				`FILE line 2: not a duration (examples: 90s, 15m, 2h, 1d, 2w)`},
		},
		{
			name:     "bad duration in env",
			loadCase: loadCase{env: with(map[string]string{"FRESHCHAT_RETRY_MAX": "soon"})},
			want: []string{`freshchat.retry_max (env FRESHCHAT_RETRY_MAX): bad value "soon" from the environment: ` +
				`not a duration (examples: 90s, 15m, 2h, 1d, 2w)`},
		},
		{
			name:     "bad int",
			loadCase: loadCase{env: with(map[string]string{"FRESHCHAT_CONCURRENCY": "four"})},
			want:     []string{`concurrency (env FRESHCHAT_CONCURRENCY): bad value "four" from the environment: not an integer`},
		},
		{
			name:     "int out of range",
			loadCase: loadCase{env: with(map[string]string{"FRESHCHAT_CONCURRENCY": "257"})},
			want:     []string{`concurrency (env FRESHCHAT_CONCURRENCY): bad value "257" from the environment: must be between 1 and 256`},
		},
		{
			name:     "partitions zero",
			loadCase: loadCase{env: with(map[string]string{"KAFKA_PARTITIONS": "0"})},
			want: []string{`kafka.partitions (env KAFKA_PARTITIONS): bad value "0" from the environment: ` +
				`must be -1 (broker default) or between 1 and 2147483647`},
		},
		{
			name:     "bad size",
			loadCase: loadCase{env: with(map[string]string{"KAFKA_CHUNK_BYTES": "16 megs"})},
			want: []string{`kafka.chunk_bytes (env KAFKA_CHUNK_BYTES): bad value "16 megs" from the environment: ` +
				`not a size (examples: 16777216, 16MiB, 8MB, 512KiB)`},
		},
		{
			name:     "window 32d",
			loadCase: loadCase{yaml: "window: 32d\n"},
			want:     []string{`window (env FRESHCHAT_WINDOW): bad value "32d" from FILE line 1: must be at most 31d (744h)`},
		},
		{
			name:     "window zero",
			loadCase: loadCase{env: with(map[string]string{"FRESHCHAT_WINDOW": "0"})},
			want:     []string{`window (env FRESHCHAT_WINDOW): bad value "0" from the environment: must be more than 0`},
		},
		{
			name:     "min_window longer than window",
			loadCase: loadCase{env: with(map[string]string{"FRESHCHAT_WINDOW": "1h", "FRESHCHAT_MIN_WINDOW": "2h"})},
			want:     []string{"min_window (env FRESHCHAT_MIN_WINDOW): 2h0m0s is longer than window (env FRESHCHAT_WINDOW) 1h0m0s"},
		},
		{
			name:     "poll interval longer than its maximum",
			loadCase: loadCase{yaml: "freshchat:\n  poll_interval: 45s\n"},
			want: []string{"freshchat.poll_interval (env FRESHCHAT_POLL_INTERVAL): 45s is longer than " +
				"freshchat.poll_max_interval (env FRESHCHAT_POLL_MAX_INTERVAL) 30s"},
		},
		{
			name:     "start older than 15 months",
			loadCase: loadCase{env: with(map[string]string{"FRESHCHAT_START": "2024-12-01"})},
			want: []string{`start (env FRESHCHAT_START): bad value "2024-12-01" from the environment: ` +
				`2024-12-01T00:00:00Z is earlier than the earliest allowed 2024-12-15T12:00:00Z ` +
				`(Freshchat keeps raw reports for 15 months)`},
		},
		{
			name:     "future start",
			loadCase: loadCase{env: with(map[string]string{"FRESHCHAT_START": "2026-03-16T00:00:00Z"})},
			want: []string{`start (env FRESHCHAT_START): bad value "2026-03-16T00:00:00Z" from the environment: ` +
				`2026-03-16T00:00:00Z is in the future (now is 2026-03-15T12:00:00Z)`},
		},
		{
			name:     "relative start without a sign",
			loadCase: loadCase{env: with(map[string]string{"FRESHCHAT_START": "7d"})},
			want: []string{`start (env FRESHCHAT_START): bad value "7d" from the environment: ` +
				`a relative time needs a sign: -7d means 7d ago`},
		},
		{
			name:     "missing API URL, token and brokers",
			loadCase: loadCase{env: map[string]string{}},
			want: []string{
				"freshchat.api_url (env FRESHCHAT_API_URL): required: set it to the account's API URL, such as https://<domain>.freshchat.com/v2",
				"freshchat.api_token: required: set FRESHCHAT_API_TOKEN, or FRESHCHAT_API_TOKEN_FILE to a file holding the token " +
					"(config keys freshchat.api_token, freshchat.api_token_file)",
				"kafka.brokers (env KAFKA_BROKERS): required: list the Kafka brokers as host:port, comma-separated",
			},
		},
		{
			name: "token file missing",
			loadCase: loadCase{env: map[string]string{
				"FRESHCHAT_API_URL":        "https://api.freshchat.com/v2",
				"FRESHCHAT_API_TOKEN_FILE": "/nonexistent/token",
				"KAFKA_BROKERS":            "localhost:9092",
			}},
			want: []string{`freshchat.api_token_file (env FRESHCHAT_API_TOKEN_FILE): bad value "/nonexistent/token" ` +
				`from the environment: cannot read the token file: open /nonexistent/token: no such file or directory`},
		},
		{
			name:     "token and token file in one source",
			loadCase: loadCase{env: with(map[string]string{"FRESHCHAT_API_TOKEN_FILE": "/nonexistent/token"})},
			want: []string{
				"freshchat.api_token (env FRESHCHAT_API_TOKEN) and freshchat.api_token_file (env FRESHCHAT_API_TOKEN_FILE) " +
					"are both set in the environment: set only one",
				`freshchat.api_token_file (env FRESHCHAT_API_TOKEN_FILE): bad value "/nonexistent/token" ` +
					`from the environment: cannot read the token file: open /nonexistent/token: no such file or directory`,
			},
		},
		{
			name:     "token with whitespace is refused without printing it",
			loadCase: loadCase{env: with(map[string]string{"FRESHCHAT_API_TOKEN": testToken + " x"})},
			want: []string{"freshchat.api_token (env FRESHCHAT_API_TOKEN): bad value [redacted] from the environment: " +
				"must not contain whitespace or control characters"},
		},
		{
			name:     "URL without scheme",
			loadCase: loadCase{env: with(map[string]string{"FRESHCHAT_API_URL": "acme.freshchat.com/v2"})},
			want: []string{`freshchat.api_url (env FRESHCHAT_API_URL): bad value "acme.freshchat.com/v2" from the environment: ` +
				`must be an absolute URL starting with https:// (or http://)`},
		},
		{
			name:     "URL with another scheme",
			loadCase: loadCase{env: with(map[string]string{"FRESHCHAT_API_URL": "ftp://acme.freshchat.com/v2"})},
			want: []string{`freshchat.api_url (env FRESHCHAT_API_URL): bad value "ftp://acme.freshchat.com/v2" from the environment: ` +
				`must be an absolute URL starting with https:// (or http://)`},
		},
		{
			name:     "URL without host",
			loadCase: loadCase{env: with(map[string]string{"FRESHCHAT_API_URL": "https:///v2"})},
			want:     []string{`freshchat.api_url (env FRESHCHAT_API_URL): bad value "https:///v2" from the environment: has no host`},
		},
		{
			name:     "unparseable URL",
			loadCase: loadCase{env: with(map[string]string{"FRESHCHAT_API_URL": "https://acme.freshchat.com:port/v2"})},
			want: []string{`freshchat.api_url (env FRESHCHAT_API_URL): bad value "https://acme.freshchat.com:port/v2" ` +
				`from the environment: not a URL`},
		},
		{
			name:     "URL with credentials hides the password",
			loadCase: loadCase{env: with(map[string]string{"SCHEMA_REGISTRY_URL": "https://user:hunter2@sr.example.com"})},
			want: []string{`schema_registry.url (env SCHEMA_REGISTRY_URL): bad value "https://user:xxxxx@sr.example.com" ` +
				`from the environment: must not contain credentials: set schema_registry.username and schema_registry.password ` +
				`(or schema_registry.password_file) instead`},
		},
		{
			name:     "URL with query hides its values",
			loadCase: loadCase{env: with(map[string]string{"FRESHCHAT_API_URL": "https://acme.freshchat.com/v2?x=1"})},
			want: []string{`freshchat.api_url (env FRESHCHAT_API_URL): bad value "https://acme.freshchat.com/v2?x=xxxxx" ` +
				`from the environment: must not have a query or fragment`},
		},
		{
			name:     "API URL with a token in its query hides the token",
			loadCase: loadCase{env: with(map[string]string{"FRESHCHAT_API_URL": "http://127.0.0.1:28080/v2?token=tok-LEAK-7788"})},
			want: []string{`freshchat.api_url (env FRESHCHAT_API_URL): bad value "http://127.0.0.1:28080/v2?token=xxxxx" ` +
				`from the environment: must not have a query or fragment`},
		},
		{
			name: "registry URL with a password in its query hides every query value",
			loadCase: loadCase{env: with(map[string]string{
				"SCHEMA_REGISTRY_URL": "https://sr.example.com/?user=bob&password=s3cret-LEAK&empty=&tok-LEAK-7788"})},
			want: []string{`schema_registry.url (env SCHEMA_REGISTRY_URL): bad value ` +
				`"https://sr.example.com/?user=xxxxx&password=xxxxx&empty=&xxxxx" from the environment: must not have a query or fragment`},
		},
		{
			name:     "URL from a file with credentials and a query hides both",
			loadCase: loadCase{yaml: "schema_registry:\n  url: https://user:hunter2@sr.example.com/?password=s3cret-LEAK\n"},
			want: []string{`schema_registry.url (env SCHEMA_REGISTRY_URL): bad value "https://user:xxxxx@sr.example.com/?password=xxxxx" ` +
				`from FILE line 2: must not contain credentials: set schema_registry.username and schema_registry.password ` +
				`(or schema_registry.password_file) instead`},
		},
		{
			name:     "unparseable URL with a query hides its values",
			loadCase: loadCase{env: with(map[string]string{"FRESHCHAT_API_URL": "https://acme.freshchat.com:port/v2?token=tok-LEAK-7788"})},
			want: []string{`freshchat.api_url (env FRESHCHAT_API_URL): bad value "https://acme.freshchat.com:port/v2?token=xxxxx" ` +
				`from the environment: not a URL`},
		},
		{
			name:     "URL with a token in its fragment hides the fragment",
			loadCase: loadCase{env: with(map[string]string{"FRESHCHAT_API_URL": "https://acme.freshchat.com/v2?a=1#access_token=tok-LEAK-7788"})},
			want: []string{`freshchat.api_url (env FRESHCHAT_API_URL): bad value "https://acme.freshchat.com/v2?a=xxxxx#xxxxx" ` +
				`from the environment: must not have a query or fragment`},
		},
		{
			name:     "bad brokers",
			loadCase: loadCase{env: with(map[string]string{"KAFKA_BROKERS": "kafka1:9092,kafka2,:9092,kafka3:99999"})},
			want: []string{`kafka.brokers (env KAFKA_BROKERS): bad value "kafka1:9092,kafka2,:9092,kafka3:99999" ` +
				`from the environment: not host:port: "kafka2", ":9092", "kafka3:99999"`},
		},
		{
			name:     "invalid event names are listed",
			loadCase: loadCase{env: with(map[string]string{"FRESHCHAT_EVENTS": "message-sent,Chat Transcript,a/b,classic"})},
			want: []string{`events (env FRESHCHAT_EVENTS): bad value "message-sent,Chat Transcript,a/b,classic" from the environment: ` +
				`invalid event names "Chat Transcript", "a/b": an event name has 1 to 64 letters, digits, '-' or '_'`},
		},
		{
			name:     "topic template without {event}",
			loadCase: loadCase{env: with(map[string]string{"KAFKA_TOPIC_TEMPLATE": "freshchat"})},
			want:     []string{`kafka.topic_template (env KAFKA_TOPIC_TEMPLATE): bad value "freshchat" from the environment: must contain {event}`},
		},
		{
			name:     "topic template giving invalid names",
			loadCase: loadCase{env: with(map[string]string{"KAFKA_TOPIC_TEMPLATE": "freshchat/{event}"})},
			want: []string{`kafka.topic_template (env KAFKA_TOPIC_TEMPLATE): bad value "freshchat/{event}" from the environment: ` +
				`for event Conversation-Created: topic name "freshchat/conversation-created" has '/': ` +
				`only letters, digits, '.', '_' and '-' are allowed`},
		},
		{
			name:     "topic template giving names too long",
			loadCase: loadCase{env: with(map[string]string{"KAFKA_TOPIC_TEMPLATE": strings.Repeat("x", 220) + ".{event}"})},
			want: []string{`kafka.topic_template (env KAFKA_TOPIC_TEMPLATE): bad value "` + strings.Repeat("x", 220) +
				`.{event}" from the environment: for event Conversation-Resolution-Label: topic name "` + strings.Repeat("x", 220) +
				`.conversation-resolution-label" is longer than 249 characters`},
		},
		{
			name:     "checkpoint topic equal to an event topic",
			loadCase: loadCase{env: with(map[string]string{"KAFKA_CHECKPOINT_TOPIC": "freshchat.csat-score"})},
			want:     []string{`kafka.checkpoint_topic (env KAFKA_CHECKPOINT_TOPIC): "freshchat.csat-score" is also the topic of event CSAT-Score`},
		},
		{
			name:     "unknown compression codec",
			loadCase: loadCase{env: with(map[string]string{"KAFKA_COMPRESSION": "brotli"})},
			want:     []string{`kafka.compression (env KAFKA_COMPRESSION): bad value "brotli" from the environment: must be none, gzip, snappy, lz4 or zstd`},
		},
		{
			name:     "bad log level and format",
			loadCase: loadCase{yaml: "log:\n  level: verbose\n  format: xml\n"},
			want: []string{
				`log.level (env LOG_LEVEL): bad value "verbose" from FILE line 2: must be debug, info, warn or error`,
				`log.format (env LOG_FORMAT): bad value "xml" from FILE line 3: must be text or json`,
			},
		},
		{
			name:     "bounded range: from older than 15 months, to in the future",
			loadCase: loadCase{ov: Overrides{From: "2024-01-01", To: "2026-03-15T12:00:01Z"}},
			want: []string{
				`--from "2024-01-01": 2024-01-01T00:00:00Z is earlier than the earliest allowed 2024-12-15T12:00:00Z ` +
					`(Freshchat keeps raw reports for 15 months)`,
				`--to "2026-03-15T12:00:01Z": 2026-03-15T12:00:01Z is in the future (now is 2026-03-15T12:00:00Z)`,
			},
		},
		{
			name:     "bounded range: from not before to",
			loadCase: loadCase{ov: Overrides{From: "2026-03-10", To: "2026-03-09"}},
			want:     []string{"--from 2026-03-10T00:00:00Z must be before --to 2026-03-09T00:00:00Z"},
		},
		{
			name:     "bounded range: unparseable",
			loadCase: loadCase{ov: Overrides{From: "last tuesday"}},
			want: []string{`--from "last tuesday": not a time (use RFC3339 like 2025-01-31T00:00:00Z, a date like ` +
				`2025-01-31 (UTC midnight), a past offset like -72h, -7d or -2w, or now)`},
		},
		{
			name: "every problem is reported together",
			loadCase: loadCase{
				yaml: "freshchat:\n  api_url: ftp://x\n  colour: blue\nwindow: 40d\n",
				env:  map[string]string{"FRESHCHAT_CONCURRENCY": "0", "FRESHCHAT_EVENTS": "no pe"},
				ov:   Overrides{From: "tomorrow"},
			},
			want: []string{
				`FILE line 3: unknown key "freshchat.colour" (known keys under freshchat: api_url, api_token, ` +
					`api_token_file, poll_interval, poll_max_interval, pending_timeout, empty_report_settle, max_submits, request_timeout, ` +
					`retry_base, retry_max, retry_attempts, requests_per_minute, requests_per_day, submits_per_minute)`,
				`freshchat.api_url (env FRESHCHAT_API_URL): bad value "ftp://x" from FILE line 2: ` +
					`must be an absolute URL starting with https:// (or http://)`,
				`events (env FRESHCHAT_EVENTS): bad value "no pe" from the environment: an invalid event name "no pe": ` +
					`an event name has 1 to 64 letters, digits, '-' or '_'`,
				`window (env FRESHCHAT_WINDOW): bad value "40d" from FILE line 4: must be at most 31d (744h)`,
				`concurrency (env FRESHCHAT_CONCURRENCY): bad value "0" from the environment: must be between 1 and 256`,
				"freshchat.api_token: required: set FRESHCHAT_API_TOKEN, or FRESHCHAT_API_TOKEN_FILE to a file holding the token " +
					"(config keys freshchat.api_token, freshchat.api_token_file)",
				"kafka.brokers (env KAFKA_BROKERS): required: list the Kafka brokers as host:port, comma-separated",
				`--from "tomorrow": not a time (use RFC3339 like 2025-01-31T00:00:00Z, a date like ` +
					`2025-01-31 (UTC midnight), a past offset like -72h, -7d or -2w, or now)`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := tt.load(t)
			if err == nil {
				t.Fatalf("Load succeeded, want problems:\n%s", strings.Join(tt.want, "\n"))
			}
			if cfg != nil {
				t.Errorf("Load returned a Config with an error")
			}
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("error is %T, want *Error", err)
			}
			got := replacePath(cerr.Problems)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if err.Error() != strings.Join(cerr.Problems, "\n") {
				t.Errorf("Error() = %q, want the problems one per line", err.Error())
			}
			for _, secret := range []string{testToken, "hunter2", "LEAK"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("a secret appears in the error:\n%s", err)
				}
			}
		})
	}
}
