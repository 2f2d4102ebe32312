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
	{"freshchat", "Freshchat API", "The account, its token, and how the connector paces, polls and retries its requests."},
	{"kafka", "Kafka", "The brokers, the topics the connector creates, and its transactions."},
	{"kafka.tls", "Kafka TLS", "TLS to the brokers. Files are read and checked at start."},
	{"kafka.sasl", "Kafka SASL", "Authentication with the brokers; see the README's \"Secure connections\" for examples."},
	{"dead_letter", "Dead letters", "Rows that cannot be converted (such as reopened=maybe)."},
	{"schema_registry", "Schema registry", "The optional Confluent-compatible registry, its credentials and TLS."},
	{"", "Extraction", "Which events, from when, in which windows."},
	{"log", "Logging", ""},
	{"metrics", "Metrics and health", "The HTTP server for /metrics, /healthz, /readyz and /status (and /debug/pprof/ when enabled)."},
}

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
	}
	for _, p := range parts {
		fmt.Fprintf(&b, "\n## %s\n\n", p.sec.title)
		if p.sec.intro != "" {
			b.WriteString(p.sec.intro + "\n\n")
		}
		b.WriteString("| YAML key | Environment | Default | Meaning |\n|---|---|---|---|\n")
		for _, s := range p.rows {
			def := "—"
			if s.Default != "" {
				def = s.Default
			}
			fmt.Fprintf(&b, "| `%s` | `%s` | `%s` | %s |\n", s.Key, s.Env, def, cell(s.Doc))
		}
	}
	return b.String()
}
