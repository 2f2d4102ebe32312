package config

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/freshstream/freshchat-kafka/source"
)

// Setting describes one configuration setting, for documentation: the README
// configuration reference is generated from Reference.
type Setting struct {
	// Key is the setting's path in the YAML file, such as "kafka.brokers".
	Key string
	// Env is the environment variable, such as "KAFKA_BROKERS".
	Env string
	// Default is the default as it would be written; "" means none.
	Default string
	// Doc says what the setting does and which values it accepts.
	Doc string

	parse   func(c *Config, v string, now time.Time) error
	list    bool                  // YAML may give a sequence, joined with commas
	mapping bool                  // YAML may give a mapping, read as key=value pairs joined with commas
	group   string                // settings of one group replace each other
	secret  bool                  // the value is never printed
	show    func(v string) string // prints a value in a problem; nil: quoted
	// defaultDoc describes a default that Load resolves (such as the host
	// name), for the reference; Default is then "".
	defaultDoc string
}

// Reference returns every setting, in documentation order.
func Reference() []Setting {
	out := make([]Setting, len(settings))
	copy(out, settings)
	return out
}

// display prints a raw value of s for a problem message.
func (s Setting) display(v string) string {
	switch {
	case s.secret:
		return redacted
	case s.show != nil:
		return s.show(v)
	}
	return strconv.Quote(v)
}

// name is how problems name s.
func (s Setting) name() string { return s.Key + " (env " + s.Env + ")" }

// Groups of settings that replace each other.
const (
	tokenGroup            = "api_token"
	kafkaPasswordGroup    = "kafka_sasl_password"
	oauthTokenGroup       = "kafka_sasl_oauth_token"
	registryPasswordGroup = "schema_registry_password"
)

func kafkaTLS(c *Config) *TLS    { return &c.Kafka.TLS }
func registryTLS(c *Config) *TLS { return &c.SchemaRegistry.TLS }

// settings declares every setting, once: the TLS settings of the brokers
// and of the registry are one declaration (tlsSettings) made for each.
var settings = slices.Concat([]Setting{
	{
		Key: "freshchat.api_url", Env: "FRESHCHAT_API_URL",
		Doc: "Freshchat API base URL, required: https://<domain>.freshchat.com/v2, https://api.freshchat.com/v2, " +
			"https://api.{eu,in,au}.freshchat.com/v2 or https://<org>.myfreshworks.com/v2; http:// is accepted " +
			"(simulator). /v2 is appended when the URL has no path.",
		parse: func(c *Config, v string, _ time.Time) error {
			u, err := parseAPIURL(v)
			c.Freshchat.APIURL = u
			return err
		},
		show: showURL,
	},
	{
		Key: "freshchat.api_token", Env: "FRESHCHAT_API_TOKEN",
		Doc:   "Freshchat API token (secret). Set this or freshchat.api_token_file, not both.",
		group: tokenGroup, secret: true,
		parse: func(c *Config, v string, _ time.Time) error {
			if err := checkToken(v); err != nil {
				return err
			}
			c.Freshchat.APIToken, c.Freshchat.APITokenFile = Secret(v), ""
			return nil
		},
	},
	{
		Key: "freshchat.api_token_file", Env: "FRESHCHAT_API_TOKEN_FILE",
		Doc:   "File holding the Freshchat API token; surrounding whitespace is trimmed. Set this or freshchat.api_token, not both.",
		group: tokenGroup,
		parse: func(c *Config, v string, _ time.Time) error {
			b, err := os.ReadFile(v)
			if err != nil {
				return fmt.Errorf("cannot read the token file: %w", err)
			}
			tok := strings.TrimSpace(string(b))
			if tok == "" {
				return errors.New("the token file is empty")
			}
			if err := checkToken(tok); err != nil {
				return fmt.Errorf("the token in the file %w", err)
			}
			c.Freshchat.APIToken, c.Freshchat.APITokenFile = Secret(tok), v
			return nil
		},
	},
	{
		Key: "freshchat.poll_interval", Env: "FRESHCHAT_POLL_INTERVAL", Default: durationText(source.DefaultPollInterval),
		Doc:   "First wait between polls of a pending report; the wait grows up to freshchat.poll_max_interval.",
		parse: durationField(func(c *Config) *time.Duration { return &c.Freshchat.PollInterval }, positive),
	},
	{
		Key: "freshchat.poll_max_interval", Env: "FRESHCHAT_POLL_MAX_INTERVAL", Default: durationText(source.DefaultPollMaxInterval),
		Doc:   "Longest wait between polls of a pending report.",
		parse: durationField(func(c *Config) *time.Duration { return &c.Freshchat.PollMaxInterval }, positive),
	},
	{
		Key: "freshchat.pending_timeout", Env: "FRESHCHAT_PENDING_TIMEOUT", Default: durationText(source.DefaultPendingTimeout),
		Doc:   "How long a submitted report may stay pending before it is submitted again.",
		parse: durationField(func(c *Config) *time.Duration { return &c.Freshchat.PendingTimeout }, positive),
	},
	{
		Key: "freshchat.empty_report_settle", Env: "FRESHCHAT_EMPTY_REPORT_SETTLE", Default: durationText(source.DefaultEmptySettle),
		Doc:   "A report that answers COMPLETED without any download link is taken as an empty window only once it has answered so at least three times over this long (its files may not be attached yet); a report whose links come later than this would be taken as empty.",
		parse: durationField(func(c *Config) *time.Duration { return &c.Freshchat.EmptyReportSettle }, positive),
	},
	{
		Key: "freshchat.max_submits", Env: "FRESHCHAT_MAX_SUBMITS", Default: strconv.Itoa(source.DefaultMaxSubmits),
		Doc:   "How many reports may be submitted for one window, counted across restarts, before the connector gives up with an error (at least 1).",
		parse: intField(func(c *Config) *int { return &c.Freshchat.MaxSubmits }, 1, math.MaxInt32),
	},
	{
		Key: "freshchat.request_timeout", Env: "FRESHCHAT_REQUEST_TIMEOUT", Default: durationText(source.DefaultStallTimeout),
		Doc:   "An API request without a complete answer, or a download that receives no byte, for this long is abandoned and retried (large downloads may take longer as long as bytes flow).",
		parse: durationField(func(c *Config) *time.Duration { return &c.Freshchat.RequestTimeout }, positive),
	},
	{
		Key: "freshchat.retry_base", Env: "FRESHCHAT_RETRY_BASE", Default: durationText(source.DefaultRetryBase),
		Doc:   "First backoff after a failed request (429, 5xx, network error); doubles up to freshchat.retry_max.",
		parse: durationField(func(c *Config) *time.Duration { return &c.Freshchat.RetryBase }, positive),
	},
	{
		Key: "freshchat.retry_max", Env: "FRESHCHAT_RETRY_MAX", Default: durationText(source.DefaultRetryMax),
		Doc:   "Longest backoff between retries.",
		parse: durationField(func(c *Config) *time.Duration { return &c.Freshchat.RetryMax }, positive),
	},
	{
		Key: "freshchat.retry_attempts", Env: "FRESHCHAT_RETRY_ATTEMPTS", Default: strconv.Itoa(source.DefaultRetryAttempts),
		Doc:   "Attempts per request, the first included (at least 1).",
		parse: intField(func(c *Config) *int { return &c.Freshchat.RetryAttempts }, 1, math.MaxInt32),
	},
	{
		Key: "freshchat.requests_per_minute", Env: "FRESHCHAT_REQUESTS_PER_MINUTE", Default: "60",
		Doc: "Most API requests per minute, shared by all events (submits and polls; downloads do not count), " +
			"paced evenly; 0 means unlimited. A 429 answer pauses every request for its Retry-After and never fails the run.",
		parse: intField(func(c *Config) *int { return &c.Freshchat.RequestsPerMinute }, 0, maxRequestsPerMinute),
	},
	{
		Key: "freshchat.requests_per_day", Env: "FRESHCHAT_REQUESTS_PER_DAY", Default: "0",
		Doc: "Most API requests in any 24 hours; once reached, requests wait until the window frees (the log says " +
			"when they resume) instead of failing. 0 means no cap.",
		parse: intField(func(c *Config) *int { return &c.Freshchat.RequestsPerDay }, 0, math.MaxInt32),
	},
	{
		Key: "freshchat.submits_per_minute", Env: "FRESHCHAT_SUBMITS_PER_MINUTE", Default: "1",
		Doc: "Most reports submitted per minute, shared by all events of an account, paced evenly on top of " +
			"freshchat.requests_per_minute: a backfill's length is mostly submits times this pace (connector plan says how long). " +
			"Reports needed now go before those submitted ahead, the earliest window first. 0 means submits are paced by " +
			"freshchat.requests_per_minute alone.",
		parse: intField(func(c *Config) *int { return &c.Freshchat.SubmitsPerMinute }, 0, maxRequestsPerMinute),
	},
	{
		Key: "kafka.brokers", Env: "KAFKA_BROKERS",
		Doc:  "Comma-separated host:port seed brokers (a YAML list is accepted too); required to run.",
		list: true,
		parse: func(c *Config, v string, _ time.Time) error {
			b, err := parseBrokers(v)
			c.Kafka.Brokers = b
			return err
		},
	},
	{
		Key: "kafka.connect_timeout", Env: "KAFKA_CONNECT_TIMEOUT", Default: "0",
		Doc:   "How long the connector keeps retrying unreachable brokers at start before it fails; 0 means it keeps retrying forever.",
		parse: durationField(func(c *Config) *time.Duration { return &c.Kafka.ConnectTimeout }, nonNegative),
	},
	{
		Key: "kafka.topic_template", Env: "KAFKA_TOPIC_TEMPLATE", Default: "freshchat.{event}",
		Doc: "Topic of each event; {event} is replaced by the event name in lower case (Message-Sent -> " +
			"freshchat.message-sent) and {account} by the account's name (default, without accounts). Must contain " +
			"{event} and give valid topic names ([a-zA-Z0-9._-], at most 249).",
		parse: func(c *Config, v string, _ time.Time) error {
			if err := checkTopicTemplate(v); err != nil {
				return err
			}
			c.Kafka.TopicTemplate = v
			return nil
		},
	},
	{
		Key: "kafka.partitions", Env: "KAFKA_PARTITIONS", Default: "-1",
		Doc:   "Partitions of the topics the connector creates; -1 means the broker default.",
		parse: intField(func(c *Config) *int32 { return &c.Kafka.Partitions }, -1, math.MaxInt32),
	},
	{
		Key: "kafka.replication_factor", Env: "KAFKA_REPLICATION_FACTOR", Default: "-1",
		Doc:   "Replication factor of the topics the connector creates; -1 means the broker default.",
		parse: intField(func(c *Config) *int16 { return &c.Kafka.ReplicationFactor }, -1, math.MaxInt16),
	},
	{
		Key: "kafka.topic_config", Env: "KAFKA_TOPIC_CONFIG",
		Doc: "Topic-level configs of the topics the connector creates, the event topics and dead_letter.topic: " +
			"comma-separated name=value pairs such as retention.ms=604800000,min.insync.replicas=2 (a YAML mapping is " +
			"accepted too); a part without = continues the previous value, so list values keep their commas. The brokers " +
			"check names and values when they create a topic; existing topics are left as they are (change them with " +
			"kafka-configs). cleanup.policy=compact is refused: it would keep only the last record of each key. The " +
			"checkpoint topic takes the same configs, except cleanup.policy: it is always compacted.",
		list: true, mapping: true,
		parse: func(c *Config, v string, _ time.Time) error {
			m, err := parseTopicConfig(v)
			c.Kafka.TopicConfig = m
			return err
		},
	},
	{
		Key: "kafka.checkpoint_topic", Env: "KAFKA_CHECKPOINT_TOPIC", Default: "freshchat.checkpoints",
		Doc: "Topic holding the connector's checkpoints, written in the same transaction as the rows.",
		parse: func(c *Config, v string, _ time.Time) error {
			if err := checkTopic(v); err != nil {
				return err
			}
			c.Kafka.CheckpointTopic = v
			return nil
		},
	},
	{
		Key: "kafka.transactional_id", Env: "KAFKA_TRANSACTIONAL_ID", Default: "freshchat-connector",
		Doc: "Prefix of the Kafka transactional IDs; the connector appends the event. Two connectors writing " +
			"the same topics must not share it.",
		parse: func(c *Config, v string, _ time.Time) error {
			c.Kafka.TransactionalID = v
			return nil
		},
	},
	{
		Key: "kafka.client_id", Env: "KAFKA_CLIENT_ID", Default: "freshchat-connector",
		Doc: "Client ID every Kafka client of the connector sends, as is: what broker quotas (client-id quotas), " +
			"request logs and the brokers' metrics name it by. connector status tells instances apart by their host.",
		parse: func(c *Config, v string, _ time.Time) error {
			if err := checkClientID(v); err != nil {
				return err
			}
			c.Kafka.ClientID = v
			return nil
		},
	},
	{
		Key: "kafka.transaction_timeout", Env: "KAFKA_TRANSACTION_TIMEOUT", Default: "60s",
		Doc: "Kafka transaction timeout; must not exceed the brokers' transaction.max.timeout.ms " +
			"(15m by default).",
		parse: durationField(func(c *Config) *time.Duration { return &c.Kafka.TransactionTimeout }, positive),
	},
	{
		Key: "kafka.chunk_rows", Env: "KAFKA_CHUNK_ROWS", Default: "10000",
		Doc:   "Most rows written in one transaction (1 to 1000000).",
		parse: intField(func(c *Config) *int { return &c.Kafka.ChunkRows }, 1, 1_000_000),
	},
	{
		Key: "kafka.chunk_bytes", Env: "KAFKA_CHUNK_BYTES", Default: "16MiB",
		Doc: "Most encoded bytes written in one transaction: an integer or a size such as 16MiB, 8MB, 512KiB (at most 1GiB).",
		parse: func(c *Config, v string, _ time.Time) error {
			n, err := parseSize(v)
			if err != nil {
				return err
			}
			if n < 1 || n > 1<<30 {
				return errors.New("must be between 1 and 1GiB")
			}
			c.Kafka.ChunkBytes = n
			return nil
		},
	},
	{
		Key: "kafka.compression", Env: "KAFKA_COMPRESSION", Default: string(CompressionSnappy),
		Doc: "Codec of produced record batches: none, gzip, snappy, lz4 or zstd (case-insensitive), as Kafka's compression.type. " +
			"snappy costs the least CPU, zstd stores the least (BENCHMARKS.md); consumers decompress transparently; zstd needs Kafka 2.1 or later.",
		parse: func(c *Config, v string, _ time.Time) error {
			m, err := parseCompression(v)
			c.Kafka.Compression = m
			return err
		},
	},
}, tlsSettings(kafkaPeer), []Setting{
	{
		Key: "kafka.sasl.mechanism", Env: "KAFKA_SASL_MECHANISM", Default: "none",
		Doc: "SASL authentication with the brokers: none, PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER or AWS_MSK_IAM " +
			"(case-insensitive). PLAIN and SCRAM need kafka.sasl.username and a password (PLAIN sends it as is: use it with " +
			"kafka.tls.enabled); OAUTHBEARER needs a token (kafka.sasl.oauth); AWS_MSK_IAM (Amazon MSK's IAM access control) " +
			"needs AWS credentials (kafka.sasl.aws).",
		parse: func(c *Config, v string, _ time.Time) error {
			m, err := parseMechanism(v)
			c.Kafka.SASL.Mechanism = m
			return err
		},
	},
	{
		Key: "kafka.sasl.username", Env: "KAFKA_SASL_USERNAME",
		Doc:   "SASL user name.",
		parse: usernameField(func(c *Config) *string { return &c.Kafka.SASL.Username }),
	},
	{
		Key: "kafka.sasl.password", Env: "KAFKA_SASL_PASSWORD",
		Doc:   "SASL password (secret). Set this or kafka.sasl.password_file, not both.",
		group: kafkaPasswordGroup, secret: true,
		parse: passwordField(kafkaPassword),
	},
	{
		Key: "kafka.sasl.password_file", Env: "KAFKA_SASL_PASSWORD_FILE",
		Doc:   "File holding the SASL password; surrounding whitespace is trimmed. Set this or kafka.sasl.password, not both.",
		group: kafkaPasswordGroup,
		parse: passwordFileField(kafkaPassword),
	},
	{
		Key: "kafka.sasl.oauth.token", Env: "KAFKA_SASL_OAUTH_TOKEN",
		Doc:   "OAUTHBEARER bearer token (secret), such as a JWT from your identity provider. Set this or kafka.sasl.oauth.token_file, not both.",
		group: oauthTokenGroup, secret: true,
		parse: oauthTokenField,
	},
	{
		Key: "kafka.sasl.oauth.token_file", Env: "KAFKA_SASL_OAUTH_TOKEN_FILE",
		Doc: "File holding the OAUTHBEARER token; surrounding whitespace is trimmed. It is read again for every new " +
			"connection and re-authentication, so a token rotated in the file is used without a restart (the brokers " +
			"ask for re-authentication when connections.max.reauth.ms is set). Set this or kafka.sasl.oauth.token, not both.",
		group: oauthTokenGroup,
		parse: oauthTokenFileField,
	},
	{
		Key: "kafka.sasl.oauth.extensions", Env: "KAFKA_SASL_OAUTH_EXTENSIONS",
		Doc: "SASL extensions sent with the OAUTHBEARER token: comma-separated key=value pairs (a YAML mapping is " +
			"accepted too), such as logicalCluster=lkc-abc123,identityPoolId=pool-xyz for Confluent Cloud.",
		list: true, mapping: true,
		parse: func(c *Config, v string, _ time.Time) error {
			e, err := parseExtensions(v)
			c.Kafka.SASL.OAuth.Extensions = e
			return err
		},
	},
	{
		Key: "kafka.sasl.aws.access_key_id", Env: "KAFKA_SASL_AWS_ACCESS_KEY_ID",
		Doc: "AWS access key ID for AWS_MSK_IAM. When none of the kafka.sasl.aws settings is given, the credentials " +
			"come from the standard AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN variables. The region " +
			"is read from MSK's broker host names (….kafka.us-east-1.amazonaws.com), else from " +
			"AWS_REGION or AWS_DEFAULT_REGION.",
		parse: awsKeyIDField,
	},
	{
		Key: "kafka.sasl.aws.secret_access_key", Env: "KAFKA_SASL_AWS_SECRET_ACCESS_KEY",
		Doc:    "AWS secret access key for AWS_MSK_IAM (secret); set it with kafka.sasl.aws.access_key_id.",
		secret: true,
		parse:  awsSecretField(func(a *AWS) *Secret { return &a.SecretAccessKey }),
	},
	{
		Key: "kafka.sasl.aws.session_token", Env: "KAFKA_SASL_AWS_SESSION_TOKEN",
		Doc: "AWS session token of temporary credentials for AWS_MSK_IAM (secret). The credentials are read at start: " +
			"restart the connector before temporary credentials expire.",
		secret: true,
		parse:  awsSecretField(func(a *AWS) *Secret { return &a.SessionToken }),
	},
	{
		Key: "dead_letter.policy", Env: "DEAD_LETTER_POLICY", Default: string(PolicyDLQ),
		Doc: "What happens to a row that cannot be converted (such as reopened=maybe): dlq writes it to " +
			"dead_letter.topic and goes on; fail stops the connector with an error naming the row.",
		parse: func(c *Config, v string, _ time.Time) error {
			p, err := parsePolicy(v)
			if err != nil {
				return errors.New("must be dlq or fail")
			}
			c.DeadLetter.Policy = p
			return nil
		},
	},
	{
		Key: "dead_letter.topic", Env: "DEAD_LETTER_TOPIC", Default: "freshchat.dlq",
		Doc: "Topic receiving the rows that cannot be converted; distinct from the event topics and the checkpoint topic.",
		parse: func(c *Config, v string, _ time.Time) error {
			if err := checkTopic(v); err != nil {
				return err
			}
			c.DeadLetter.Topic = v
			return nil
		},
	},
	{
		Key: "dead_letter.overrides", Env: "DEAD_LETTER_OVERRIDES",
		Doc: "Per-event policies that replace dead_letter.policy: comma-separated Event=policy pairs such as " +
			"Message-Sent=fail (a YAML mapping is accepted too); event names are read as in events.",
		list: true, mapping: true,
		parse: func(c *Config, v string, _ time.Time) error {
			o, err := parseOverrides(v)
			c.DeadLetter.Overrides = o
			return err
		},
	},
	{
		Key: "schema_registry.url", Env: "SCHEMA_REGISTRY_URL",
		Doc: "Schema registry URL (http or https), without credentials (see schema_registry.username). Empty: no registry; records use Avro single-object encoding.",
		parse: func(c *Config, v string, _ time.Time) error {
			u, err := parseHTTPURL(v)
			if errors.Is(err, errURLCredentials) {
				return fmt.Errorf("%w: set schema_registry.username and schema_registry.password (or schema_registry.password_file) instead", err)
			}
			c.SchemaRegistry.URL = u
			return err
		},
		show: showURL,
	},
	{
		Key: "schema_registry.username", Env: "SCHEMA_REGISTRY_USERNAME",
		Doc:   "User name for HTTP basic auth with the registry (an API key on Confluent Cloud); set it with a password, or neither.",
		parse: usernameField(func(c *Config) *string { return &c.SchemaRegistry.Username }),
	},
	{
		Key: "schema_registry.password", Env: "SCHEMA_REGISTRY_PASSWORD",
		Doc:   "Password for HTTP basic auth with the registry (secret). Set this or schema_registry.password_file, not both.",
		group: registryPasswordGroup, secret: true,
		parse: passwordField(registryPassword),
	},
	{
		Key: "schema_registry.password_file", Env: "SCHEMA_REGISTRY_PASSWORD_FILE",
		Doc:   "File holding the registry password; surrounding whitespace is trimmed. Set this or schema_registry.password, not both.",
		group: registryPasswordGroup,
		parse: passwordFileField(registryPassword),
	},
}, tlsSettings(registryPeer), []Setting{
	{
		Key: "events", Env: "FRESHCHAT_EVENTS", Default: "all",
		Doc: "Comma-separated events to extract (a YAML list is accepted too); \"all\" means all 12: " +
			strings.Join(AllEvents, ", ") + ". These are matched case-insensitively. Any other name of 1 to 64 letters, " +
			"digits, '-' or '_' (an event the connector does not know, such as agent-performance, classic or " +
			"Chat-Transcript of the vendor's SDK) is requested as written.",
		list: true,
		parse: func(c *Config, v string, _ time.Time) error {
			e, err := parseEvents(v)
			c.Events = e
			return err
		},
	},
	{
		Key: "start", Env: "FRESHCHAT_START", Default: "-7d",
		Doc: "Where extraction begins for an event without a checkpoint: RFC3339, a date (UTC midnight) or a " +
			"past offset such as -72h, -7d, -2w. Not more than 15 months ago, not in the future.",
		parse: func(c *Config, v string, now time.Time) error {
			t, err := parseTime(v, now)
			if err != nil {
				return err
			}
			if err := checkPast(t, now); err != nil {
				return err
			}
			c.Start = t
			return nil
		},
	},
	{
		Key: "window", Env: "FRESHCHAT_WINDOW", Default: "24h",
		Doc: "First window of an event whose row density is not known yet (later windows are sized by target_report_rows), " +
			"and every window when target_report_rows is 0: a duration such as 6h or 1d, at most 31d (744h).",
		parse: durationField(func(c *Config) *time.Duration { return &c.Window }, positiveAtMost(maxWindow)),
	},
	{
		Key: "min_window", Env: "FRESHCHAT_MIN_WINDOW", Default: "15m",
		Doc:   "Live mode: a window shorter than this is not extracted yet. More than 0, at most window.",
		parse: durationField(func(c *Config) *time.Duration { return &c.MinWindow }, positive),
	},
	{
		Key: "settle", Env: "FRESHCHAT_SETTLE", Default: "10m",
		Doc:   "Live mode: only windows that ended at least this long ago are extracted (0 or more).",
		parse: durationField(func(c *Config) *time.Duration { return &c.Settle }, nonNegative),
	},
	{
		Key: "max_window", Env: "FRESHCHAT_MAX_WINDOW", Default: "month",
		Doc: "Longest window requested in one report: month (one calendar month, the API's limit) or a duration such as 7d, " +
			"at most 31d (744h); no window ends more than a calendar month after its start, so 31d is month too.",
		parse: parseMaxWindow,
	},
	{
		Key: "target_report_rows", Env: "FRESHCHAT_TARGET_REPORT_ROWS", Default: "1000000",
		Doc: "Rows a report aims to hold: each event's windows are sized from the row density of the windows it read, " +
			"between a minute and max_window, so that one report downloads and reads in seconds to a minute. A window that " +
			"the API refuses, or whose reports keep failing, is split. 0 turns this off: every window is window long.",
		parse: intField(func(c *Config) *int { return &c.Backfill.TargetReportRows }, 0, maxTargetReportRows),
	},
	{
		Key: "reports_ahead", Env: "FRESHCHAT_REPORTS_AHEAD", Default: "2",
		Doc: "Reports each event submits for the windows after the one it reads (0 to 10), so that Freshchat generates them " +
			"meanwhile; they are recorded in the checkpoint, and a restart polls them instead of submitting again. 0 submits " +
			"each window's report once the window before is committed.",
		parse: intField(func(c *Config) *int { return &c.Backfill.ReportsAhead }, 0, maxReportsAhead),
	},
	{
		Key: "concurrency", Env: "FRESHCHAT_CONCURRENCY", Default: "4",
		Doc:   "Units (events of accounts) this instance reads a report for at once (1 to 256); every unit's report is submitted and generated meanwhile, whatever this is, and an instance owning more units works through them in turn.",
		parse: intField(func(c *Config) *int { return &c.Concurrency }, 1, 256),
	},
	{
		Key: "temp_dir", Env: "FRESHCHAT_TEMP_DIR",
		Doc: "Existing directory for downloads; empty: the system temporary directory. Downloads are spooled in its folder freshchat-spool-<kafka.transactional_id>, at most two links per event at a time; files a crashed run left there are removed at the next start.",
		parse: func(c *Config, v string, _ time.Time) error {
			fi, err := os.Stat(v)
			if err != nil {
				return err
			}
			if !fi.IsDir() {
				return errors.New("not a directory")
			}
			c.TempDir = filepath.Clean(v)
			return nil
		},
	},
	{
		Key: "log.level", Env: "LOG_LEVEL", Default: "info",
		Doc: "Log level: debug, info, warn or error.",
		parse: func(c *Config, v string, _ time.Time) error {
			levels := map[string]slog.Level{
				"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError,
			}
			l, ok := levels[strings.ToLower(v)]
			if !ok {
				return errors.New("must be debug, info, warn or error")
			}
			c.Log.Level = l
			return nil
		},
	},
	{
		Key: "log.format", Env: "LOG_FORMAT", Default: "text",
		Doc: "Log format: text or json.",
		parse: func(c *Config, v string, _ time.Time) error {
			switch f := LogFormat(strings.ToLower(v)); f {
			case LogText, LogJSON:
				c.Log.Format = f
				return nil
			}
			return errors.New("must be text or json")
		},
	},
	{
		Key: "metrics.addr", Env: "METRICS_ADDR", Default: ":9464",
		Doc: "Address of the HTTP server for /metrics (Prometheus), /healthz, /readyz and /status, as host:port or :port; off disables it.",
		parse: func(c *Config, v string, _ time.Time) error {
			if strings.EqualFold(v, "off") {
				c.Metrics.Addr = ""
				return nil
			}
			host, port, err := net.SplitHostPort(v)
			if err != nil {
				return errors.New("must be host:port, :port or off")
			}
			if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
				return fmt.Errorf("port %q is not a number from 0 to 65535", port)
			}
			c.Metrics.Addr = net.JoinHostPort(host, port)
			return nil
		},
	},
	{
		Key: "metrics.stuck_after", Env: "METRICS_STUCK_AFTER", Default: "1h",
		Doc:   "/readyz reports an event stuck when it has work to do but made no progress (no commit, no completed report) for this long; 0 disables the check. Keep it above freshchat.pending_timeout.",
		parse: durationField(func(c *Config) *time.Duration { return &c.Metrics.StuckAfter }, nonNegative),
	},
	{
		Key: "metrics.pprof", Env: "METRICS_PPROF", Default: "false",
		Doc:   "Serve Go's profiles (net/http/pprof) under /debug/pprof/ on the metrics server. Off by default: profiles show the process's internals to anyone who reaches the port.",
		parse: boolField(func(c *Config) *bool { return &c.Metrics.Pprof }),
	},
	{
		Key: "group.instance_id", Env: "GROUP_INSTANCE_ID", defaultDoc: "(host name)",
		Doc: "Stable ID of this instance in the connector's group (Kafka static membership, KIP-345): a restarted " +
			"instance with the same ID takes its units back at once, without waiting for the session timeout. Each " +
			"running instance needs its own; in Kubernetes use the pod name. Default: the host name. At most 249 " +
			"letters, digits, '.', '_' and '-'.",
		parse: func(c *Config, v string, _ time.Time) error {
			if err := checkInstanceID(v); err != nil {
				return err
			}
			c.Group.InstanceID = v
			return nil
		},
	},
	{
		Key: "group.session_timeout", Env: "GROUP_SESSION_TIMEOUT", Default: "30s",
		Doc: "How long the group waits for an instance that stopped answering (crashed, cut off) before it gives " +
			"the instance's units to the others: between 6s and 5m. Shorter moves units sooner after a crash; " +
			"longer rides out longer pauses. A restarted instance with the same group.instance_id takes its units " +
			"back at once.",
		parse: durationField(func(c *Config) *time.Duration { return &c.Group.SessionTimeout },
			between(minSessionTimeout, maxSessionTimeout)),
	},
})

// durationText writes d as a setting's default is written: "2s", "30m",
// "500ms" (time.Duration's String would write "30m0s").
func durationText(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}

// tlsPeer is a kind of server the connector reaches over TLS, for
// tlsSettings.
type tlsPeer struct {
	prefix, env string // of the settings: "kafka.tls", "KAFKA_TLS"
	servers     string // "the brokers"
	require     string // "require", as servers take it
	certs       string // "the brokers' certificates"
	caNote      string // added to the CA file's doc
	tls         func(*Config) *TLS
	// switched: TLS is turned on by an enabled setting (for the registry,
	// the URL's https:// does it), and a server_name setting names the
	// certificates' name.
	switched bool
}

var (
	kafkaPeer = tlsPeer{prefix: "kafka.tls", env: "KAFKA_TLS", servers: "the brokers", require: "require",
		certs: "the brokers' certificates", tls: kafkaTLS, switched: true}
	registryPeer = tlsPeer{prefix: "schema_registry.tls", env: "SCHEMA_REGISTRY_TLS", servers: "the registry", require: "requires",
		certs: "the registry's certificates", caNote: " (https:// URL)", tls: registryTLS}
)

// tlsSettings declares the TLS settings of p: its CA, client certificate and
// key, and the insecure switch (with enabled and server_name for a switched
// peer).
func tlsSettings(p tlsPeer) []Setting {
	var out []Setting
	if p.switched {
		out = append(out, Setting{
			Key: p.prefix + ".enabled", Env: p.env + "_ENABLED", Default: "false",
			Doc:   "Connect to " + p.servers + " over TLS (true or false). The other " + p.prefix + " settings need it.",
			parse: boolField(func(c *Config) *bool { return &p.tls(c).Enabled }),
		})
	}
	out = append(out,
		Setting{
			Key: p.prefix + ".ca_file", Env: p.env + "_CA_FILE",
			Doc:   "PEM file of the certificate authorities " + p.certs + " are checked against" + p.caNote + "; empty: the system's roots.",
			parse: caFileField(p.tls),
		},
		Setting{
			Key: p.prefix + ".cert_file", Env: p.env + "_CERT_FILE",
			Doc: "PEM client certificate (chain), for when " + p.servers + " " + p.require + " one (mutual TLS). Set it with " +
				p.prefix + ".key_file, or neither.",
			parse: certFileField(p.tls),
		},
		Setting{
			Key: p.prefix + ".key_file", Env: p.env + "_KEY_FILE",
			Doc:   "PEM private key of " + p.prefix + ".cert_file (PKCS #8, PKCS #1 or EC; unencrypted: protect the file instead).",
			parse: keyFileField(p.tls),
		},
	)
	if p.switched {
		out = append(out, Setting{
			Key: p.prefix + ".server_name", Env: p.env + "_SERVER_NAME",
			Doc:   "Name " + p.certs + " must carry; empty: the host of each address.",
			parse: serverNameField(p.tls),
		})
	}
	return append(out, Setting{
		Key: p.prefix + ".insecure_skip_verify", Env: p.env + "_INSECURE_SKIP_VERIFY", Default: "false",
		Doc:   "Accept " + p.certs + " without checking them: for tests only; logged as a warning at start.",
		parse: boolField(func(c *Config) *bool { return &p.tls(c).InsecureSkipVerify }),
	})
}

// checkToken refuses tokens that could not go into an HTTP header.
func checkToken(v string) error {
	if strings.ContainsFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return errors.New("must not contain whitespace or control characters")
	}
	return nil
}

func durationField(field func(*Config) *time.Duration, check func(time.Duration) error) func(*Config, string, time.Time) error {
	return func(c *Config, v string, _ time.Time) error {
		d, err := parseDuration(v)
		if err != nil {
			return err
		}
		if err := check(d); err != nil {
			return err
		}
		*field(c) = d
		return nil
	}
}

func positive(d time.Duration) error {
	if d <= 0 {
		return errors.New("must be more than 0")
	}
	return nil
}

func nonNegative(d time.Duration) error {
	if d < 0 {
		return errors.New("must not be negative")
	}
	return nil
}

// positiveAtMost checks 0 < d <= hi.
func positiveAtMost(hi time.Duration) func(time.Duration) error {
	return func(d time.Duration) error {
		if d > hi {
			return fmt.Errorf("must be at most %s", formatDuration(hi))
		}
		return positive(d)
	}
}

// between checks lo <= d <= hi.
func between(lo, hi time.Duration) func(time.Duration) error {
	return func(d time.Duration) error {
		if d < lo || d > hi {
			return fmt.Errorf("must be between %s and %s", shortDuration(lo), shortDuration(hi))
		}
		return nil
	}
}

// shortDuration prints a duration without its zero tails: 5m, not 5m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func intField[T int | int16 | int32](field func(*Config) *T, lo, hi int64) func(*Config, string, time.Time) error {
	return func(c *Config, v string, _ time.Time) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return errors.New("not an integer")
		}
		switch {
		case lo == -1 && (n < lo || n == 0 || n > hi):
			return fmt.Errorf("must be -1 (broker default) or between 1 and %d", hi)
		case n < lo || n > hi:
			return fmt.Errorf("must be between %d and %d", lo, hi)
		}
		*field(c) = T(n)
		return nil
	}
}
