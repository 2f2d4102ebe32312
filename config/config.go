// Package config turns the connector's configuration text into typed values,
// once, at startup.
//
// Sources, in increasing precedence: the defaults declared in the settings
// table (see Reference), an optional YAML file, environment variables, and the
// flags the caller passes in Overrides. An empty value (an empty environment
// variable, a YAML key with no value) counts as not set. Load reports every
// problem it finds in one *Error.
//
// The Freshchat API token and the Kafka and registry passwords are Secrets:
// they print as "[redacted]" everywhere and are read only through
// Secret.Reveal. Certificate and key files are read and parsed at load; TLS
// prints only the file names.
package config

import (
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/freshstream/freshchat-kafka/schemas"
)

// AllEvents lists the Freshchat raw report events the connector has
// schemas for, in their canonical API spelling. It is the default for the
// events setting.
var AllEvents = schemas.Events()

// Config is the connector's whole configuration, validated and typed.
type Config struct {
	Freshchat      Freshchat
	Kafka          Kafka
	SchemaRegistry SchemaRegistry
	DeadLetter     DeadLetter
	// Events to extract, without duplicates: the known events (AllEvents)
	// in canonical spelling, any other name as written (see UnknownEvents).
	Events []string
	// Start is where extraction begins for an event without a checkpoint.
	Start time.Time
	// Window is the largest window requested in one report.
	Window time.Duration
	// MinWindow: in live mode a window shorter than this is not extracted yet.
	MinWindow time.Duration
	// Settle: in live mode only windows that ended at least this long ago
	// are extracted.
	Settle time.Duration
	// Backfill sizes windows by density and submits reports ahead.
	Backfill Backfill
	// Concurrency is the number of events extracted at once.
	Concurrency int
	// TempDir holds downloads; never empty after Load or Defaults.
	TempDir string
	Log     Log
	Metrics Metrics
	// Bounded is the range given by --from/--to; nil means live mode.
	Bounded *Range
	// Accounts are the Freshchat accounts to extract, in configuration
	// order, with unique names; Load always yields at least one. Without
	// the accounts setting it is the single account named DefaultAccount
	// that Freshchat, Events, Start, Window and Kafka.TopicTemplate describe
	// (see SingleAccount); with it, those fields are the defaults the
	// accounts inherit, and Freshchat.APIURL and the token are unset.
	// Defaults leaves Accounts nil.
	Accounts []Account
	// Group identifies this instance among the connector's instances.
	Group Group
}

// Group configures this instance's membership in the connector's group.
type Group struct {
	// InstanceID is this instance's stable ID in the group (Kafka static
	// membership, KIP-345); Load defaults it to the host name. Defaults
	// leaves it empty.
	InstanceID string
	// SessionTimeout is how long the group waits for an instance that
	// stopped answering before it gives its units to the others.
	SessionTimeout time.Duration
}

// Freshchat configures the Freshchat API client.
type Freshchat struct {
	// APIURL is the API base, such as https://acme.freshchat.com/v2, with
	// no trailing slash.
	APIURL *url.URL
	// APIToken is the bearer token.
	APIToken Secret
	// APITokenFile is the file the token was read from, or "" when the
	// token was given directly.
	APITokenFile    string
	PollInterval    time.Duration
	PollMaxInterval time.Duration
	PendingTimeout  time.Duration
	// EmptyReportSettle: see source.ClientConfig.EmptySettle.
	EmptyReportSettle time.Duration
	MaxSubmits        int
	RequestTimeout    time.Duration
	RetryBase         time.Duration
	RetryMax          time.Duration
	// RetryAttempts is the number of attempts per request, the first included.
	RetryAttempts int
	// RequestsPerMinute paces API requests, shared by all events; 0 means
	// unlimited.
	RequestsPerMinute int
	// RequestsPerDay caps API requests in any 24 hours; 0 means no cap.
	RequestsPerDay int
	// SubmitsPerMinute paces report submits, shared by all events of an
	// account, on top of the request budget; 0 means no pacing of its own.
	SubmitsPerMinute int
}

// Kafka configures the Kafka producer and topics.
type Kafka struct {
	// Brokers are host:port seed brokers.
	Brokers []string
	// TopicTemplate contains "{event}" and may contain "{account}"; see
	// Topic and Account.Topic.
	TopicTemplate string
	// Partitions of topics the connector creates; -1 means the broker default.
	Partitions int32
	// ReplicationFactor of topics the connector creates; -1 means the
	// broker default.
	ReplicationFactor int16
	// TopicConfig holds the topic-level configs (retention.ms, ...) of the
	// topics the connector creates; nil when none is set.
	TopicConfig     map[string]string
	CheckpointTopic string
	// TransactionalID is a prefix: the connector appends the event.
	TransactionalID string
	// ClientID is the client ID of every Kafka client of the process.
	ClientID           string
	TransactionTimeout time.Duration
	// ChunkRows and ChunkBytes bound the rows written in one transaction.
	ChunkRows  int
	ChunkBytes int64
	// Compression is the codec of produced record batches.
	Compression Compression
	// ConnectTimeout is how long the connector keeps retrying unreachable
	// brokers at start before it fails; 0 means it keeps retrying forever.
	ConnectTimeout time.Duration
	// TLS of the broker connections; TLS.Enabled is false for plaintext.
	TLS TLS
	// SASL authenticates the connections; its Mechanism is SASLNone for
	// none.
	SASL SASL
}

// Topic returns the topic for an event of the default account: the template
// with "{event}" replaced by the event name in lower case (Message-Sent ->
// freshchat.message-sent) and "{account}" by DefaultAccount. An account's
// topics are given by Account.Topic.
func (k Kafka) Topic(event string) string {
	return expandTopic(k.TopicTemplate, DefaultAccount, event)
}

// SchemaRegistry configures the optional schema registry.
type SchemaRegistry struct {
	// URL is nil when no registry is used: records are then written with
	// Avro single-object encoding.
	URL *url.URL
	// Username and Password are HTTP basic auth credentials; both are set
	// or neither.
	Username string
	Password Secret
	// PasswordFile is the file the password was read from, or "".
	PasswordFile string
	// TLS is enabled for an https:// URL.
	TLS TLS
}

// Policy says what the connector does with a row it cannot convert.
type Policy string

// The dead-letter policies.
const (
	// PolicyDLQ writes the row to the dead-letter topic and goes on.
	PolicyDLQ Policy = "dlq"
	// PolicyFail stops the connector with an error naming the row.
	PolicyFail Policy = "fail"
)

// DeadLetter configures what happens to rows that cannot be converted.
type DeadLetter struct {
	// Policy applies to every event without an override.
	Policy Policy
	// Topic receives the rows of events whose policy is PolicyDLQ.
	Topic string
	// Overrides maps event names (spelled as in Events) to their own policy;
	// nil when there is none.
	Overrides map[string]Policy
}

// PolicyFor returns the policy of event: its override, else Policy. Event
// names match case-insensitively, as in the events setting.
func (d DeadLetter) PolicyFor(event string) Policy {
	if p, ok := d.Overrides[event]; ok {
		return p
	}
	for e, p := range d.Overrides {
		if strings.EqualFold(e, event) {
			return p
		}
	}
	return d.Policy
}

// UnknownEvents returns the configured events that are not among AllEvents,
// in configuration order; nil when every event is known.
func (c Config) UnknownEvents() []string { return unknownEvents(c.Events) }

// unknownEvents returns the events that are not among AllEvents, in order.
func unknownEvents(events []string) []string {
	var out []string
	for _, e := range events {
		if !isKnownEvent(e) {
			out = append(out, e)
		}
	}
	return out
}

// Log configures logging.
// Metrics configures the HTTP server for metrics and health.
type Metrics struct {
	// Addr is where the server listens; empty means no server.
	Addr string
	// StuckAfter: an event with work to do and no progress for this long
	// makes /readyz fail; 0 disables the check.
	StuckAfter time.Duration
	// Pprof mounts net/http/pprof under /debug/pprof/ on the server.
	Pprof bool
}

type Log struct {
	Level  slog.Level
	Format LogFormat
}

// LogFormat is the log output format.
type LogFormat string

// The log formats.
const (
	LogText LogFormat = "text"
	LogJSON LogFormat = "json"
)

// Range is the bounded extraction range given by --from and --to; From is
// before To and neither is in the future. From is zero when only --to was
// given: each event then goes on from its checkpoint (or the configured
// start) up to To.
type Range struct {
	From, To time.Time
}

// Defaults returns a Config holding every default of the settings table, with
// relative times resolved against now. Settings without a default (API URL,
// token, brokers) are left empty; Defaults does not check for them. What
// Load resolves is left empty too: Accounts (set it with SingleAccount once
// the top-level settings are final) and Group.InstanceID (the host name).
func Defaults(now time.Time) Config {
	now = now.UTC()
	var c Config
	for _, s := range settings {
		if s.Default == "" {
			continue
		}
		if err := s.parse(&c, s.Default, now); err != nil {
			panic("config: default of " + s.Key + " is invalid: " + err.Error())
		}
	}
	if c.TempDir == "" {
		c.TempDir = os.TempDir()
	}
	return c
}
