package preflight

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/connect"
	"github.com/freshstream/freshchat-kafka/sink"
)

// kafka checks the brokers, transactions, the topics and the checkpoint
// topic's cleanup policy.
func (c *checker) kafka(ctx context.Context, cfg *config.Config) {
	brokers := strings.Join(cfg.Kafka.Brokers, ",")
	watch := connect.NewSecurityWatch(cfg.Kafka.SASL, nil)
	cl, adm, err := connect.Admin(cfg.Kafka, watch)
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
