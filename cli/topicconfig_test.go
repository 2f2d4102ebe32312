package cli_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/freshstream/freshchat-kafka/cli"
)

// TestTopicConfig: kafka.topic_config reaches the topics the connector
// creates, and a config the brokers refuse stops the start with their
// reason.
func TestTopicConfig(t *testing.T) {
	brokers := startCluster(t)
	secureEnv(t, brokers)
	t.Setenv("KAFKA_TOPIC_CONFIG", "retention.ms=604800000,min.insync.replicas=1,cleanup.policy=delete")

	code, out, errs := boundedRun(t)
	require.Equal(t, cli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", out, errs)

	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	described, err := kadm.NewClient(cl).DescribeTopicConfigs(ctx, "freshchat.message-sent", "freshchat.dlq", "freshchat.checkpoints")
	require.NoError(t, err)
	configs := map[string]map[string]string{}
	for _, rc := range described {
		require.NoError(t, rc.Err, rc.Name)
		configs[rc.Name] = map[string]string{}
		for _, c := range rc.Configs {
			if c.Value != nil && c.Source == kmsg.ConfigSourceDynamicTopicConfig {
				configs[rc.Name][c.Key] = *c.Value
			}
		}
	}
	want := map[string]string{"retention.ms": "604800000", "min.insync.replicas": "1", "cleanup.policy": "delete"}
	assert.Equal(t, want, configs["freshchat.message-sent"], "the event topic")
	assert.Equal(t, want, configs["freshchat.dlq"], "the dead-letter topic")
	assert.Equal(t, map[string]string{"retention.ms": "604800000", "min.insync.replicas": "1", "cleanup.policy": "compact"},
		configs["freshchat.checkpoints"], "the checkpoint topic takes them too, but stays compacted")

	t.Run("refused by the brokers", func(t *testing.T) {
		// kfake takes any config name; Kafka refuses an unknown one as
		// below, and the connector must stop with the brokers' reason.
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0))
		require.NoError(t, err)
		t.Cleanup(c.Close)
		var asked []string
		c.ControlKey(int16(kmsg.CreateTopics), func(req kmsg.Request) (kmsg.Response, error, bool) {
			c.KeepControl()
			creq := req.(*kmsg.CreateTopicsRequest)
			resp := creq.ResponseKind().(*kmsg.CreateTopicsResponse)
			for _, rt := range creq.Topics {
				for _, rc := range rt.Configs {
					asked = append(asked, rt.Topic+" "+rc.Name)
				}
				st := kmsg.NewCreateTopicsResponseTopic()
				st.Topic = rt.Topic
				st.ErrorCode = kerr.InvalidConfig.Code
				msg := "Unknown topic config name: retention.milliseconds"
				st.ErrorMessage = &msg
				resp.Topics = append(resp.Topics, st)
			}
			return resp, nil, true
		})
		secureEnv(t, c.ListenAddrs()[0])
		t.Setenv("KAFKA_TOPIC_CONFIG", "retention.milliseconds=1")
		code, out, errs := boundedRun(t)
		assert.Equal(t, cli.ExitError, code, out)
		assert.Contains(t, errs, "creating topic freshchat.message-sent: INVALID_CONFIG")
		assert.Contains(t, asked, "freshchat.message-sent retention.milliseconds")
	})
}
