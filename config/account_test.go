package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Tokens of the accounts in these tests; none may ever be printed.
const (
	acmeToken   = "tok-ACME-5ecr3t"
	globexToken = "tok-GLOBEX-5ecr3t"
)

// brokersOnly is an environment without the top-level API settings, which
// accounts must not be given with.
func brokersOnly(extra map[string]string) map[string]string {
	env := map[string]string{"KAFKA_BROKERS": "localhost:9092"}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// twoAccounts is a file with two accounts; their tokens come from
// twoTokens.
const twoAccounts = `
accounts:
  - name: acme
    api_url: https://acme.freshchat.com
  - name: globex-eu
    api_url: https://api.eu.freshchat.com/v2
`

var twoTokens = map[string]string{
	"FRESHCHAT_ACCOUNT_ACME_API_TOKEN":      acmeToken,
	"FRESHCHAT_ACCOUNT_GLOBEX_EU_API_TOKEN": globexToken,
}

// account is an account as Load yields it with every inherited setting at
// its default.
func account(t *testing.T, name, apiURL, token string) Account {
	t.Helper()
	a := Account{
		Name: name, APIToken: Secret(token), TopicTemplate: "freshchat.{account}.{event}",
		Events: AllEvents, Start: now0.AddDate(0, 0, -7), Window: 24 * time.Hour, RequestsPerMinute: 60,
	}
	if apiURL != "" {
		a.APIURL = mustURL(t, apiURL)
	}
	return a
}

func TestAccounts(t *testing.T) {
	tokenFile := writeFile(t, "acme-token", "\n"+acmeToken+"\n")
	tests := []struct {
		name string
		lc   loadCase
		want func(t *testing.T) []Account
		// topics are the topics of Message-Sent, by account, in order.
		topics []string
	}{
		{
			name: "without accounts: the default account of the top-level settings",
			lc:   loadCase{},
			want: func(t *testing.T) []Account {
				a := account(t, "default", "https://acme.freshchat.com/v2", testToken)
				a.TopicTemplate = "freshchat.{event}"
				return []Account{a}
			},
			topics: []string{"freshchat.message-sent"},
		},
		{
			name: "without accounts, {account} in the template is default",
			lc:   loadCase{env: with(map[string]string{"KAFKA_TOPIC_TEMPLATE": "fc.{account}.{event}"})},
			want: func(t *testing.T) []Account {
				a := account(t, "default", "https://acme.freshchat.com/v2", testToken)
				a.TopicTemplate = "fc.{account}.{event}"
				return []Account{a}
			},
			topics: []string{"fc.default.message-sent"},
		},
		{
			name: "YAML accounts with tokens from the environment",
			lc:   loadCase{yaml: twoAccounts, env: brokersOnly(twoTokens)},
			want: func(t *testing.T) []Account {
				return []Account{
					account(t, "acme", "https://acme.freshchat.com/v2", acmeToken),
					account(t, "globex-eu", "https://api.eu.freshchat.com/v2", globexToken),
				}
			},
			topics: []string{"freshchat.acme.message-sent", "freshchat.globex-eu.message-sent"},
		},
		{
			name: "unset keys inherit the top-level settings, set keys win",
			lc: loadCase{yaml: `
events: [Message-Sent, csat-score]
start: "-3d"
window: 6h
freshchat:
  requests_per_minute: 10
  requests_per_day: 1000
accounts:
  - name: acme
    api_url: https://acme.freshchat.com/v2
    api_token_file: ` + tokenFile + `
  - name: globex-eu
    api_url: https://api.eu.freshchat.com/v2
    topic_template: globex.{event}
    events:
      - agent-activity
      - Chat-Transcript
    start: "-1d"
    window: 2h
    requests_per_minute: 0
    requests_per_day: 50
`, env: brokersOnly(map[string]string{"FRESHCHAT_ACCOUNT_GLOBEX_EU_API_TOKEN": globexToken})},
			want: func(t *testing.T) []Account {
				acme := account(t, "acme", "https://acme.freshchat.com/v2", acmeToken)
				acme.APITokenFile = tokenFile
				acme.Events, acme.Start, acme.Window = []string{"Message-Sent", "CSAT-Score"}, now0.AddDate(0, 0, -3), 6*time.Hour
				acme.RequestsPerMinute, acme.RequestsPerDay = 10, 1000
				globex := account(t, "globex-eu", "https://api.eu.freshchat.com/v2", globexToken)
				globex.TopicTemplate = "globex.{event}"
				globex.Events, globex.Start, globex.Window = []string{"Agent-Activity", "Chat-Transcript"}, now0.AddDate(0, 0, -1), 2*time.Hour
				globex.RequestsPerMinute, globex.RequestsPerDay = 0, 50
				return []Account{acme, globex}
			},
			topics: []string{"freshchat.acme.message-sent", "globex.message-sent"},
		},
		{
			name: "an account named default keeps kafka.topic_template",
			lc: loadCase{yaml: twoAccounts + "  - name: default\n    api_url: https://old.freshchat.com/v2\n",
				env: brokersOnly(with2(twoTokens, "FRESHCHAT_ACCOUNT_DEFAULT_API_TOKEN", testToken))},
			want: func(t *testing.T) []Account {
				d := account(t, "default", "https://old.freshchat.com/v2", testToken)
				d.TopicTemplate = "freshchat.{event}"
				return []Account{
					account(t, "acme", "https://acme.freshchat.com/v2", acmeToken),
					account(t, "globex-eu", "https://api.eu.freshchat.com/v2", globexToken),
					d,
				}
			},
			topics: []string{"freshchat.acme.message-sent", "freshchat.globex-eu.message-sent", "freshchat.message-sent"},
		},
		{
			name: "a kafka.topic_template with {account} is every account's",
			lc: loadCase{yaml: twoAccounts + "kafka:\n  topic_template: prod.{account}.{event}.v1\n",
				env: brokersOnly(twoTokens)},
			want: func(t *testing.T) []Account {
				acme := account(t, "acme", "https://acme.freshchat.com/v2", acmeToken)
				globex := account(t, "globex-eu", "https://api.eu.freshchat.com/v2", globexToken)
				acme.TopicTemplate, globex.TopicTemplate = "prod.{account}.{event}.v1", "prod.{account}.{event}.v1"
				return []Account{acme, globex}
			},
			topics: []string{"prod.acme.message-sent.v1", "prod.globex-eu.message-sent.v1"},
		},
		{
			name: "accounts from the environment alone",
			lc: loadCase{env: brokersOnly(map[string]string{
				"FRESHCHAT_ACCOUNTS":                              " acme, globex-eu ,",
				"FRESHCHAT_ACCOUNT_ACME_API_URL":                  "https://acme.freshchat.com/v2",
				"FRESHCHAT_ACCOUNT_ACME_API_TOKEN_FILE":           tokenFile,
				"FRESHCHAT_ACCOUNT_ACME_EVENTS":                   "message-sent",
				"FRESHCHAT_ACCOUNT_GLOBEX_EU_API_URL":             "https://api.eu.freshchat.com/v2",
				"FRESHCHAT_ACCOUNT_GLOBEX_EU_API_TOKEN":           globexToken,
				"FRESHCHAT_ACCOUNT_GLOBEX_EU_WINDOW":              "1d",
				"FRESHCHAT_ACCOUNT_GLOBEX_EU_START":               "-2w",
				"FRESHCHAT_ACCOUNT_GLOBEX_EU_TOPIC_TEMPLATE":      "eu_{account}_{event}",
				"FRESHCHAT_ACCOUNT_GLOBEX_EU_REQUESTS_PER_MINUTE": "5",
				"FRESHCHAT_ACCOUNT_GLOBEX_EU_REQUESTS_PER_DAY":    "7",
				"FRESHCHAT_ACCOUNT_GLOBEX_EU_EVENTS":              "",
			})},
			want: func(t *testing.T) []Account {
				acme := account(t, "acme", "https://acme.freshchat.com/v2", acmeToken)
				acme.APITokenFile, acme.Events = tokenFile, []string{"Message-Sent"}
				globex := account(t, "globex-eu", "https://api.eu.freshchat.com/v2", globexToken)
				globex.Window, globex.Start, globex.TopicTemplate = 24*time.Hour, now0.AddDate(0, 0, -14), "eu_{account}_{event}"
				globex.RequestsPerMinute, globex.RequestsPerDay = 5, 7
				return []Account{acme, globex}
			},
			topics: []string{"freshchat.acme.message-sent", "eu_globex-eu_message-sent"},
		},
		{
			name: "the environment overrides the file per key; a token replaces the file's token file",
			lc: loadCase{yaml: `
accounts:
  - name: acme
    api_url: https://wrong.freshchat.com/v2
    api_token_file: /nonexistent/token
    window: 6h
    events: Message-Sent
`, env: brokersOnly(map[string]string{
				"FRESHCHAT_ACCOUNT_ACME_API_URL":   "https://acme.freshchat.com/v2",
				"FRESHCHAT_ACCOUNT_ACME_API_TOKEN": acmeToken,
				"FRESHCHAT_ACCOUNT_ACME_WINDOW":    "2h",
			})},
			want: func(t *testing.T) []Account {
				acme := account(t, "acme", "https://acme.freshchat.com/v2", acmeToken)
				acme.Window, acme.Events = 2*time.Hour, []string{"Message-Sent"}
				return []Account{acme}
			},
			topics: []string{"freshchat.acme.message-sent"},
		},
		{
			name: "FRESHCHAT_ACCOUNTS replaces the file's list, keeping the keys of the accounts it names",
			lc: loadCase{yaml: twoAccounts, env: brokersOnly(map[string]string{
				"FRESHCHAT_ACCOUNTS":                    "globex-eu,initech",
				"FRESHCHAT_ACCOUNT_GLOBEX_EU_API_TOKEN": globexToken,
				"FRESHCHAT_ACCOUNT_INITECH_API_URL":     "https://initech.freshchat.com/v2",
				"FRESHCHAT_ACCOUNT_INITECH_API_TOKEN":   acmeToken,
			})},
			want: func(t *testing.T) []Account {
				return []Account{
					account(t, "globex-eu", "https://api.eu.freshchat.com/v2", globexToken),
					account(t, "initech", "https://initech.freshchat.com/v2", acmeToken),
				}
			},
			topics: []string{"freshchat.globex-eu.message-sent", "freshchat.initech.message-sent"},
		},
		{
			name: "--events sets the events of every account",
			lc: loadCase{yaml: twoAccounts + "    events: [CSAT-Score]\n",
				env: brokersOnly(with2(twoTokens, "FRESHCHAT_ACCOUNT_ACME_EVENTS", "Agent-Activity")),
				ov:  Overrides{Events: "message-sent, Chat-Transcript"}},
			want: func(t *testing.T) []Account {
				acme := account(t, "acme", "https://acme.freshchat.com/v2", acmeToken)
				globex := account(t, "globex-eu", "https://api.eu.freshchat.com/v2", globexToken)
				acme.Events = []string{"Message-Sent", "Chat-Transcript"}
				globex.Events = acme.Events
				return []Account{acme, globex}
			},
			topics: []string{"freshchat.acme.message-sent", "freshchat.globex-eu.message-sent"},
		},
		{
			name: "an empty list counts as not set",
			lc:   loadCase{yaml: "accounts: []\n", env: with(map[string]string{"FRESHCHAT_ACCOUNTS": " "})},
			want: func(t *testing.T) []Account {
				a := account(t, "default", "https://acme.freshchat.com/v2", testToken)
				a.TopicTemplate = "freshchat.{event}"
				return []Account{a}
			},
			topics: []string{"freshchat.message-sent"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, problems := loadProblems(t, tt.lc)
			if problems != nil {
				t.Fatalf("problems:\n%s", strings.Join(problems, "\n"))
			}
			if want := tt.want(t); !reflect.DeepEqual(cfg.Accounts, want) {
				t.Errorf("Accounts:\n got %+v\nwant %+v", cfg.Accounts, want)
			}
			var topics []string
			for _, a := range cfg.Accounts {
				topics = append(topics, a.Topic("Message-Sent"))
			}
			if !reflect.DeepEqual(topics, tt.topics) {
				t.Errorf("topics of Message-Sent = %v, want %v", topics, tt.topics)
			}
		})
	}
}

// TestAccountsLeaveTopLevelSettings: with accounts, the top-level settings
// are the accounts' defaults and hold no API URL or token.
func TestAccountsLeaveTopLevelSettings(t *testing.T) {
	cfg, problems := loadProblems(t, loadCase{yaml: twoAccounts + "window: 6h\n", env: brokersOnly(twoTokens)})
	if problems != nil {
		t.Fatal(strings.Join(problems, "\n"))
	}
	if cfg.Freshchat.APIURL != nil || cfg.Freshchat.APIToken != "" || cfg.Window != 6*time.Hour || len(cfg.Events) != len(AllEvents) {
		t.Errorf("top-level settings: %+v, window %s, events %v", cfg.Freshchat, cfg.Window, cfg.Events)
	}
	if got := cfg.Kafka.Topic("Message-Sent"); got != "freshchat.message-sent" {
		t.Errorf("Kafka.Topic = %q", got)
	}
}

func TestAccountsNotRequired(t *testing.T) {
	cfg, err := Load(LoadOptions{
		Path: writeFile(t, "config.yaml", "accounts:\n  - name: acme\n"),
		Env:  func(string) (string, bool) { return "", false },
		Now:  func() time.Time { return now0 },
	})
	if err != nil {
		t.Fatalf("Load without requirements: %v", err)
	}
	if len(cfg.Accounts) != 1 || cfg.Accounts[0].APIURL != nil || cfg.Accounts[0].APIToken != "" {
		t.Errorf("Accounts = %+v", cfg.Accounts)
	}
}

func TestAccountProblems(t *testing.T) {
	tests := []struct {
		name string
		lc   loadCase
		want []string // exact problems; the path of the YAML file is written FILE
	}{
		{
			name: "top-level API settings with accounts",
			lc:   loadCase{yaml: twoAccounts + "freshchat:\n  api_token_file: /nonexistent\n", env: with(twoTokens)},
			want: []string{
				"freshchat.api_url (env FRESHCHAT_API_URL), freshchat.api_token (env FRESHCHAT_API_TOKEN): not allowed with accounts, " +
					"where each account has its own API URL and token: move them into an account (its keys api_url, api_token, " +
					`api_token_file, or FRESHCHAT_ACCOUNT_<NAME>_* variables), naming it "default" to keep the topics and ` +
					"checkpoints of a single-account connector",
			},
		},
		{
			name: "duplicate names in the file",
			lc:   loadCase{yaml: twoAccounts + "  - name: acme\n    api_url: https://other.freshchat.com/v2\n", env: brokersOnly(twoTokens)},
			want: []string{"FILE line 7: accounts[acme] is listed twice (first at line 3): each account needs its own name"},
		},
		{
			name: "duplicate names in the environment",
			lc:   loadCase{yaml: twoAccounts, env: brokersOnly(with2(twoTokens, "FRESHCHAT_ACCOUNTS", "acme,globex-eu,acme"))},
			want: []string{"FRESHCHAT_ACCOUNTS lists acme twice: each account needs its own name"},
		},
		{
			name: "names that share their variables",
			lc:   loadCase{yaml: twoAccounts + "  - name: globex_eu\n", env: brokersOnly(twoTokens)},
			want: []string{"FILE line 7: accounts[globex-eu] and accounts[globex_eu] would share the variables FRESHCHAT_ACCOUNT_GLOBEX_EU_*: rename one"},
		},
		{
			name: "bad names",
			lc: loadCase{yaml: "accounts:\n  - name: Acme\n  - name: a/b\n  - name: -x\n  - name: " + strings.Repeat("x", 64) + "\n",
				env: brokersOnly(nil)},
			want: []string{
				`FILE line 2: accounts[Acme]: bad name "Acme": a name has 1 to 63 lower-case letters, digits, '-' or '_', and starts with a letter or digit`,
				`FILE line 3: accounts[a/b]: bad name "a/b": a name has 1 to 63 lower-case letters, digits, '-' or '_', and starts with a letter or digit`,
				`FILE line 4: accounts[-x]: bad name "-x": a name has 1 to 63 lower-case letters, digits, '-' or '_', and starts with a letter or digit`,
				`FILE line 5: accounts[` + strings.Repeat("x", 64) + `]: bad name "` + strings.Repeat("x", 64) +
					`": a name has 1 to 63 lower-case letters, digits, '-' or '_', and starts with a letter or digit`,
			},
		},
		{
			name: "bad name in the environment",
			lc:   loadCase{env: brokersOnly(map[string]string{"FRESHCHAT_ACCOUNTS": "acme.com"})},
			want: []string{`FRESHCHAT_ACCOUNTS: accounts[acme.com]: bad name "acme.com": a name has 1 to 63 lower-case letters, digits, '-' or '_', and starts with a letter or digit`},
		},
		{
			name: "no entry has a name: no account, no top-level account either",
			lc:   loadCase{yaml: "accounts:\n  - api_url: https://x.freshchat.com/v2\n", env: brokersOnly(nil)},
			want: []string{"FILE line 2: entry 1 of accounts has no name: add name: with the account's name " +
				"(a name has 1 to 63 lower-case letters, digits, '-' or '_', and starts with a letter or digit)"},
		},
		{
			name: "names empty or not a single value",
			lc:   loadCase{yaml: "accounts:\n  - name: ''\n  - name: [a]\n  - name:\n", env: brokersOnly(nil)},
			want: []string{
				"FILE line 2: entry 1 of accounts has no name: add name: with the account's name " +
					"(a name has 1 to 63 lower-case letters, digits, '-' or '_', and starts with a letter or digit)",
				"FILE line 3: the name of entry 2 of accounts must be a single value",
				"FILE line 4: entry 3 of accounts has no name: add name: with the account's name " +
					"(a name has 1 to 63 lower-case letters, digits, '-' or '_', and starts with a letter or digit)",
			},
		},
		{
			name: "entry without a name",
			lc:   loadCase{yaml: twoAccounts + "  - api_url: https://x.freshchat.com/v2\n", env: brokersOnly(twoTokens)},
			want: []string{"FILE line 7: entry 3 of accounts has no name: add name: with the account's name " +
				"(a name has 1 to 63 lower-case letters, digits, '-' or '_', and starts with a letter or digit)"},
		},
		{
			name: "unknown and duplicate keys in an entry",
			lc:   loadCase{yaml: twoAccounts + "    api_toke: x\n    api_url: https://y.freshchat.com/v2\n", env: brokersOnly(twoTokens)},
			want: []string{
				`FILE line 7: unknown key "api_toke" in accounts[globex-eu] (known keys of an account: name, api_url, api_token, ` +
					`api_token_file, topic_template, events, start, window, requests_per_minute, requests_per_day)`,
				`FILE line 8: duplicate key "api_url" in accounts[globex-eu] (first at line 6)`,
			},
		},
		{
			name: "accounts not a list",
			lc:   loadCase{yaml: "accounts:\n  acme:\n    api_url: https://acme.freshchat.com/v2\n", env: brokersOnly(nil)},
			want: []string{"FILE line 1: accounts must be a list with one mapping per account (keys name, api_url, api_token, " +
				"api_token_file, topic_template, events, start, window, requests_per_minute, requests_per_day)"},
		},
		{
			name: "an entry not a mapping, a value not a single value",
			lc:   loadCase{yaml: "accounts:\n  - acme\n  - name: globex\n    window: [1h]\n    events: [a, b]\n", env: brokersOnly(nil)},
			want: []string{
				"FILE line 2: entry 1 of accounts must be a mapping (keys name, api_url, api_token, api_token_file, " +
					"topic_template, events, start, window, requests_per_minute, requests_per_day)",
				"FILE line 4: accounts[globex].window must be a single value",
				"accounts[globex].api_url (env FRESHCHAT_ACCOUNT_GLOBEX_API_URL): required: set the account's API URL, such as https://<domain>.freshchat.com/v2",
				"accounts[globex].api_token: required: set FRESHCHAT_ACCOUNT_GLOBEX_API_TOKEN, or FRESHCHAT_ACCOUNT_GLOBEX_API_TOKEN_FILE " +
					"to a file holding the token (keys api_token, api_token_file of the account)",
			},
		},
		{
			name: "URL and token required for every account",
			lc:   loadCase{yaml: twoAccounts, env: brokersOnly(map[string]string{"FRESHCHAT_ACCOUNT_ACME_API_TOKEN": acmeToken, "FRESHCHAT_ACCOUNT_GLOBEX_EU_API_URL": ""})},
			want: []string{
				"accounts[globex-eu].api_token: required: set FRESHCHAT_ACCOUNT_GLOBEX_EU_API_TOKEN, or FRESHCHAT_ACCOUNT_GLOBEX_EU_API_TOKEN_FILE " +
					"to a file holding the token (keys api_token, api_token_file of the account)",
			},
		},
		{
			name: "missing URL named with its variable",
			lc:   loadCase{env: brokersOnly(map[string]string{"FRESHCHAT_ACCOUNTS": "acme", "FRESHCHAT_ACCOUNT_ACME_API_TOKEN": acmeToken})},
			want: []string{"accounts[acme].api_url (env FRESHCHAT_ACCOUNT_ACME_API_URL): required: set the account's API URL, such as https://<domain>.freshchat.com/v2"},
		},
		{
			name: "token and token file in one entry",
			lc:   loadCase{yaml: twoAccounts + "    api_token: x\n    api_token_file: /nonexistent\n", env: brokersOnly(map[string]string{"FRESHCHAT_ACCOUNT_ACME_API_TOKEN": acmeToken})},
			want: []string{
				"accounts[globex-eu].api_token (env FRESHCHAT_ACCOUNT_GLOBEX_EU_API_TOKEN) and accounts[globex-eu].api_token_file " +
					"(env FRESHCHAT_ACCOUNT_GLOBEX_EU_API_TOKEN_FILE) are both set in the config file: set only one",
				"accounts[globex-eu].api_token_file (env FRESHCHAT_ACCOUNT_GLOBEX_EU_API_TOKEN_FILE): bad value \"/nonexistent\" from FILE line 8: " +
					"cannot read the token file: open /nonexistent: no such file or directory",
			},
		},
		{
			name: "token and token file in the environment",
			lc: loadCase{yaml: twoAccounts, env: brokersOnly(with2(twoTokens, "FRESHCHAT_ACCOUNT_ACME_API_TOKEN_FILE",
				writeFile(t, "token", acmeToken)))},
			want: []string{"accounts[acme].api_token (env FRESHCHAT_ACCOUNT_ACME_API_TOKEN) and accounts[acme].api_token_file " +
				"(env FRESHCHAT_ACCOUNT_ACME_API_TOKEN_FILE) are both set in the environment: set only one"},
		},
		{
			name: "bad values name the account, the key and the source; a token is never shown",
			lc: loadCase{yaml: twoAccounts + "    window: 40d\n    start: 7d\n    requests_per_day: -1\n",
				env: brokersOnly(with2(twoTokens, "FRESHCHAT_ACCOUNT_ACME_API_TOKEN", acmeToken+" x"))},
			want: []string{
				"accounts[acme].api_token (env FRESHCHAT_ACCOUNT_ACME_API_TOKEN): bad value [redacted] from the environment: " +
					"must not contain whitespace or control characters",
				`accounts[globex-eu].start (env FRESHCHAT_ACCOUNT_GLOBEX_EU_START): bad value "7d" from FILE line 8: a relative time needs a sign: -7d means 7d ago`,
				`accounts[globex-eu].window (env FRESHCHAT_ACCOUNT_GLOBEX_EU_WINDOW): bad value "40d" from FILE line 7: must be at most 31d (744h)`,
				`accounts[globex-eu].requests_per_day (env FRESHCHAT_ACCOUNT_GLOBEX_EU_REQUESTS_PER_DAY): bad value "-1" from FILE line 9: must be between 0 and 2147483647`,
			},
		},
		{
			name: "an account's window shorter than min_window",
			lc:   loadCase{yaml: twoAccounts + "    window: 10m\n", env: brokersOnly(twoTokens)},
			want: []string{"min_window (env FRESHCHAT_MIN_WINDOW): 15m0s is longer than accounts[globex-eu].window (env FRESHCHAT_ACCOUNT_GLOBEX_EU_WINDOW) 10m0s"},
		},
		{
			name: "topic template without {event}",
			lc:   loadCase{yaml: twoAccounts + "    topic_template: globex\n", env: brokersOnly(twoTokens)},
			want: []string{`accounts[globex-eu].topic_template (env FRESHCHAT_ACCOUNT_GLOBEX_EU_TOPIC_TEMPLATE): bad value "globex" from FILE line 7: must contain {event}`},
		},
		{
			name: "two accounts writing one topic",
			lc: loadCase{yaml: twoAccounts + "    topic_template: shared.{event}\n",
				env: brokersOnly(with2(twoTokens, "FRESHCHAT_ACCOUNT_ACME_TOPIC_TEMPLATE", "shared.{event}"))},
			want: []string{`accounts[acme] and accounts[globex-eu] would both write event Conversation-Created to topic ` +
				`"shared.conversation-created": give them distinct topic templates, with {account} in topic_template (or in kafka.topic_template)`},
		},
		{
			// other's x{event} and third's xmessage-{event} meet at
			// xmessage-sent.
			name: "two accounts writing one topic for different events",
			lc: loadCase{yaml: "accounts:\n  - name: default\n  - name: other\n    topic_template: x{event}\n    events: [Message-Sent]\n" +
				"  - name: third\n    topic_template: xmessage-{event}\n    events: [Sent]\n",
				env: brokersOnly(accountVars("default", "other", "third"))},
			want: []string{`accounts[other] and accounts[third] would both write events Message-Sent and Sent to topic ` +
				`"xmessage-sent": give them distinct topic templates, with {account} in topic_template (or in kafka.topic_template)`},
		},
		{
			name: "an account's name makes its topics too long",
			// Checked with the name default, the template is valid.
			lc: loadCase{yaml: "kafka:\n  topic_template: " + strings.Repeat("t", 200) + ".{account}.{event}\n" +
				"accounts:\n  - name: " + strings.Repeat("n", 63) + "\n", env: brokersOnly(accountVars(strings.Repeat("n", 63)))},
			want: []string{"accounts[" + strings.Repeat("n", 63) + "].topic_template (env FRESHCHAT_ACCOUNT_" + strings.Repeat("N", 63) +
				"_TOPIC_TEMPLATE): for event Conversation-Created: topic name \"" + strings.Repeat("t", 200) + "." + strings.Repeat("n", 63) +
				".conversation-created\" is longer than 249 characters"},
		},
		{
			name: "checkpoint and dead-letter topics of an account",
			lc: loadCase{yaml: twoAccounts, env: brokersOnly(with2(with2(twoTokens,
				"KAFKA_CHECKPOINT_TOPIC", "freshchat.acme.csat-score"), "DEAD_LETTER_TOPIC", "freshchat.globex-eu.message-sent"))},
			want: []string{
				`kafka.checkpoint_topic (env KAFKA_CHECKPOINT_TOPIC): "freshchat.acme.csat-score" is also the topic of event CSAT-Score of accounts[acme]`,
				`dead_letter.topic (env DEAD_LETTER_TOPIC): "freshchat.globex-eu.message-sent" is also the topic of event Message-Sent of accounts[globex-eu]`,
			},
		},
		{
			name: "a dead-letter override of an event only one account extracts is no misspelling",
			lc: loadCase{yaml: twoAccounts + "    events: [Message-Sent, Chat-Transcript]\ndead_letter:\n  overrides: {Chat-Transcript: fail, Chat-Transcrpt: fail}\n",
				env: brokersOnly(twoTokens)},
			want: []string{"dead_letter.overrides (env DEAD_LETTER_OVERRIDES): override for Chat-Transcrpt, which is neither a known event nor listed in events (a misspelt name?)"},
		},
		{
			name: "a variable of an account not listed",
			lc:   loadCase{yaml: twoAccounts, env: brokersOnly(with2(twoTokens, "FRESHCHAT_ACCOUNT_INITECH_API_URL", "https://x.freshchat.com"))},
			want: []string{"FRESHCHAT_ACCOUNT_INITECH_API_URL: no listed account is named INITECH (the accounts are acme, globex-eu): " +
				"list it in FRESHCHAT_ACCOUNTS or in accounts of the config file, or correct the name (upper case, '-' written '_')"},
		},
		{
			name: "a variable of an account left out by FRESHCHAT_ACCOUNTS",
			lc:   loadCase{yaml: twoAccounts, env: brokersOnly(with2(twoTokens, "FRESHCHAT_ACCOUNTS", "globex-eu"))},
			want: []string{"FRESHCHAT_ACCOUNT_ACME_API_TOKEN: no listed account is named ACME (the accounts are globex-eu): " +
				"list it in FRESHCHAT_ACCOUNTS or in accounts of the config file, or correct the name (upper case, '-' written '_')"},
		},
		{
			name: "a variable of an account without accounts",
			lc:   loadCase{env: with(map[string]string{"FRESHCHAT_ACCOUNT_DEFAULT_API_TOKEN_FILE": "/x", "FRESHCHAT_ACCOUNT_X_WINDOW": ""})},
			want: []string{"FRESHCHAT_ACCOUNT_DEFAULT_API_TOKEN_FILE: no accounts are listed: list the account in FRESHCHAT_ACCOUNTS or in " +
				"accounts of the config file (a single account is set with the freshchat settings, such as FRESHCHAT_API_URL)"},
		},
		{
			name: "a misspelt key in a variable",
			lc:   loadCase{yaml: twoAccounts, env: brokersOnly(with2(twoTokens, "FRESHCHAT_ACCOUNT_ACME_TOKEN", acmeToken))},
			want: []string{"FRESHCHAT_ACCOUNT_ACME_TOKEN: not a variable of an account: they are FRESHCHAT_ACCOUNT_<NAME>_<KEY>, KEY one of " +
				"API_URL, API_TOKEN, API_TOKEN_FILE, TOPIC_TEMPLATE, EVENTS, START, WINDOW, REQUESTS_PER_MINUTE, REQUESTS_PER_DAY"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, problems := loadProblems(t, tt.lc)
			if cfg != nil {
				t.Fatalf("Load succeeded, want problems:\n%s", strings.Join(tt.want, "\n"))
			}
			if !reflect.DeepEqual(problems, tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(tt.want, "\n"))
			}
			for _, secret := range []string{testToken, acmeToken, globexToken} {
				if strings.Contains(strings.Join(problems, "\n"), secret) {
					t.Errorf("a token appears in the problems")
				}
			}
		})
	}
}

// accountVars sets the API URL and token of the named accounts.
func accountVars(names ...string) map[string]string {
	env := map[string]string{}
	for _, n := range names {
		env[AccountEnv(n, "api_url")] = "https://" + n + ".freshchat.com/v2"
		env[AccountEnv(n, "api_token")] = "tok-" + n
	}
	return env
}

// with2 returns env with one more variable.
func with2(env map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for k, v := range env {
		if _, set := out[k]; !set {
			out[k] = v
		}
	}
	return out
}

func TestAccountTokensNeverPrinted(t *testing.T) {
	cfg, problems := loadProblems(t, loadCase{yaml: twoAccounts, env: brokersOnly(twoTokens)})
	if problems != nil {
		t.Fatal(strings.Join(problems, "\n"))
	}
	var outputs []string
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		outputs = append(outputs, fmt.Sprintf(f, cfg), fmt.Sprintf(f, *cfg), fmt.Sprintf(f, cfg.Accounts), fmt.Sprintf(f, cfg.Accounts[0]))
	}
	forms, logged := printedForms(t, cfg, "account", cfg.Accounts[1])
	outputs = append(outputs, forms...)
	for _, out := range outputs {
		for _, tok := range []string{acmeToken, globexToken} {
			if strings.Contains(out, tok) {
				t.Errorf("a token appears in %s", out)
			}
		}
	}
	for _, want := range []string{
		"config.accounts.acme.api_token=[redacted]",
		"config.accounts.globex-eu.api_url=https://api.eu.freshchat.com/v2",
		`"globex-eu":{"api_url":"https://api.eu.freshchat.com/v2","api_token":"[redacted]"`,
		"config.group.instance_id=" + testHost,
	} {
		if !strings.Contains(logged, want) {
			t.Errorf("slog output lacks %s:\n%s", want, logged)
		}
	}
}

func TestGroup(t *testing.T) {
	tests := []struct {
		name     string
		lc       loadCase
		want     Group
		problems []string
	}{
		{name: "defaults: the host name, 30s", lc: loadCase{}, want: Group{InstanceID: testHost, SessionTimeout: 30 * time.Second}},
		{name: "from the file", lc: loadCase{yaml: "group:\n  instance_id: connector-0\n  session_timeout: 10s\n"},
			want: Group{InstanceID: "connector-0", SessionTimeout: 10 * time.Second}},
		{name: "the environment wins; no host name needed",
			lc: loadCase{yaml: "group:\n  instance_id: connector-0\n", env: with(map[string]string{"GROUP_INSTANCE_ID": "pod-7", "GROUP_SESSION_TIMEOUT": "5m"}),
				hostname: func() (string, error) { return "", errors.New("no host name") }},
			want: Group{InstanceID: "pod-7", SessionTimeout: 5 * time.Minute}},
		{name: "bounds of the session timeout", lc: loadCase{yaml: "group:\n  session_timeout: 5s\n", env: with(map[string]string{"GROUP_SESSION_TIMEOUT": "6m"})},
			problems: []string{`group.session_timeout (env GROUP_SESSION_TIMEOUT): bad value "6m" from the environment: must be between 6s and 5m`}},
		{name: "short session timeout", lc: loadCase{yaml: "group:\n  session_timeout: 5s\n"},
			problems: []string{`group.session_timeout (env GROUP_SESSION_TIMEOUT): bad value "5s" from FILE line 2: must be between 6s and 5m`}},
		{name: "bad instance ID", lc: loadCase{env: with(map[string]string{"GROUP_INSTANCE_ID": "pod 7"})},
			problems: []string{`group.instance_id (env GROUP_INSTANCE_ID): bad value "pod 7" from the environment: has ' ': only letters, digits, '.', '_' and '-' are allowed`}},
		{name: "no host name", lc: loadCase{hostname: func() (string, error) { return "", errors.New("uname failed") }},
			problems: []string{`group.instance_id (env GROUP_INSTANCE_ID): the default, the host name "", cannot be used: uname failed: set an ID unique to this instance, such as the pod name`}},
		{name: "a host name Kafka refuses", lc: loadCase{hostname: func() (string, error) { return "..", nil }},
			problems: []string{`group.instance_id (env GROUP_INSTANCE_ID): the default, the host name "..", cannot be used: ".." is not a valid ID: set an ID unique to this instance, such as the pod name`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, problems := loadProblems(t, tt.lc)
			if !reflect.DeepEqual(problems, tt.problems) {
				t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(tt.problems, "\n"))
			}
			if cfg != nil && cfg.Group != tt.want {
				t.Errorf("Group = %+v, want %+v", cfg.Group, tt.want)
			}
		})
	}
	if h, err := os.Hostname(); err == nil {
		cfg, err := Load(LoadOptions{Env: func(string) (string, bool) { return "", false }})
		if err != nil || cfg.Group.InstanceID != h {
			t.Errorf("without Hostname, instance ID = %q, %v; want the host name %q", cfg.Group.InstanceID, err, h)
		}
	}
}

func TestAccountEnv(t *testing.T) {
	for _, tt := range []struct{ name, key, want string }{
		{"globex-eu", "api_token", "FRESHCHAT_ACCOUNT_GLOBEX_EU_API_TOKEN"},
		{"acme", "requests_per_day", "FRESHCHAT_ACCOUNT_ACME_REQUESTS_PER_DAY"},
		{"a_1", "api_token_file", "FRESHCHAT_ACCOUNT_A_1_API_TOKEN_FILE"},
	} {
		if got := AccountEnv(tt.name, tt.key); got != tt.want {
			t.Errorf("AccountEnv(%q, %q) = %q, want %q", tt.name, tt.key, got, tt.want)
		}
	}
	ref := AccountReference()
	if len(ref) != 10 || ref[0].Key != "name" || ref[0].Env != AccountsEnv {
		t.Fatalf("AccountReference = %+v", ref)
	}
	for _, s := range ref[1:] {
		if _, ok := findSetting(s.Setting); !ok || s.Doc == "" || s.Unset == "" || s.Env != AccountEnv("<NAME>", s.Key) {
			t.Errorf("incomplete account key %+v", s)
		}
	}
	ref[0].Key = "changed"
	if AccountReference()[0].Key == "changed" {
		t.Error("AccountReference exposes the table itself")
	}
}

// TestExampleAccountsLoad: the commented accounts of config.example.yaml,
// uncommented, load as their comments say.
func TestExampleAccountsLoad(t *testing.T) {
	b, err := os.ReadFile("../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var block []string
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case line == "# accounts:":
			block = append(block, "accounts:")
		case len(block) > 0 && strings.HasPrefix(line, "#   "):
			block = append(block, strings.TrimPrefix(line, "# "))
		case len(block) > 0:
			goto done
		}
	}
done:
	if len(block) < 3 {
		t.Fatalf("config.example.yaml has no commented accounts example")
	}
	cfg, problems := loadProblems(t, loadCase{yaml: strings.Join(block, "\n") + "\n", env: brokersOnly(map[string]string{
		// Tokens from variables replace the example's token files.
		"FRESHCHAT_ACCOUNT_ACME_API_TOKEN":      acmeToken,
		"FRESHCHAT_ACCOUNT_GLOBEX_EU_API_TOKEN": globexToken,
	})})
	if problems != nil {
		t.Fatalf("the accounts of config.example.yaml:\n%s\n%s", strings.Join(block, "\n"), strings.Join(problems, "\n"))
	}
	if len(cfg.Accounts) != 2 || cfg.Accounts[0].Topic("Message-Sent") != "freshchat.acme.message-sent" ||
		cfg.Accounts[1].Topic("Message-Sent") != "globex.message-sent" {
		t.Errorf("Accounts = %+v", cfg.Accounts)
	}
}

func TestAllAccounts(t *testing.T) {
	cfg := Defaults(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	if all := cfg.AllAccounts(); len(all) != 1 || all[0].Name != DefaultAccount {
		t.Fatalf("a Config built by hand: AllAccounts = %v, want the single account", all)
	}
	cfg.Accounts = []Account{{Name: "eu"}, {Name: "us"}}
	if all := cfg.AllAccounts(); !reflect.DeepEqual(all, cfg.Accounts) {
		t.Fatalf("AllAccounts = %v, want Accounts", all)
	}
}
