package config

import (
	"fmt"
	"strings"
)

//go:generate go run ./internal/gendoc ../docs/configuration.md

// section is a part of the configuration reference: the settings whose key
// starts with prefix ("" for the top-level keys).
type section struct {
	prefix, title, intro string
}

// sections lists the reference's parts. A setting belongs to the one with
// the longest matching prefix.
var sections = []section{
	{"freshchat", "Freshchat API", "The account, its token, and how the connector paces, polls and retries its requests. " +
		"With [accounts](#accounts), the API URL and token are each account's, and the request budget is the accounts' default."},
	{"kafka", "Kafka", "The brokers, the topics the connector creates, and its transactions."},
	{"kafka.tls", "Kafka TLS", "TLS to the brokers. Files are read and checked at start."},
	{"kafka.sasl", "Kafka SASL", "Authentication with the brokers; see the README's \"Secure connections\" for examples."},
	{"dead_letter", "Dead letters", "Rows that cannot be converted (such as reopened=maybe)."},
	{"schema_registry", "Schema registry", "The optional Confluent-compatible registry, its credentials and TLS."},
	{"", "Extraction", "Which events, from when, in which windows."},
	{"log", "Logging", ""},
	{"metrics", "Metrics and health", "The HTTP server for /metrics, /healthz, /readyz and /status (and /debug/pprof/ when enabled)."},
	{"group", "Connector group", "How this instance takes part in the group of the connector's running instances, which share the accounts' events between them."},
}

// accountsTitle is the heading of the reference's part on accounts, which
// follows the part of the section with prefix accountsAfter.
const (
	accountsTitle = "Accounts"
	accountsAfter = "freshchat"
)

// sectionOf returns the section a setting key belongs to.
func sectionOf(key string) section {
	best, bestLen := section{}, -1
	for _, s := range sections {
		ok := s.prefix == "" && !strings.Contains(key, ".") || s.prefix != "" && strings.HasPrefix(key, s.prefix+".")
		if ok && len(s.prefix) > bestLen {
			best, bestLen = s, len(s.prefix)
		}
	}
	return best
}

// anchor is the GitHub anchor of a "## title" heading.
func anchor(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(title) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// cell escapes text for a Markdown table cell: a pipe would end the cell
// and a "<" could open an HTML tag (https://<domain>...).
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;").Replace(s)
}

// ReferenceMarkdown renders docs/configuration.md from the settings table:
// how settings are given, then one table per section, in the table's order.
// "go generate ./config" writes it; a test fails when the file differs.
func ReferenceMarkdown() string {
	var b strings.Builder
	b.WriteString(`<!-- Generated from the settings table (config/settings.go) by "go generate ./config". Do not edit. -->

# Configuration reference

Every setting can be given in a YAML file (` + "`connector run --config file.yaml`" + `, see
[config.example.yaml](../config.example.yaml)), overridden by its environment
variable; the bounded range and the event list can also be given as flags
(` + "`--from`, `--to`, `--events`" + `), which win over both. An empty value (an empty
variable, a YAML key with no value) counts as not set. Values are validated
once at start and every problem is reported together, with the setting's key
and variable (exit code 2). Secrets (marked so below) are never printed: not
in logs, errors or the startup summary.

Durations accept ` + "`ms s m h d w`" + ` (` + "`36h`, `7d`" + `); times accept RFC 3339, a date
(UTC midnight) or a past offset (` + "`-7d`" + `), so that a configuration written
today still loads next year.

`)
	// Group consecutive settings of one section, in table order.
	type part struct {
		sec  section
		rows []Setting
	}
	var parts []part
	for _, s := range settings {
		sec := sectionOf(s.Key)
		if len(parts) == 0 || parts[len(parts)-1].sec.title != sec.title {
			parts = append(parts, part{sec: sec})
		}
		parts[len(parts)-1].rows = append(parts[len(parts)-1].rows, s)
	}
	for _, p := range parts {
		fmt.Fprintf(&b, "- [%s](#%s)\n", p.sec.title, anchor(p.sec.title))
		if p.sec.prefix == accountsAfter {
			fmt.Fprintf(&b, "- [%s](#%s)\n", accountsTitle, anchor(accountsTitle))
		}
	}
	for i, p := range parts {
		if i > 0 && parts[i-1].sec.prefix == accountsAfter {
			b.WriteString(accountsMarkdown())
		}
		fmt.Fprintf(&b, "\n## %s\n\n", p.sec.title)
		if p.sec.intro != "" {
			b.WriteString(p.sec.intro + "\n\n")
		}
		b.WriteString("| YAML key | Environment | Default | Meaning |\n|---|---|---|---|\n")
		for _, s := range p.rows {
			def := "—"
			switch {
			case s.Default != "":
				def = s.Default
			case s.defaultDoc != "":
				def = s.defaultDoc
			}
			fmt.Fprintf(&b, "| `%s` | `%s` | `%s` | %s |\n", s.Key, s.Env, def, cell(s.Doc))
		}
	}
	return b.String()
}

// accountsMarkdown renders the reference's part on accounts from the table
// of their keys.
func accountsMarkdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n## %s\n\n", accountsTitle)
	b.WriteString(`One connector can extract several Freshchat accounts. Without ` + "`accounts`" + `, the
[Freshchat API](#freshchat-api) settings and the [extraction](#extraction)
settings describe one account, named ` + "`" + DefaultAccount + "`" + `. With it, each entry is
one account:

` + "```yaml" + `
accounts:
  - name: acme
    api_url: https://acme.freshchat.com/v2
    api_token_file: /run/secrets/acme_token
  - name: globex-eu
    api_url: https://api.eu.freshchat.com/v2
    api_token_file: /run/secrets/globex_eu_token
    events: [Message-Sent, CSAT-Score]
    requests_per_minute: 30
` + "```" + `

Each key takes the values of the top-level setting its meaning names.
An account without ` + "`events`, `start`, `window`" + ` or a request budget takes the
top-level setting; the API URL and token are the account's own, so
` + "`freshchat.api_url`, `freshchat.api_token` and `freshchat.api_token_file`" + ` must
not be set with ` + "`accounts`" + `: move them into an account, and name it
` + "`" + DefaultAccount + "`" + ` to keep the topics, checkpoints and transactional IDs of a
single-account connector. Names and topics are unique: two accounts never
write to one topic (put ` + "`{account}`" + ` in the topic templates). The ` + "`--events`" + `
flag replaces the events of every account.

In the environment, ` + "`" + AccountsEnv + "`" + ` lists the names, comma-separated
(` + "`" + AccountsEnv + `=acme,globex-eu` + "`" + `), and ` + "`" + AccountEnv("<NAME>", "<KEY>") + "`" + ` sets a key of
one, with the name in upper case and ` + "`-`" + ` written ` + "`_`" + `
(` + "`" + AccountEnv("globex-eu", "api_token") + "`" + `). ` + "`" + AccountsEnv + "`" + ` replaces the list of
the file (an account of both keeps the file's keys); a variable overrides its
key in the file, and a variable of an account that is not listed is a
problem.

| Key | Environment | When not set | Meaning |
|---|---|---|---|
`)
	for _, s := range accountSettings {
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s |\n", s.Key, s.Env, cell(s.Unset), cell(s.Doc))
	}
	return b.String()
}
