package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestClientID(t *testing.T) {
	cfg := mustLoad(t, loadCase{})
	if cfg.Kafka.ClientID != "freshchat-connector" {
		t.Errorf("default ClientID = %q", cfg.Kafka.ClientID)
	}
	cfg = mustLoad(t, loadCase{yaml: "kafka:\n  client_id: reporting-etl.freshchat\n"})
	if cfg.Kafka.ClientID != "reporting-etl.freshchat" {
		t.Errorf("ClientID from YAML = %q", cfg.Kafka.ClientID)
	}
	for _, bad := range []string{"two words", "tab\there", strings.Repeat("x", 256)} {
		_, problems := loadProblems(t, loadCase{env: with(map[string]string{"KAFKA_CLIENT_ID": bad})})
		if len(problems) != 1 || !strings.HasPrefix(problems[0], "kafka.client_id (env KAFKA_CLIENT_ID): bad value") {
			t.Errorf("KAFKA_CLIENT_ID=%q: problems %q", bad, problems)
		}
	}
}

func TestTopicConfig(t *testing.T) {
	tests := []struct {
		name string
		lc   loadCase
		want map[string]string
	}{
		{name: "none", lc: loadCase{}, want: nil},
		{
			name: "environment",
			lc:   loadCase{env: with(map[string]string{"KAFKA_TOPIC_CONFIG": "retention.ms=604800000, min.insync.replicas=2,compression.type=zstd"})},
			want: map[string]string{"retention.ms": "604800000", "min.insync.replicas": "2", "compression.type": "zstd"},
		},
		{
			name: "YAML mapping, numbers and a list value",
			lc: loadCase{yaml: "kafka:\n  topic_config:\n    retention.ms: 604800000\n    cleanup.policy: delete\n" +
				"    leader.replication.throttled.replicas: \"0:1,1:2\"\n    retention.bytes: -1\n"},
			want: map[string]string{"retention.ms": "604800000", "cleanup.policy": "delete",
				"leader.replication.throttled.replicas": "0:1,1:2", "retention.bytes": "-1"},
		},
		{
			name: "a part without = continues the previous value",
			lc:   loadCase{env: with(map[string]string{"KAFKA_TOPIC_CONFIG": "cleanup.policy=delete,retention.ms=1,message.timestamp.type=CreateTime"})},
			want: map[string]string{"cleanup.policy": "delete", "retention.ms": "1", "message.timestamp.type": "CreateTime"},
		},
		{
			name: "environment replaces the file",
			lc: loadCase{yaml: "kafka:\n  topic_config:\n    retention.ms: 1\n",
				env: with(map[string]string{"KAFKA_TOPIC_CONFIG": "min.insync.replicas=2"})},
			want: map[string]string{"min.insync.replicas": "2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, problems := loadProblems(t, tt.lc)
			if problems != nil {
				t.Fatalf("problems: %s", strings.Join(problems, "\n"))
			}
			if !reflect.DeepEqual(cfg.Kafka.TopicConfig, tt.want) {
				t.Errorf("TopicConfig = %#v, want %#v", cfg.Kafka.TopicConfig, tt.want)
			}
		})
	}
}

func TestTopicConfigProblems(t *testing.T) {
	const prefix = "kafka.topic_config (env KAFKA_TOPIC_CONFIG): bad value "
	tests := []struct {
		name, env, yaml, want string
	}{
		{name: "no =", env: "retention.ms", want: prefix + `"retention.ms" from the environment: "retention.ms" is not name=value`},
		{name: "empty value", env: "retention.ms=,min.insync.replicas=2", want: prefix + `"retention.ms=,min.insync.replicas=2" from the environment: retention.ms has an empty value`},
		{name: "empty name", env: "=1", want: prefix + `"=1" from the environment: "" is not a topic config name (such as retention.ms)`},
		{name: "bad name", env: "retention ms=1", want: prefix + `"retention ms=1" from the environment: "retention ms" is not a topic config name (such as retention.ms)`},
		{name: "twice", env: "retention.ms=1,retention.ms=2", want: prefix + `"retention.ms=1,retention.ms=2" from the environment: retention.ms is given twice`},
		{name: "compaction", env: "cleanup.policy=delete,Compact", want: prefix + `"cleanup.policy=delete,Compact" from the environment: cleanup.policy=compact would keep only the last record of each key (interaction_id) and refuse records without one: the connector's topics must keep every record`},
		{name: "nested YAML", yaml: "kafka:\n  topic_config:\n    retention:\n      ms: 1\n", want: "FILE line 2: kafka.topic_config must be a single value, a list of values or a mapping of single values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lc := loadCase{yaml: tt.yaml}
			if tt.env != "" {
				lc.env = with(map[string]string{"KAFKA_TOPIC_CONFIG": tt.env})
			}
			_, problems := loadProblems(t, lc)
			if !reflect.DeepEqual(problems, []string{tt.want}) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), tt.want)
			}
		})
	}
}
