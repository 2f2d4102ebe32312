package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/freshstream/freshchat-kafka/cli"
)

// fakeSASL answers SASL for one mechanism on a kfake cluster, which itself
// speaks only PLAIN and SCRAM: it takes over the cluster's SaslHandshake
// and SaslAuthenticate requests. kfake then serves every other request
// whether or not the connection authenticated, so these tests check the
// connector's side of the exchange: what it sends, and what it does with
// the answer.
type fakeSASL struct {
	mechanism string
	lifetime  time.Duration
	// check returns the server's answer to one authentication's bytes, or
	// a reason to refuse it.
	check func(auth []byte) (answer []byte, refuse string)

	mu    sync.Mutex
	auths []string // every authentication's bytes, in order
}

func (f *fakeSASL) serve(c *kfake.Cluster) {
	c.ControlKey(int16(kmsg.SASLHandshake), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		r := req.(*kmsg.SASLHandshakeRequest)
		resp := r.ResponseKind().(*kmsg.SASLHandshakeResponse)
		resp.SupportedMechanisms = []string{f.mechanism}
		if r.Mechanism != f.mechanism {
			resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
		}
		return resp, nil, true
	})
	c.ControlKey(int16(kmsg.SASLAuthenticate), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		r := req.(*kmsg.SASLAuthenticateRequest)
		resp := r.ResponseKind().(*kmsg.SASLAuthenticateResponse)
		f.mu.Lock()
		f.auths = append(f.auths, string(r.SASLAuthBytes))
		f.mu.Unlock()
		answer, refuse := f.check(r.SASLAuthBytes)
		if refuse != "" {
			resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
			resp.ErrorMessage = &refuse
			return resp, nil, true
		}
		resp.SASLAuthBytes = answer
		resp.SessionLifetimeMillis = f.lifetime.Milliseconds()
		return resp, nil, true
	})
}

func (f *fakeSASL) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.auths...)
}

func saslCluster(t *testing.T, f *fakeSASL) string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	f.serve(c)
	return c.ListenAddrs()[0]
}

// oauthToken is the token of an OAUTHBEARER client first message
// (RFC 7628: "n,,\x01auth=Bearer TOKEN\x01key=value\x01\x01"), and its
// extensions.
func oauthToken(auth []byte) (token string, ext map[string]string) {
	ext = map[string]string{}
	for _, kv := range strings.Split(string(auth), "\x01") {
		if tok, ok := strings.CutPrefix(kv, "auth=Bearer "); ok {
			token = tok
		} else if k, v, ok := strings.Cut(kv, "="); ok {
			ext[k] = v
		}
	}
	return token, ext
}

func TestKafkaOAuthBearer(t *testing.T) {
	const first, rotated, revoked = "eyJ0b2tlbi0x.first.sig", "eyJ0b2tlbi0y.rotated.sig", "eyJ0b2tlbi0z.revoked.sig"
	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(first+"\n"), 0o600))

	// The broker gives each session 1s, which kgo renews before every
	// request: the connector authenticates many times during a run. After
	// the third authentication a "sidecar" rotates the token in the file.
	var mu sync.Mutex
	rotatedAfter := 0
	f := &fakeSASL{mechanism: "OAUTHBEARER", lifetime: time.Second}
	f.check = func(auth []byte) ([]byte, string) {
		tok, ext := oauthToken(auth)
		if ext["logicalCluster"] != "lkc-abc123" {
			return nil, "missing extension logicalCluster"
		}
		if tok != first && tok != rotated {
			return nil, "invalid token"
		}
		mu.Lock()
		defer mu.Unlock()
		if rotatedAfter == 0 && len(f.auths) >= 3 {
			rotatedAfter = len(f.auths)
			require.NoError(t, os.WriteFile(tokenFile, []byte(rotated+"\n"), 0o600))
		}
		return nil, ""
	}
	brokers := saslCluster(t, f)
	secureEnv(t, brokers)
	t.Setenv("KAFKA_SASL_MECHANISM", "OAUTHBEARER")
	t.Setenv("KAFKA_SASL_OAUTH_TOKEN_FILE", tokenFile)
	t.Setenv("KAFKA_SASL_OAUTH_EXTENSIONS", "logicalCluster=lkc-abc123")

	code, out, errs := boundedRun(t)
	require.Equal(t, cli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	assert.Equal(t, 120, committed(t, kgo.SeedBrokers(brokers)), "two hours of 60 rows")
	seen := f.seen()
	require.Greater(t, len(seen), rotatedAfter+3, "authentications after the rotation")
	last, _ := oauthToken([]byte(seen[len(seen)-1]))
	assert.Equal(t, rotated, last, "the rotated token is read from the file for later authentications")
	for _, s := range seen {
		assert.True(t, strings.HasPrefix(s, "n,,\x01auth=Bearer "), "an RFC 7628 client first message: %q", s)
	}

	code, out, errs = runMain(t, "check")
	assert.Contains(t, out, "answered SASL OAUTHBEARER: cluster of 1 broker(s)", errs)

	t.Run("a refused token stops the start", func(t *testing.T) {
		require.NoError(t, os.WriteFile(tokenFile, []byte(revoked), 0o600))
		began := time.Now()
		code, out, errs := boundedRun(t)
		assert.Equal(t, cli.ExitError, code, out)
		assert.Less(t, time.Since(began), 20*time.Second)
		assert.Contains(t, errs, "Kafka SASL authentication failed")
		assert.Contains(t, errs, "(mechanism OAUTHBEARER): check the token (KAFKA_SASL_OAUTH_TOKEN or KAFKA_SASL_OAUTH_TOKEN_FILE)")
		for _, tok := range []string{first, rotated, revoked} {
			assert.NotContains(t, out+errs, tok, "tokens are never printed")
		}
	})
}

func TestKafkaAWSMSKIAM(t *testing.T) {
	const keyID, secret, session = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "FwoGZXIvYXdzEXAMPLESESSION"
	f := &fakeSASL{mechanism: "AWS_MSK_IAM"}
	f.check = func(auth []byte) ([]byte, string) {
		var p map[string]string
		if err := json.Unmarshal(auth, &p); err != nil {
			return nil, "not JSON"
		}
		if !strings.HasPrefix(p["x-amz-credential"], keyID+"/") {
			return nil, "Access denied"
		}
		return []byte(`{"version":"2020_10_22","request-id":"test"}`), ""
	}
	brokers := saslCluster(t, f)
	secureEnv(t, brokers)
	t.Setenv("KAFKA_SASL_MECHANISM", "AWS_MSK_IAM")
	// The standard AWS variables, as on a host or in a pod that has them.
	t.Setenv("AWS_ACCESS_KEY_ID", keyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_SESSION_TOKEN", session)
	// 127.0.0.1 carries no region, as MSK's broker names do.
	t.Setenv("AWS_REGION", "eu-west-1")

	code, out, errs := boundedRun(t)
	require.Equal(t, cli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	assert.Equal(t, 120, committed(t, kgo.SeedBrokers(brokers)))
	seen := f.seen()
	require.NotEmpty(t, seen)
	var p map[string]string
	require.NoError(t, json.Unmarshal([]byte(seen[0]), &p))
	assert.Equal(t, "kafka-cluster:Connect", p["action"])
	assert.Regexp(t, `^`+keyID+`/\d{8}/eu-west-1/kafka-cluster/aws4_request$`, p["x-amz-credential"])
	assert.Equal(t, session, p["x-amz-security-token"])
	assert.Regexp(t, `^[0-9a-f]{64}$`, p["x-amz-signature"], "signed with the secret key")
	for _, s := range seen {
		assert.NotContains(t, s, secret, "the secret key signs; it is never sent")
	}

	t.Run("refused credentials stop the start", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", "AKIAWRONGEXAMPLE")
		code, out, errs := boundedRun(t)
		assert.Equal(t, cli.ExitError, code, out)
		assert.Contains(t, errs, `Kafka SASL authentication failed: SASL_AUTHENTICATION_FAILED`)
		assert.Contains(t, errs, `(mechanism AWS_MSK_IAM, access key "AKIAWRONGEXAMPLE"): check the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)`)
		assert.NotContains(t, out+errs, secret)
		assert.NotContains(t, out+errs, session)
	})
}
