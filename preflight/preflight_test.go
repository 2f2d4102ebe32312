package preflight_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/preflight"
	"github.com/freshstream/freshchat-kafka/source"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

const (
	token   = "sim-SECRET-token-7731"
	timeout = 2 * time.Second
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// world is a Freshchat simulator, a Kafka cluster and a schema registry on
// loopback, and a configuration that points at them: events Message-Sent
// and CSAT-Score of the default account.
type world struct {
	sim     *freshchattest.Server
	cluster *kfake.Cluster
	adm     *kadm.Client
	reg     *srfake.Registry
	cfg     *config.Config
}

func newWorld(t *testing.T, regOpts ...srfake.Option) *world {
	t.Helper()
	sim := freshchattest.NewServer(freshchattest.Options{Token: token, TempDir: t.TempDir()})
	t.Cleanup(sim.Close)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0))
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	reg := srfake.New(regOpts...)
	t.Cleanup(reg.Close)

	cfg := config.Defaults(t0)
	cfg.Events = []string{"Message-Sent", "CSAT-Score"}
	cfg.Freshchat.APIURL = mustURL(t, sim.URL())
	cfg.Freshchat.APIToken = token
	cfg.Kafka.Brokers = cluster.ListenAddrs()
	cfg.Kafka.Partitions, cfg.Kafka.ReplicationFactor = 1, 1
	cfg.SchemaRegistry.URL = mustURL(t, reg.URL())
	return &world{sim: sim, cluster: cluster, adm: kadm.NewClient(cl), reg: reg, cfg: &cfg}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

// options builds the Freshchat client as the connector does, and checks
// that the probe makes one attempt within the timeout.
func options(t *testing.T) preflight.Options {
	return preflight.Options{
		Timeout: timeout,
		Freshchat: func(cfg *config.Config, a config.Account) (*source.Client, error) {
			assert.Equal(t, 1, cfg.Freshchat.RetryAttempts, "the probe makes one attempt")
			assert.Equal(t, timeout, cfg.Freshchat.RequestTimeout, "within the check's timeout")
			return source.NewClient(source.ClientConfig{
				BaseURL: a.APIURL, Token: a.APIToken.Reveal(), TempDir: t.TempDir(),
				StallTimeout: cfg.Freshchat.RequestTimeout, Retry: source.RetryConfig{MaxAttempts: cfg.Freshchat.RetryAttempts},
			})
		},
	}
}

// expand fills the addresses of w into want: {api}, {brokers} and
// {registry}.
func (w *world) expand(want string) string {
	return strings.NewReplacer("{api}", w.sim.URL(), "{brokers}", w.cluster.ListenAddrs()[0], "{registry}", w.reg.URL()).Replace(want)
}

func (w *world) createTopic(t *testing.T, topic, cleanup string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := w.adm.CreateTopic(ctx, 1, 1, map[string]*string{"cleanup.policy": &cleanup}, topic)
	if err == nil {
		err = resp.Err
	}
	require.NoError(t, err)
}

// tokenAccepted and kafkaInOrder are the lines of a run up to the
// registry's when the token is accepted and the Kafka checks pass with none
// of the four topics created yet.
const (
	tokenAccepted = `✓ configuration        valid
✓ Freshchat API        {api}: token accepted
`
	kafkaInOrder = `✓ Kafka brokers        {brokers} answered: cluster of 1 broker(s) (0 {brokers})
✓ transactions         supported by every broker
✓ topics               0 exist, 4 missing (created at start)
    freshchat.message-sent                   missing: created at start
    freshchat.csat-score                     missing: created at start
    freshchat.dlq                            missing: created at start
    freshchat.checkpoints                    missing: created at start
✓ checkpoint topic     freshchat.checkpoints does not exist yet: it is created compacted at start
`
)

// TestRun pins every line of a run, as connector check prints it.
func TestRun(t *testing.T) {
	cases := []struct {
		name    string
		regOpts []srfake.Option
		setup   func(t *testing.T, w *world, o *preflight.Options)
		want    string
		total   int
		failed  int
	}{
		{
			name: "everything in order",
			want: tokenAccepted + kafkaInOrder + `✓ schema registry      {registry} answered (0 subjects)
✓ schema               Message-Sent → freshchat.message-sent-value: new: the subject has no version yet; registering creates version 1
✓ schema               CSAT-Score → freshchat.csat-score-value: new: the subject has no version yet; registering creates version 1
`,
			total: 9,
		},
		{
			name: "existing topics, a checkpoint topic that is not compacted, no dead-letter topic, a warning",
			setup: func(t *testing.T, w *world, _ *preflight.Options) {
				w.createTopic(t, "freshchat.checkpoints", "delete")
				w.createTopic(t, "freshchat.message-sent", "delete")
				w.cfg.DeadLetter.Policy = config.PolicyFail
				w.cfg.SchemaRegistry.Username = "u"
			},
			want: `✓ configuration        valid
    warning: schema_registry.username is set with an http:// URL: the password crosses the network in clear text
✓ Freshchat API        {api}: token accepted
✓ Kafka brokers        {brokers} answered: cluster of 1 broker(s) (0 {brokers})
✓ transactions         supported by every broker
✓ topics               2 exist, 1 missing (created at start)
    freshchat.message-sent                   exists (1 partitions)
    freshchat.csat-score                     missing: created at start
    freshchat.checkpoints                    exists (1 partitions)
✗ checkpoint topic     freshchat.checkpoints has cleanup.policy=delete: retention would delete positions; set cleanup.policy=compact or choose another kafka.checkpoint_topic (KAFKA_CHECKPOINT_TOPIC)
✓ schema registry      {registry} answered (0 subjects)
✓ schema               Message-Sent → freshchat.message-sent-value: new: the subject has no version yet; registering creates version 1
✓ schema               CSAT-Score → freshchat.csat-score-value: new: the subject has no version yet; registering creates version 1
`,
			total: 9, failed: 1,
		},
		{
			name: "the brokers refuse to create a missing topic",
			setup: func(t *testing.T, w *world, _ *preflight.Options) {
				w.createTopic(t, "freshchat.checkpoints", "compact")
				w.cfg.Events = []string{"Message-Sent"}
				w.cluster.ControlKey(int16(kmsg.CreateTopics), func(req kmsg.Request) (kmsg.Response, error, bool) {
					w.cluster.KeepControl()
					creq := req.(*kmsg.CreateTopicsRequest)
					resp := creq.ResponseKind().(*kmsg.CreateTopicsResponse)
					for _, rt := range creq.Topics {
						st := kmsg.NewCreateTopicsResponseTopic()
						st.Topic = rt.Topic
						st.ErrorCode = kerr.PolicyViolation.Code
						resp.Topics = append(resp.Topics, st)
					}
					return resp, nil, true
				})
			},
			want: `✓ configuration        valid
✓ Freshchat API        {api}: token accepted
✓ Kafka brokers        {brokers} answered: cluster of 1 broker(s) (0 {brokers})
✓ transactions         supported by every broker
✗ topics               1 exist, 2 missing (created at start), but the brokers refuse to create some: freshchat.message-sent: POLICY_VIOLATION: Request parameters do not satisfy the configured policy.; freshchat.dlq: POLICY_VIOLATION: Request parameters do not satisfy the configured policy.
    freshchat.message-sent                   missing: created at start
    freshchat.dlq                            missing: created at start
    freshchat.checkpoints                    exists (1 partitions)
✓ checkpoint topic     freshchat.checkpoints is compacted (cleanup.policy=compact)
✓ schema registry      {registry} answered (0 subjects)
✓ schema               Message-Sent → freshchat.message-sent-value: new: the subject has no version yet; registering creates version 1
`,
			total: 8, failed: 1,
		},
		{
			name: "a refused token names the settings; a schema without an embedded one and an incompatible one",
			setup: func(t *testing.T, w *world, o *preflight.Options) {
				w.cfg.Freshchat.APIToken = "wrong-SECRET"
				w.cfg.Events = []string{"Message-Sent", "agent-performance"}
				_, _, err := w.reg.RegisterSchema("freshchat.message-sent-value", sr.Schema{Type: sr.TypeAvro,
					Schema: `{"type":"record","name":"MessageSent","namespace":"freshchat.reports.raw","fields":[{"name":"x","type":"string"}]}`})
				require.NoError(t, err)
			},
			want: `✓ configuration        valid
✗ Freshchat API        {api}: token refused (401 Unauthorized): check the token in freshchat.api_token (FRESHCHAT_API_TOKEN) or freshchat.api_token_file (FRESHCHAT_API_TOKEN_FILE): it is missing, wrong, expired or revoked
✓ Kafka brokers        {brokers} answered: cluster of 1 broker(s) (0 {brokers})
✓ transactions         supported by every broker
✓ topics               0 exist, 4 missing (created at start)
    freshchat.message-sent                   missing: created at start
    freshchat.agent-performance              missing: created at start
    freshchat.dlq                            missing: created at start
    freshchat.checkpoints                    missing: created at start
✓ checkpoint topic     freshchat.checkpoints does not exist yet: it is created compacted at start
✓ schema registry      {registry} answered (1 subjects)
✗ schema               Message-Sent → freshchat.message-sent-value: incompatible: schema for subject freshchat.message-sent-value is not BACKWARD compatible with version 1 (id 1): field "created_at": added without a default; the connector refuses to register it: fix the schema or set the subject's compatibility deliberately
- schema               agent-performance → freshchat.agent-performance-value: skipped: no embedded schema (derived from the report's header at run time)
`,
			total: 8, failed: 2,
		},
		{
			name: "named accounts, a client that cannot be built, no registry",
			setup: func(t *testing.T, w *world, o *preflight.Options) {
				acme := w.cfg.SingleAccount()
				acme.Name, acme.TopicTemplate, acme.Events = "acme", "freshchat.{account}.{event}", []string{"CSAT-Score"}
				globex := acme
				globex.Name, globex.APIToken = "globex-eu", "wrong-SECRET"
				w.cfg.Accounts = []config.Account{acme, globex}
				build := o.Freshchat
				o.Freshchat = func(cfg *config.Config, a config.Account) (*source.Client, error) {
					if a.Name == "acme" {
						return nil, errors.New("temp_dir (FRESHCHAT_TEMP_DIR): creating the download folder: denied")
					}
					return build(cfg, a)
				}
				w.cfg.SchemaRegistry.URL = nil
			},
			want: `✓ configuration        valid
✗ Freshchat acme       {api}: temp_dir (FRESHCHAT_TEMP_DIR): creating the download folder: denied
✗ Freshchat globex-eu  {api}: token refused (401 Unauthorized): check the token in the api_token (FRESHCHAT_ACCOUNT_GLOBEX_EU_API_TOKEN) or api_token_file (FRESHCHAT_ACCOUNT_GLOBEX_EU_API_TOKEN_FILE) of account globex-eu: it is missing, wrong, expired or revoked
✓ Kafka brokers        {brokers} answered: cluster of 1 broker(s) (0 {brokers})
✓ transactions         supported by every broker
✓ topics               0 exist, 4 missing (created at start)
    freshchat.acme.csat-score                missing: created at start
    freshchat.globex-eu.csat-score           missing: created at start
    freshchat.dlq                            missing: created at start
    freshchat.checkpoints                    missing: created at start
✓ checkpoint topic     freshchat.checkpoints does not exist yet: it is created compacted at start
- schema registry      none configured: values use Avro single-object encoding
`,
			total: 7, failed: 2,
		},
		{
			name:    "a registry that refuses the credentials",
			regOpts: []srfake.Option{srfake.WithAuth("Basic c2VjcmV0")},
			want: tokenAccepted + kafkaInOrder + `✗ schema registry      {registry}: the schema registry requires authentication (401 Unauthorized: Missing Authorization header): set schema_registry.username (SCHEMA_REGISTRY_USERNAME) and schema_registry.password (SCHEMA_REGISTRY_PASSWORD or SCHEMA_REGISTRY_PASSWORD_FILE)
- schemas              not checked: the schema registry refused the connection
`,
			total: 7, failed: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, tc.regOpts...)
			o := options(t)
			if tc.setup != nil {
				tc.setup(t, w, &o)
			}
			var out bytes.Buffer
			got := preflight.Run(context.Background(), &out, w.cfg, o)
			assert.Equal(t, w.expand(tc.want), out.String())
			assert.Equal(t, preflight.Result{Total: tc.total, Failed: tc.failed}, got)
			assert.NotContains(t, out.String(), "SECRET", "no token reaches the output")
		})
	}
}

// TestRunUnreachable: what cannot be reached fails with the setting to
// check, and the checks that depend on it are not made.
func TestRunUnreachable(t *testing.T) {
	w := newWorld(t)
	api, brokers, reg := w.sim.URL(), w.cluster.ListenAddrs()[0], w.reg.URL()
	w.sim.Close()
	w.cluster.Close()
	w.reg.Close()
	var out bytes.Buffer
	got := preflight.Run(context.Background(), &out, w.cfg, options(t))
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, lines, 8, out.String())
	for i, want := range []string{
		"✓ configuration        valid",
		"✗ Freshchat API        " + api + " unreachable: ",
		"✗ Kafka brokers        " + brokers + " unreachable: ",
		"- transactions         not checked: the Kafka brokers did not answer",
		"- topics               not checked: the Kafka brokers did not answer",
		"- checkpoint topic     not checked: the Kafka brokers did not answer",
		"✗ schema registry      " + reg + " unreachable: ",
		"- schemas              not checked: the schema registry did not answer",
	} {
		assert.True(t, strings.HasPrefix(lines[i], want), "line %d:\n%s\nwant a prefix:\n%s", i, lines[i], want)
	}
	assert.True(t, strings.HasSuffix(lines[1], "; check freshchat.api_url (FRESHCHAT_API_URL) and the network"), lines[1])
	assert.True(t, strings.HasSuffix(lines[2], "; check kafka.brokers (KAFKA_BROKERS), the network and the brokers' health"), lines[2])
	assert.True(t, strings.HasSuffix(lines[6], "; check schema_registry.url (SCHEMA_REGISTRY_URL)"), lines[6])
	assert.Equal(t, preflight.Result{Total: 4, Failed: 3}, got)
}

func TestHints(t *testing.T) {
	single := config.Defaults(t0)
	one := single.SingleAccount()
	named := single
	acme := one
	acme.Name = "acme"
	named.Accounts = []config.Account{acme}
	two := single
	dflt, other := one, one
	other.Name = "globex-eu"
	two.Accounts = []config.Account{dflt, other}
	cases := []struct {
		name          string
		cfg           *config.Config
		a             config.Account
		named         bool
		token, apiURL string
	}{
		{name: "the top-level settings", cfg: &single, a: one,
			token:  "freshchat.api_token (FRESHCHAT_API_TOKEN) or freshchat.api_token_file (FRESHCHAT_API_TOKEN_FILE)",
			apiURL: "freshchat.api_url (FRESHCHAT_API_URL)"},
		{name: "an account of another name", cfg: &named, a: acme, named: true,
			token:  "the api_token (FRESHCHAT_ACCOUNT_ACME_API_TOKEN) or api_token_file (FRESHCHAT_ACCOUNT_ACME_API_TOKEN_FILE) of account acme",
			apiURL: "the api_url (FRESHCHAT_ACCOUNT_ACME_API_URL) of account acme"},
		{name: "the default account among others", cfg: &two, a: dflt, named: true,
			token:  "the api_token (FRESHCHAT_ACCOUNT_DEFAULT_API_TOKEN) or api_token_file (FRESHCHAT_ACCOUNT_DEFAULT_API_TOKEN_FILE) of account default",
			apiURL: "the api_url (FRESHCHAT_ACCOUNT_DEFAULT_API_URL) of account default"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.named, preflight.Named(tc.cfg, tc.a))
			assert.Equal(t, tc.token, preflight.TokenSettings(tc.cfg, tc.a))
			assert.Equal(t, tc.apiURL, preflight.URLSetting(tc.cfg, tc.a))
		})
	}
	for status, want := range map[int]string{
		401: "it is missing, wrong, expired or revoked",
		403: "it lacks permission for raw reports, or the account's plan does not include them",
	} {
		assert.Equal(t, want, preflight.TokenHint(status), fmt.Sprint(status))
	}
}
