package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// loadProblems loads lc and returns its problems (nil when it loads).
func loadProblems(t *testing.T, lc loadCase) (*Config, []string) {
	t.Helper()
	cfg, err := lc.load(t)
	if err == nil {
		return cfg, nil
	}
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("error is %T, want *Error", err)
	}
	return nil, replacePath(cerr.Problems)
}

// loadWant loads lc. With wantProblem set, loading must fail with exactly
// that one problem, and loadWant returns nil; otherwise lc must load, and
// loadWant returns the configuration.
func loadWant(t *testing.T, lc loadCase, wantProblem string) *Config {
	t.Helper()
	cfg, problems := loadProblems(t, lc)
	if wantProblem != "" {
		if !reflect.DeepEqual(problems, []string{wantProblem}) {
			t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), wantProblem)
		}
		return nil
	}
	if problems != nil {
		t.Fatalf("problems: %s", strings.Join(problems, "\n"))
	}
	return cfg
}

func TestRequestBudget(t *testing.T) {
	tests := []struct {
		name           string
		lc             loadCase
		perMin, perDay int
		wantProblem    string
	}{
		{name: "defaults", lc: loadCase{}, perMin: 60},
		{name: "unlimited", lc: loadCase{env: with(map[string]string{"FRESHCHAT_REQUESTS_PER_MINUTE": "0"})}},
		{name: "env", perMin: 20, perDay: 10000,
			lc: loadCase{env: with(map[string]string{"FRESHCHAT_REQUESTS_PER_MINUTE": "20", "FRESHCHAT_REQUESTS_PER_DAY": "10000"})}},
		{name: "yaml", perMin: 6, perDay: 500,
			lc: loadCase{yaml: "freshchat:\n  requests_per_minute: 6\n  requests_per_day: 500\n"}},
		{name: "negative per minute", lc: loadCase{env: with(map[string]string{"FRESHCHAT_REQUESTS_PER_MINUTE": "-1"})},
			wantProblem: `freshchat.requests_per_minute (env FRESHCHAT_REQUESTS_PER_MINUTE): bad value "-1" from the environment: must be between 0 and 1000000`},
		{name: "per minute too high", lc: loadCase{env: with(map[string]string{"FRESHCHAT_REQUESTS_PER_MINUTE": "1000001"})},
			wantProblem: `freshchat.requests_per_minute (env FRESHCHAT_REQUESTS_PER_MINUTE): bad value "1000001" from the environment: must be between 0 and 1000000`},
		{name: "per day not a number", lc: loadCase{env: with(map[string]string{"FRESHCHAT_REQUESTS_PER_DAY": "1k"})},
			wantProblem: `freshchat.requests_per_day (env FRESHCHAT_REQUESTS_PER_DAY): bad value "1k" from the environment: not an integer`},
		{name: "negative per day", lc: loadCase{yaml: "freshchat:\n  requests_per_day: -5\n"},
			wantProblem: `freshchat.requests_per_day (env FRESHCHAT_REQUESTS_PER_DAY): bad value "-5" from FILE line 2: must be between 0 and 2147483647`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadWant(t, tt.lc, tt.wantProblem)
			if cfg == nil {
				return
			}
			if cfg.Freshchat.RequestsPerMinute != tt.perMin || cfg.Freshchat.RequestsPerDay != tt.perDay {
				t.Errorf("budget %d/min %d/day, want %d/min %d/day",
					cfg.Freshchat.RequestsPerMinute, cfg.Freshchat.RequestsPerDay, tt.perMin, tt.perDay)
			}
		})
	}
}

func TestConnectTimeout(t *testing.T) {
	tests := []struct {
		name        string
		lc          loadCase
		want        time.Duration
		wantProblem string
	}{
		{name: "default: forever", lc: loadCase{}},
		{name: "env", lc: loadCase{env: with(map[string]string{"KAFKA_CONNECT_TIMEOUT": "2m"})}, want: 2 * time.Minute},
		{name: "yaml", lc: loadCase{yaml: "kafka:\n  connect_timeout: 1d\n"}, want: 24 * time.Hour},
		{name: "negative", lc: loadCase{env: with(map[string]string{"KAFKA_CONNECT_TIMEOUT": "-1s"})},
			wantProblem: `kafka.connect_timeout (env KAFKA_CONNECT_TIMEOUT): bad value "-1s" from the environment: must not be negative`},
		{name: "not a duration", lc: loadCase{env: with(map[string]string{"KAFKA_CONNECT_TIMEOUT": "never"})},
			wantProblem: `kafka.connect_timeout (env KAFKA_CONNECT_TIMEOUT): bad value "never" from the environment: ` +
				`not a duration (examples: 90s, 15m, 2h, 1d, 2w)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadWant(t, tt.lc, tt.wantProblem)
			if cfg == nil {
				return
			}
			if cfg.Kafka.ConnectTimeout != tt.want {
				t.Errorf("ConnectTimeout = %v, want %v", cfg.Kafka.ConnectTimeout, tt.want)
			}
		})
	}
}

func TestDeadLetter(t *testing.T) {
	tests := []struct {
		name string
		lc   loadCase
		want DeadLetter
		// policies checks PolicyFor: event -> policy.
		policies map[string]Policy
	}{
		{
			name:     "defaults",
			lc:       loadCase{},
			want:     DeadLetter{Policy: PolicyDLQ, Topic: "freshchat.dlq"},
			policies: map[string]Policy{"Message-Sent": PolicyDLQ, "Chat-Transcript": PolicyDLQ},
		},
		{
			name: "policy and topic from env, case-insensitive policy",
			lc:   loadCase{env: with(map[string]string{"DEAD_LETTER_POLICY": "FAIL", "DEAD_LETTER_TOPIC": "ops.freshchat-rejects"})},
			want: DeadLetter{Policy: PolicyFail, Topic: "ops.freshchat-rejects"},
		},
		{
			name: "overrides from env, names as in events",
			lc: loadCase{env: with(map[string]string{
				"FRESHCHAT_EVENTS":      "all,Chat-Transcript",
				"DEAD_LETTER_OVERRIDES": "message-sent=fail, Chat-Transcript=DLQ,csat-score=fail",
				"DEAD_LETTER_POLICY":    "fail",
			})},
			want: DeadLetter{Policy: PolicyFail, Topic: "freshchat.dlq", Overrides: map[string]Policy{
				"Message-Sent": PolicyFail, "Chat-Transcript": PolicyDLQ, "CSAT-Score": PolicyFail,
			}},
			policies: map[string]Policy{
				"Message-Sent": PolicyFail, "Chat-Transcript": PolicyDLQ, "chat-transcript": PolicyDLQ,
				"Response-Time": PolicyFail,
			},
		},
		{
			name: "overrides as a YAML mapping",
			lc:   loadCase{yaml: "dead_letter:\n  overrides:\n    Message-Sent: fail\n    agent-activity: dlq\n"},
			want: DeadLetter{Policy: PolicyDLQ, Topic: "freshchat.dlq", Overrides: map[string]Policy{
				"Message-Sent": PolicyFail, "Agent-Activity": PolicyDLQ,
			}},
			policies: map[string]Policy{"Message-Sent": PolicyFail, "CSAT-Score": PolicyDLQ},
		},
		{
			name: "overrides as a YAML list",
			lc:   loadCase{yaml: "dead_letter:\n  overrides: [Message-Sent=fail]\n"},
			want: DeadLetter{Policy: PolicyDLQ, Topic: "freshchat.dlq", Overrides: map[string]Policy{"Message-Sent": PolicyFail}},
		},
		{
			name: "env replaces the YAML overrides",
			lc: loadCase{
				yaml: "dead_letter:\n  overrides:\n    Message-Sent: fail\n",
				env:  with(map[string]string{"DEAD_LETTER_OVERRIDES": "CSAT-Score=fail"}),
			},
			want: DeadLetter{Policy: PolicyDLQ, Topic: "freshchat.dlq", Overrides: map[string]Policy{"CSAT-Score": PolicyFail}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, problems := loadProblems(t, tt.lc)
			if problems != nil {
				t.Fatalf("problems: %s", strings.Join(problems, "\n"))
			}
			if !reflect.DeepEqual(cfg.DeadLetter, tt.want) {
				t.Errorf("DeadLetter = %#v, want %#v", cfg.DeadLetter, tt.want)
			}
			for e, want := range tt.policies {
				if got := cfg.DeadLetter.PolicyFor(e); got != want {
					t.Errorf("PolicyFor(%s) = %s, want %s", e, got, want)
				}
			}
		})
	}
}

func TestDeadLetterProblems(t *testing.T) {
	tests := []struct {
		name string
		lc   loadCase
		want []string
	}{
		{
			name: "unknown policy",
			lc:   loadCase{env: with(map[string]string{"DEAD_LETTER_POLICY": "drop"})},
			want: []string{`dead_letter.policy (env DEAD_LETTER_POLICY): bad value "drop" from the environment: must be dlq or fail`},
		},
		{
			name: "invalid topic",
			lc:   loadCase{yaml: "dead_letter:\n  topic: freshchat/dlq\n"},
			want: []string{`dead_letter.topic (env DEAD_LETTER_TOPIC): bad value "freshchat/dlq" from FILE line 2: ` +
				`topic name "freshchat/dlq" has '/': only letters, digits, '.', '_' and '-' are allowed`},
		},
		{
			name: "topic of an event",
			lc:   loadCase{env: with(map[string]string{"DEAD_LETTER_TOPIC": "freshchat.message-sent"})},
			want: []string{`dead_letter.topic (env DEAD_LETTER_TOPIC): "freshchat.message-sent" is also the topic of event Message-Sent`},
		},
		{
			name: "topic of an event the connector does not know",
			lc:   loadCase{env: with(map[string]string{"DEAD_LETTER_TOPIC": "freshchat.chat-transcript", "FRESHCHAT_EVENTS": "Chat-Transcript"})},
			want: []string{`dead_letter.topic (env DEAD_LETTER_TOPIC): "freshchat.chat-transcript" is also the topic of event Chat-Transcript`},
		},
		{
			name: "checkpoint topic",
			lc:   loadCase{env: with(map[string]string{"DEAD_LETTER_TOPIC": "freshchat.checkpoints"})},
			want: []string{`dead_letter.topic (env DEAD_LETTER_TOPIC): "freshchat.checkpoints" is also the checkpoint topic ` +
				`(kafka.checkpoint_topic (env KAFKA_CHECKPOINT_TOPIC))`},
		},
		{
			name: "every bad override at once",
			lc: loadCase{env: with(map[string]string{
				"DEAD_LETTER_OVERRIDES": "Message-Sent,CSAT-Score=drop,all=fail,Chat Transcript=fail,Response-Time=fail,response-time=dlq",
			})},
			want: []string{`dead_letter.overrides (env DEAD_LETTER_OVERRIDES): bad value ` +
				`"Message-Sent,CSAT-Score=drop,all=fail,Chat Transcript=fail,Response-Time=fail,response-time=dlq" from the environment: ` +
				`"Message-Sent" is not Event=policy; CSAT-Score: policy "drop": must be dlq or fail; ` +
				`"all" is not an event here: dead_letter.policy sets the policy of every event; ` +
				`event Response-Time is given twice (first as Response-Time); ` +
				`an invalid event name "Chat Transcript": an event name has 1 to 64 letters, digits, '-' or '_'`},
		},
		{
			name: "override of an event neither known nor extracted",
			lc:   loadCase{env: with(map[string]string{"DEAD_LETTER_OVERRIDES": "Mesage-Sent=fail,Message-Sent=fail"})},
			want: []string{`dead_letter.overrides (env DEAD_LETTER_OVERRIDES): override for Mesage-Sent, which is neither ` +
				`a known event nor listed in events (a misspelt name?)`},
		},
		{
			name: "override given a nested mapping",
			lc:   loadCase{yaml: "dead_letter:\n  overrides:\n    Message-Sent:\n      policy: fail\n"},
			want: []string{`FILE line 2: dead_letter.overrides must be a single value, a list of values or a mapping of single values`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, problems := loadProblems(t, tt.lc)
			if !reflect.DeepEqual(problems, tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestUnknownEvents(t *testing.T) {
	long := strings.Repeat("x", 64)
	tests := []struct {
		name        string
		lc          loadCase
		events      []string
		unknown     []string
		wantProblem string
	}{
		{name: "default: all known", lc: loadCase{}, events: AllEvents},
		{
			name:    "vendor SDK names are kept as written, known ones canonical, case-insensitive duplicates dropped",
			lc:      loadCase{env: with(map[string]string{"FRESHCHAT_EVENTS": "agent-performance, MESSAGE-SENT,classic,Chat-Transcript,chat-transcript,message-sent"})},
			events:  []string{"agent-performance", "Message-Sent", "classic", "Chat-Transcript"},
			unknown: []string{"agent-performance", "classic", "Chat-Transcript"},
		},
		{
			name:    "all plus an unknown event, from the flag",
			lc:      loadCase{ov: Overrides{Events: "all,Chat_Transcript_2"}},
			events:  append(append([]string(nil), AllEvents...), "Chat_Transcript_2"),
			unknown: []string{"Chat_Transcript_2"},
		},
		{
			name:    "64 characters",
			lc:      loadCase{yaml: "events: [" + long + "]\n"},
			events:  []string{long},
			unknown: []string{long},
		},
		{
			name: "65 characters",
			lc:   loadCase{env: with(map[string]string{"FRESHCHAT_EVENTS": long + "x"})},
			wantProblem: `events (env FRESHCHAT_EVENTS): bad value "` + long + `x" from the environment: ` +
				`an invalid event name "` + long + `x": an event name has 1 to 64 letters, digits, '-' or '_'`,
		},
		{
			name: "spaces, slashes and dots",
			lc:   loadCase{ov: Overrides{Events: "Message Sent,a/b,c.d"}},
			wantProblem: `events (env FRESHCHAT_EVENTS): bad value "Message Sent,a/b,c.d" from --events: ` +
				`invalid event names "Message Sent", "a/b", "c.d": an event name has 1 to 64 letters, digits, '-' or '_'`,
		},
		{
			name:        "empty",
			lc:          loadCase{env: with(map[string]string{"FRESHCHAT_EVENTS": ", ,"})},
			wantProblem: `events (env FRESHCHAT_EVENTS): bad value ", ," from the environment: no events listed`,
		},
		{
			name: "topic of an unknown event too long",
			lc: loadCase{env: with(map[string]string{
				"KAFKA_TOPIC_TEMPLATE": strings.Repeat("t", 190) + ".{event}", "FRESHCHAT_EVENTS": "Message-Sent," + long,
			})},
			wantProblem: `events (env FRESHCHAT_EVENTS): for event ` + long + `: topic name "` + strings.Repeat("t", 190) + "." + long +
				`" is longer than 249 characters`,
		},
		{
			name: "checkpoint topic of an unknown event",
			lc:   loadCase{env: with(map[string]string{"FRESHCHAT_EVENTS": "checkpoints", "KAFKA_TOPIC_TEMPLATE": "freshchat.{event}"})},
			wantProblem: `kafka.checkpoint_topic (env KAFKA_CHECKPOINT_TOPIC): "freshchat.checkpoints" is also the topic of ` +
				`event checkpoints`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadWant(t, tt.lc, tt.wantProblem)
			if cfg == nil {
				return
			}
			if !reflect.DeepEqual(cfg.Events, tt.events) {
				t.Errorf("Events = %q, want %q", cfg.Events, tt.events)
			}
			if got := cfg.UnknownEvents(); !reflect.DeepEqual(got, tt.unknown) {
				t.Errorf("UnknownEvents() = %q, want %q", got, tt.unknown)
			}
		})
	}
}

// TestExampleConfigLoads keeps config.example.yaml valid: every key known,
// every value accepted.
func TestExampleConfigLoads(t *testing.T) {
	cfg, err := Load(LoadOptions{
		Path:           "../config.example.yaml",
		Env:            func(k string) (string, bool) { v, ok := baseEnv()[k]; return v, ok },
		Now:            func() time.Time { return now0 },
		RequireAPI:     true,
		RequireBrokers: true,
	})
	if err != nil {
		t.Fatalf("config.example.yaml: %v", err)
	}
	d := Defaults(now0)
	if cfg.Freshchat.RequestsPerMinute != d.Freshchat.RequestsPerMinute || cfg.Kafka.ConnectTimeout != d.Kafka.ConnectTimeout ||
		!reflect.DeepEqual(cfg.DeadLetter, d.DeadLetter) {
		t.Errorf("config.example.yaml does not show the defaults of the new settings: %+v %+v %+v",
			cfg.Freshchat, cfg.Kafka.ConnectTimeout, cfg.DeadLetter)
	}
}
