package config

import (
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"
)

// LogValue summarises the effective settings for a startup log line.
// Secrets show only whether they are set; TLS shows file names.
func (c Config) LogValue() slog.Value {
	token := secretState(c.Freshchat.APIToken)
	registry := slog.Group("schema_registry", slog.String("url", "(none: Avro single-object encoding)"))
	if r := c.SchemaRegistry; r.URL != nil {
		registry = slog.Group("schema_registry",
			slog.String("url", showURLValue(r.URL)),
			slog.String("username", r.Username),
			slog.String("password", secretState(r.Password)),
			slog.String("password_file", r.PasswordFile),
			slog.Any("tls", r.TLS),
		)
	}
	mode := slog.String("mode", "live")
	if c.Bounded != nil {
		mode = slog.Group("bounded",
			slog.Any("from", rangeFrom(c.Bounded.From)),
			slog.Time("to", c.Bounded.To))
	}
	return slog.GroupValue(
		slog.Group("freshchat",
			slog.String("api_url", showURLValue(c.Freshchat.APIURL)),
			slog.String("api_token", token),
			slog.String("api_token_file", c.Freshchat.APITokenFile),
			slog.Duration("poll_interval", c.Freshchat.PollInterval),
			slog.Duration("poll_max_interval", c.Freshchat.PollMaxInterval),
			slog.Duration("pending_timeout", c.Freshchat.PendingTimeout),
			slog.Duration("empty_report_settle", c.Freshchat.EmptyReportSettle),
			slog.Int("max_submits", c.Freshchat.MaxSubmits),
			slog.Duration("request_timeout", c.Freshchat.RequestTimeout),
			slog.Duration("retry_base", c.Freshchat.RetryBase),
			slog.Duration("retry_max", c.Freshchat.RetryMax),
			slog.Int("retry_attempts", c.Freshchat.RetryAttempts),
			slog.Int("requests_per_minute", c.Freshchat.RequestsPerMinute),
			slog.Int("requests_per_day", c.Freshchat.RequestsPerDay),
			slog.Int("submits_per_minute", c.Freshchat.SubmitsPerMinute),
		),
		slog.Group("kafka",
			slog.String("brokers", strings.Join(c.Kafka.Brokers, ",")),
			slog.String("topic_template", c.Kafka.TopicTemplate),
			slog.Int("partitions", int(c.Kafka.Partitions)),
			slog.Int("replication_factor", int(c.Kafka.ReplicationFactor)),
			slog.String("topic_config", pairsText(c.Kafka.TopicConfig)),
			slog.String("checkpoint_topic", c.Kafka.CheckpointTopic),
			slog.String("transactional_id", c.Kafka.TransactionalID),
			slog.String("client_id", c.Kafka.ClientID),
			slog.Duration("transaction_timeout", c.Kafka.TransactionTimeout),
			slog.Int("chunk_rows", c.Kafka.ChunkRows),
			slog.Int64("chunk_bytes", c.Kafka.ChunkBytes),
			slog.String("compression", string(c.Kafka.Compression)),
			slog.Duration("connect_timeout", c.Kafka.ConnectTimeout),
			slog.Any("tls", c.Kafka.TLS),
			saslLogGroup(c.Kafka.SASL),
		),
		registry,
		slog.Group("dead_letter",
			slog.String("policy", string(c.DeadLetter.Policy)),
			slog.String("topic", c.DeadLetter.Topic),
			slog.String("overrides", overridesText(c.DeadLetter.Overrides)),
		),
		slog.String("events", strings.Join(c.Events, ",")),
		slog.Time("start", c.Start),
		slog.Duration("window", c.Window),
		slog.Duration("min_window", c.MinWindow),
		slog.Duration("settle", c.Settle),
		slog.Duration("max_window", c.Backfill.MaxWindow),
		slog.Int("target_report_rows", c.Backfill.TargetReportRows),
		slog.Int("reports_ahead", c.Backfill.ReportsAhead),
		slog.Int("concurrency", c.Concurrency),
		slog.String("temp_dir", c.TempDir),
		slog.String("log_level", c.Log.Level.String()),
		slog.String("log_format", string(c.Log.Format)),
		accountsLogGroup(c.Accounts),
		slog.Group("group",
			slog.String("instance_id", c.Group.InstanceID),
			slog.Duration("session_timeout", c.Group.SessionTimeout),
		),
		mode,
	)
}

// accountsLogGroup shows each account under its name; tokens show only
// whether they are set.
func accountsLogGroup(accounts []Account) slog.Attr {
	attrs := make([]any, 0, len(accounts))
	for _, a := range accounts {
		attrs = append(attrs, slog.Group(a.Name,
			slog.String("api_url", showURLValue(a.APIURL)),
			slog.String("api_token", secretState(a.APIToken)),
			slog.String("api_token_file", a.APITokenFile),
			slog.String("topic_template", a.TopicTemplate),
			slog.String("events", strings.Join(a.Events, ",")),
			slog.Time("start", a.Start),
			slog.Duration("window", a.Window),
			slog.Int("requests_per_minute", a.RequestsPerMinute),
			slog.Int("requests_per_day", a.RequestsPerDay),
		))
	}
	return slog.Group("accounts", attrs...)
}

// saslLogGroup shows the settings of the SASL mechanism in use.
func saslLogGroup(s SASL) slog.Attr {
	attrs := []any{slog.String("mechanism", s.Mechanism.String())}
	switch {
	case s.Mechanism.UsesPassword():
		attrs = append(attrs,
			slog.String("username", s.Username),
			slog.String("password", secretState(s.Password)),
			slog.String("password_file", s.PasswordFile))
	case s.Mechanism == SASLOAuthBearer:
		attrs = append(attrs,
			slog.String("oauth_token", secretState(s.OAuth.Token)),
			slog.String("oauth_token_file", s.OAuth.TokenFile),
			slog.String("oauth_extensions", pairsText(s.OAuth.Extensions)))
	case s.Mechanism == SASLAWSMSKIAM:
		source := "settings"
		if s.AWS.FromEnvironment {
			source = "AWS_* environment"
		}
		attrs = append(attrs,
			slog.String("aws_access_key_id", s.AWS.AccessKeyID),
			slog.String("aws_secret_access_key", secretState(s.AWS.SecretAccessKey)),
			slog.String("aws_session_token", secretState(s.AWS.SessionToken)),
			slog.String("aws_credentials_from", source))
	}
	return slog.Group("sasl", attrs...)
}

// secretState says whether a secret is set, without showing it.
func secretState(s Secret) string {
	if s == "" {
		return "(not set)"
	}
	return redacted
}

// overridesText prints dead-letter overrides as sorted Event=policy pairs.
func overridesText(o map[string]Policy) string {
	pairs := make([]string, 0, len(o))
	for e, p := range o {
		pairs = append(pairs, e+"="+string(p))
	}
	slices.Sort(pairs)
	return strings.Join(pairs, ",")
}

// pairsText prints a map as sorted name=value pairs.
func pairsText(m map[string]string) string {
	pairs := make([]string, 0, len(m))
	for k, v := range m {
		pairs = append(pairs, k+"="+v)
	}
	slices.Sort(pairs)
	return strings.Join(pairs, ",")
}

// showURLValue is how a URL setting is logged: without its password or
// query values (see showURL).
func showURLValue(u *url.URL) string {
	if u == nil {
		return ""
	}
	return maskQuery(u.Redacted())
}

// rangeFrom is how a bounded run's --from is logged: "checkpoint" when only
// --to was given.
func rangeFrom(t time.Time) any {
	if t.IsZero() {
		return "checkpoint"
	}
	return t
}
