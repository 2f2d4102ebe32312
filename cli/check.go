package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/connect"
	"github.com/freshstream/freshchat-kafka/registry"
	"github.com/freshstream/freshchat-kafka/sink"
	"github.com/freshstream/freshchat-kafka/source"
)

const checkSynopsis = "check [--config FILE] [--timeout DURATION]"

// Marks of a check line.
const (
	markPass = "✓"
	markFail = "✗"
	markSkip = "-"
)

// checkCommand checks the configuration and everything it points at, one
// line per check, and fails when any check fails.
func checkCommand(ctx context.Context, args []string, s Streams) error {
	fs := commandFlags("check", checkSynopsis, `Validates the configuration, then checks, one line each: the Freshchat API
and token; that the Kafka brokers answer; that they support transactions;
the topics (existing, or creatable at start); that the checkpoint topic is
compacted; the schema registry, and that each event's schema may be
registered under its subject. ✓ passed, ✗ failed (the line says why),
- not checked (not configured, or an earlier check failed).

Exit codes: 0 every check passed, 1 a check failed, 2 bad usage or
configuration.`, s)
	path := fs.String("config", "", "YAML configuration file (every setting also has an environment variable)")
	timeout := fs.Duration("timeout", 10*time.Second, "how long each check waits for an answer")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *timeout <= 0 {
		return usageError{fmt.Errorf("--timeout must be positive, got %s", *timeout)}
	}
	cfg, err := config.Load(config.LoadOptions{Path: *path, RequireAPI: true, RequireBrokers: true})
	if err != nil {
		return err
	}
	c := &checker{out: s.Out, timeout: *timeout}
	c.pass("configuration", "valid")
	for _, w := range cfg.Warnings() {
		c.detail("warning: %s", w)
	}
	c.freshchat(ctx, cfg, newLogger(cfg.Log, s.Err))
	c.kafka(ctx, cfg)
	c.registry(ctx, cfg)
	if c.failed > 0 {
		return fmt.Errorf("%d of %d checks failed", c.failed, c.total)
	}
	return nil
}

// checker prints check lines as they are decided and counts failures.
type checker struct {
	out           io.Writer
	timeout       time.Duration
	total, failed int
}

func (c *checker) line(mark, name, format string, args ...any) {
	c.total++
	if mark == markFail {
		c.failed++
	}
	fmt.Fprintf(c.out, "%s %-20s %s\n", mark, name, fmt.Sprintf(format, args...))
}

func (c *checker) pass(name, format string, args ...any) { c.line(markPass, name, format, args...) }
func (c *checker) fail(name, format string, args ...any) { c.line(markFail, name, format, args...) }

func (c *checker) skip(name, format string, args ...any) {
	fmt.Fprintf(c.out, "%s %-20s %s\n", markSkip, name, fmt.Sprintf(format, args...))
}

// detail prints an indented line under the last check.
func (c *checker) detail(format string, args ...any) {
	fmt.Fprintf(c.out, "    %s\n", fmt.Sprintf(format, args...))
}

func (c *checker) within(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.timeout)
}

// freshchat asks each account's API for a report that does not exist: 404
// means the token was accepted, 401 or 403 that it was refused.
func (c *checker) freshchat(ctx context.Context, cfg *config.Config, logger *slog.Logger) {
	for _, a := range cfg.AllAccounts() {
		c.freshchatAccount(ctx, cfg, a, logger)
	}
}

func (c *checker) freshchatAccount(ctx context.Context, cfg *config.Config, a config.Account, logger *slog.Logger) {
	name := "Freshchat API"
	if named(cfg, a) {
		name = "Freshchat " + a.Name
	}
	api := a.APIURL.Redacted()
	probe := *cfg
	probe.Freshchat.RetryAttempts = 1
	probe.Freshchat.RequestTimeout = c.timeout
	src, err := sourceClient(&probe, a, logger, nil)
	if err != nil {
		c.fail(name, "%s: %v", api, err)
		return
	}
	ctx, cancel := c.within(ctx)
	defer cancel()
	err = src.Check(ctx) // the same probe run makes at start
	var ae *source.APIError
	switch {
	case err == nil:
		c.pass(name, "%s: token accepted", api)
	case source.TokenRefused(err) && errors.As(err, &ae):
		c.fail(name, "%s: token refused (%d %s): check the token in %s: %s",
			api, ae.StatusCode, http.StatusText(ae.StatusCode), tokenSettings(cfg, a), tokenHint(ae.StatusCode))
	case errors.As(err, &ae):
		c.fail(name, "%s: unexpected answer: %v; check %s", api, err, urlSetting(cfg, a))
	default:
		c.fail(name, "%s unreachable: %v; check %s and the network", api, err, urlSetting(cfg, a))
	}
}

// named says whether messages name account a: with accounts configured,
// rather than the top-level freshchat settings.
func named(cfg *config.Config, a config.Account) bool {
	return len(cfg.Accounts) > 1 || a.Name != config.DefaultAccount
}

// tokenSettings names the settings that hold a's token.
func tokenSettings(cfg *config.Config, a config.Account) string {
	if named(cfg, a) {
		return fmt.Sprintf("the api_token (%s) or api_token_file (%s) of account %s",
			config.AccountEnv(a.Name, "api_token"), config.AccountEnv(a.Name, "api_token_file"), a.Name)
	}
	return "freshchat.api_token (FRESHCHAT_API_TOKEN) or freshchat.api_token_file (FRESHCHAT_API_TOKEN_FILE)"
}

// urlSetting names the setting that holds a's API URL.
func urlSetting(cfg *config.Config, a config.Account) string {
	if named(cfg, a) {
		return fmt.Sprintf("the api_url (%s) of account %s", config.AccountEnv(a.Name, "api_url"), a.Name)
	}
	return "freshchat.api_url (FRESHCHAT_API_URL)"
}

func tokenHint(status int) string {
	if status == http.StatusForbidden {
		return "it lacks permission for raw reports, or the account's plan does not include them"
	}
	return "it is missing, wrong, expired or revoked"
}

// kafka checks the brokers, transactions, the topics and the checkpoint
// topic's cleanup policy.
func (c *checker) kafka(ctx context.Context, cfg *config.Config) {
	brokers := strings.Join(cfg.Kafka.Brokers, ",")
	watch := connect.NewSecurityWatch(cfg.Kafka.SASL, nil)
	cl, adm, err := kafkaAdmin(cfg, watch)
	if err != nil {
		c.fail("Kafka brokers", "%s: %v", brokers, err)
		c.skipKafka()
		return
	}
	defer cl.Close()

	mctx, cancel := c.within(ctx)
	md, err := adm.BrokerMetadata(mctx)
	cancel()
	if err != nil {
		if se, ok := errors.AsType[*connect.SecurityError](watch.Explain(err)); ok {
			c.fail("Kafka brokers", "%s: %v", brokers, se)
		} else {
			c.fail("Kafka brokers", "%s unreachable: %v; check kafka.brokers (KAFKA_BROKERS), the network and the brokers' health", brokers, err)
		}
		c.skipKafka()
		return
	}
	var seen []string
	for _, b := range md.Brokers {
		seen = append(seen, fmt.Sprintf("%d %s:%d", b.NodeID, b.Host, b.Port))
	}
	c.pass("Kafka brokers", "%s answered%s: cluster of %d broker(s) (%s)", brokers, connect.Describe(cfg.Kafka), len(md.Brokers), strings.Join(seen, ", "))

	tctx, cancel := c.within(ctx)
	err = sink.CheckTransactions(tctx, adm)
	cancel()
	if err != nil {
		c.fail("transactions", "%v", err)
	} else {
		c.pass("transactions", "supported by every broker")
	}

	c.topics(ctx, cfg, adm)
}

func (c *checker) skipKafka() {
	for _, name := range []string{"transactions", "topics", "checkpoint topic"} {
		c.skip(name, "not checked: the Kafka brokers did not answer")
	}
}

// connectorTopics are the topics the connector writes: the events' topics,
// the dead-letter topic when an event uses it, and the checkpoint topic.
func connectorTopics(cfg *config.Config) []string {
	var topics []string
	dlq := false
	for _, a := range cfg.AllAccounts() {
		for _, ev := range a.Events {
			topics = append(topics, a.Topic(ev))
			dlq = dlq || cfg.DeadLetter.PolicyFor(ev) == config.PolicyDLQ
		}
	}
	if dlq && !slices.Contains(topics, cfg.DeadLetter.Topic) {
		topics = append(topics, cfg.DeadLetter.Topic)
	}
	return append(topics, cfg.Kafka.CheckpointTopic)
}

// topics lists the topics the connector writes; missing ones must be
// creatable (validated by the brokers, not created). Then the checkpoint
// topic must be compacted, if it exists.
func (c *checker) topics(ctx context.Context, cfg *config.Config, adm *kadm.Client) {
	topics := connectorTopics(cfg)
	lctx, cancel := c.within(ctx)
	defer cancel()
	listed, err := adm.ListTopics(lctx, topics...)
	if err != nil {
		c.fail("topics", "listing %d topics: %v", len(topics), err)
		c.skip("checkpoint topic", "not checked: the topics could not be listed")
		return
	}
	var existing, missing []string
	for _, t := range topics {
		if td, ok := listed[t]; ok && td.Err == nil {
			existing = append(existing, t)
		} else {
			missing = append(missing, t)
		}
	}
	var refused []string
	if len(missing) > 0 {
		vctx, cancel := c.within(ctx)
		resps, err := adm.ValidateCreateTopics(vctx, cfg.Kafka.Partitions, cfg.Kafka.ReplicationFactor, nil, missing...)
		cancel()
		if err != nil {
			refused = append(refused, fmt.Sprintf("validating their creation failed: %v", err))
		}
		for _, t := range missing {
			if r, ok := resps[t]; ok && r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
				refused = append(refused, fmt.Sprintf("%s: %v", t, r.Err))
			}
		}
	}
	summary := fmt.Sprintf("%d exist, %d missing (created at start)", len(existing), len(missing))
	if len(refused) > 0 {
		c.fail("topics", "%s, but the brokers refuse to create some: %s", summary, strings.Join(refused, "; "))
	} else {
		c.pass("topics", "%s", summary)
	}
	for _, t := range topics {
		if slices.Contains(existing, t) {
			c.detail("%-40s exists (%d partitions)", t, len(listed[t].Partitions))
		} else {
			c.detail("%-40s missing: created at start", t)
		}
	}
	c.checkpointTopic(ctx, cfg, adm, slices.Contains(existing, cfg.Kafka.CheckpointTopic))
}

// checkpointTopic checks that an existing checkpoint topic is compacted:
// retention would one day delete positions.
func (c *checker) checkpointTopic(ctx context.Context, cfg *config.Config, adm *kadm.Client, exists bool) {
	const name = "checkpoint topic"
	topic := cfg.Kafka.CheckpointTopic
	if !exists {
		c.pass(name, "%s does not exist yet: it is created compacted at start", topic)
		return
	}
	dctx, cancel := c.within(ctx)
	defer cancel()
	cfgs, err := adm.DescribeTopicConfigs(dctx, topic)
	var rc kadm.ResourceConfig
	if err == nil {
		rc, err = cfgs.On(topic, nil)
	}
	if err == nil {
		err = rc.Err
	}
	if err != nil {
		c.fail(name, "describing %s: %v", topic, err)
		return
	}
	policy := "delete" // Kafka's default
	for _, kv := range rc.Configs {
		if kv.Key == "cleanup.policy" && kv.Value != nil {
			policy = *kv.Value
		}
	}
	if !slices.Contains(strings.Split(policy, ","), "compact") {
		c.fail(name, "%s has cleanup.policy=%s: retention would delete positions; set cleanup.policy=compact or choose another kafka.checkpoint_topic (KAFKA_CHECKPOINT_TOPIC)", topic, policy)
		return
	}
	c.pass(name, "%s is compacted (cleanup.policy=%s)", topic, policy)
}

// registry checks that the registry answers and that every event's schema
// may be registered under its subject.
func (c *checker) registry(ctx context.Context, cfg *config.Config) {
	const name = "schema registry"
	if cfg.SchemaRegistry.URL == nil {
		c.skip(name, "none configured: values use Avro single-object encoding")
		return
	}
	at := cfg.SchemaRegistry.URL.Redacted()
	rc, err := registryClient(cfg)
	if err != nil {
		c.fail(name, "%s: %v", at, err)
		return
	}
	sctx, cancel := c.within(ctx)
	subjects, err := rc.Subjects(sctx)
	cancel()
	if f := connect.RegistryFailure(err, cfg.SchemaRegistry); f != nil {
		c.fail(name, "%s: %v", at, f)
		c.skip("schemas", "not checked: the schema registry refused the connection")
		return
	}
	if err != nil {
		c.fail(name, "%s unreachable: %v; check schema_registry.url (SCHEMA_REGISTRY_URL)", at, err)
		c.skip("schemas", "not checked: the schema registry did not answer")
		return
	}
	c.pass(name, "%s answered (%d subjects)", at, len(subjects))
	for _, u := range registry.Units(cfg, "") {
		vctx, cancel := c.within(ctx)
		v := registry.Compare(vctx, rc, u)
		cancel()
		switch {
		case v.Failed():
			c.fail("schema", "%s → %s: %s", u.Key, v.Subject, v.Text())
		case v.Outcome == registry.OutcomeSkipped:
			c.skip("schema", "%s → %s: %s", u.Key, v.Subject, v.Text())
		default:
			c.pass("schema", "%s → %s: %s", u.Key, v.Subject, v.Text())
		}
	}
}
