package cli_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/freshstream/freshchat-kafka/cli"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

const simToken = "sim-SECRET-token-7731"

// stack is a Freshchat simulator, a Kafka cluster and a schema registry on
// loopback, and the environment that points the connector at them.
type stack struct {
	sim   *freshchattest.Server
	kafka []kgo.Opt
	adm   *kadm.Client
	reg   *srfake.Registry
	rc    *sr.Client
}

// newStack starts the stack and sets the connector's environment: events
// Message-Sent and CSAT-Score, fast polling, no request pacing.
func newStack(t *testing.T) *stack {
	t.Helper()
	clearEnv(t)
	sim := freshchattest.NewServer(freshchattest.Options{Token: simToken, RowsPerHour: 60, TempDir: t.TempDir()})
	t.Cleanup(sim.Close)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	opts := []kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)}
	cl, err := kgo.NewClient(opts...)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	reg := srfake.New()
	t.Cleanup(reg.Close)
	rc, err := sr.NewClient(sr.URLs(reg.URL()))
	require.NoError(t, err)

	for k, v := range map[string]string{
		"FRESHCHAT_API_URL":             sim.URL(),
		"FRESHCHAT_API_TOKEN":           simToken,
		"KAFKA_BROKERS":                 c.ListenAddrs()[0],
		"SCHEMA_REGISTRY_URL":           reg.URL(),
		"FRESHCHAT_EVENTS":              "Message-Sent,CSAT-Score",
		"FRESHCHAT_POLL_INTERVAL":       "10ms",
		"FRESHCHAT_POLL_MAX_INTERVAL":   "50ms",
		"FRESHCHAT_REQUESTS_PER_MINUTE": "0",
		"FRESHCHAT_SUBMITS_PER_MINUTE":  "0",
		"FRESHCHAT_WINDOW":              "1h",
		"FRESHCHAT_TEMP_DIR":            t.TempDir(),
		"KAFKA_PARTITIONS":              "1",
		"KAFKA_REPLICATION_FACTOR":      "1",
		"LOG_LEVEL":                     "warn",
	} {
		t.Setenv(k, v)
	}
	return &stack{sim: sim, kafka: opts, adm: kadm.NewClient(cl), reg: reg, rc: rc}
}

func (st *stack) createTopic(t *testing.T, topic, cleanup string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := st.adm.CreateTopic(ctx, 1, 1, map[string]*string{"cleanup.policy": &cleanup}, topic)
	if err == nil {
		err = resp.Err
	}
	if !errors.Is(err, kerr.TopicAlreadyExists) {
		require.NoError(t, err)
	}
}

// incompatibleMessageSent is a Message-Sent schema the embedded one cannot
// follow under BACKWARD: ours adds the required created_at.
const incompatibleMessageSent = `{"type":"record","name":"MessageSent","namespace":"freshchat.reports.raw","fields":[{"name":"x","type":"string"}]}`

func TestCheck(t *testing.T) {
	cases := []struct {
		name     string
		env      map[string]string
		setup    func(t *testing.T, st *stack)
		wantCode int
		want     []string // in stdout
		wantErr  []string // in stderr
		absent   []string // in stdout
	}{
		{
			name:     "everything in order",
			wantCode: cli.ExitOK,
			want: []string{
				"✓ configuration", "✓ Freshchat API", "token accepted",
				"✓ Kafka brokers", "answered: cluster of 1 broker(s)",
				"✓ transactions", "✓ topics", "0 exist, 4 missing (created at start)",
				"freshchat.message-sent", "freshchat.csat-score", "freshchat.dlq", "freshchat.checkpoints",
				"✓ checkpoint topic", "does not exist yet",
				"✓ schema registry", "(0 subjects)",
				"Message-Sent → freshchat.message-sent-value: new: the subject has no version yet",
			},
			absent: []string{"✗"},
		},
		{
			name: "existing topics and a compacted checkpoint topic",
			setup: func(t *testing.T, st *stack) {
				st.createTopic(t, "freshchat.checkpoints", "compact")
				st.createTopic(t, "freshchat.message-sent", "delete")
			},
			wantCode: cli.ExitOK,
			want:     []string{"2 exist, 2 missing", "exists (1 partitions)", "✓ checkpoint topic", "is compacted (cleanup.policy=compact)"},
		},
		{
			name:     "checkpoint topic not compacted",
			setup:    func(t *testing.T, st *stack) { st.createTopic(t, "freshchat.checkpoints", "delete") },
			wantCode: cli.ExitError,
			want:     []string{"✗ checkpoint topic", "cleanup.policy=delete", "KAFKA_CHECKPOINT_TOPIC"},
			wantErr:  []string{"1 of"},
		},
		{
			name:     "wrong token",
			env:      map[string]string{"FRESHCHAT_API_TOKEN": "wrong-SECRET-token-0000"},
			wantCode: cli.ExitError,
			want:     []string{"✗ Freshchat API", "token refused (401 Unauthorized)", "FRESHCHAT_API_TOKEN", "✓ Kafka brokers"},
			wantErr:  []string{"checks failed"},
		},
		{
			name:     "unreachable API",
			env:      map[string]string{"FRESHCHAT_API_URL": "http://127.0.0.1:1/v2"},
			wantCode: cli.ExitError,
			want:     []string{"✗ Freshchat API", "http://127.0.0.1:1/v2 unreachable", "FRESHCHAT_API_URL"},
		},
		{
			name:     "brokers down",
			env:      map[string]string{"KAFKA_BROKERS": "127.0.0.1:1"},
			wantCode: cli.ExitError,
			want: []string{"✓ Freshchat API", "✗ Kafka brokers", "127.0.0.1:1 unreachable", "KAFKA_BROKERS",
				"- transactions", "not checked: the Kafka brokers did not answer", "✓ schema registry"},
		},
		{
			name:     "unreachable registry",
			env:      map[string]string{"SCHEMA_REGISTRY_URL": "http://127.0.0.1:1"},
			wantCode: cli.ExitError,
			want:     []string{"✗ schema registry", "http://127.0.0.1:1 unreachable", "SCHEMA_REGISTRY_URL", "- schema"},
		},
		{
			name:     "no registry",
			env:      map[string]string{"SCHEMA_REGISTRY_URL": ""},
			wantCode: cli.ExitOK,
			want:     []string{"- schema registry", "none configured"},
		},
		{
			name: "incompatible registered schema",
			setup: func(t *testing.T, st *stack) {
				_, _, err := st.reg.RegisterSchema("freshchat.message-sent-value", sr.Schema{Schema: incompatibleMessageSent, Type: sr.TypeAvro})
				require.NoError(t, err)
			},
			wantCode: cli.ExitError,
			want: []string{"✗ schema", "Message-Sent → freshchat.message-sent-value: incompatible",
				"not BACKWARD compatible with version 1", `field "created_at": added without a default`,
				"CSAT-Score → freshchat.csat-score-value: new"},
		},
		{
			name: "compatible registered schema",
			setup: func(t *testing.T, st *stack) {
				code, out, errs := runMain(t, "schemas", "register", "--event", "CSAT-Score")
				require.Equal(t, cli.ExitOK, code, out+errs)
			},
			wantCode: cli.ExitOK,
			want:     []string{"CSAT-Score → freshchat.csat-score-value: compatible: already registered as the latest version 1"},
		},
		{
			name:     "configuration problems",
			env:      map[string]string{"FRESHCHAT_API_TOKEN": "", "KAFKA_BROKERS": ""},
			wantCode: cli.ExitUsage,
			wantErr:  []string{"FRESHCHAT_API_TOKEN", "KAFKA_BROKERS"},
			absent:   []string{"✓"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := newStack(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			if tc.setup != nil {
				tc.setup(t, st)
			}
			code, out, errs := runMain(t, "check", "--timeout", "2s")
			assert.Equal(t, tc.wantCode, code, "stdout:\n%s\nstderr:\n%s", out, errs)
			for _, w := range tc.want {
				assert.Contains(t, out, w)
			}
			for _, w := range tc.wantErr {
				assert.Contains(t, errs, w)
			}
			for _, w := range tc.absent {
				assert.NotContains(t, out, w)
			}
			assert.NotContains(t, out+errs, "SECRET", "no token reaches the output")
		})
	}
}

func TestCheckCommandLine(t *testing.T) {
	clearEnv(t)
	code, _, errs := runMain(t, "check", "--help")
	assert.Equal(t, cli.ExitOK, code)
	for _, w := range []string{"Usage: connector check", "--config", "--timeout", "Exit codes: 0 every check passed, 1"} {
		assert.Contains(t, errs, w)
	}
	code, _, errs = runMain(t, "check", "--timeout", "0s")
	assert.Equal(t, cli.ExitUsage, code)
	assert.Contains(t, errs, "--timeout must be positive")
	code, _, _ = runMain(t, "check", "extra")
	assert.Equal(t, cli.ExitUsage, code)
}
