package cli_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/freshstream/freshchat-kafka/cli"
	"github.com/freshstream/freshchat-kafka/internal/kread"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

const (
	saslUser     = "connector"
	saslPassword = "s3cret-PW-5150"
	wrongPW      = "wr0ng-PW-8080"
)

// testPKI is a certificate authority made for one test, with its PEM file.
type testPKI struct {
	dir    string
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caFile string
	pool   *x509.CertPool
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "freshchat-kafka test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	p := &testPKI{dir: t.TempDir(), ca: ca, caKey: key, pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.caFile = p.write(t, "ca.pem", "CERTIFICATE", der)
	return p
}

func (p *testPKI) write(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
	return path
}

// issue makes a certificate for 127.0.0.1 signed by the CA, usable by a
// server and a client, and writes it and its key as name.crt and name.key.
func (p *testPKI) issue(t *testing.T, name string) (cert tls.Certificate, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = p.write(t, name+".crt", "CERTIFICATE", der), p.write(t, name+".key", "PRIVATE KEY", keyDER)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, certFile, keyFile
}

// serverTLS is the TLS setup of a server with a certificate of the CA;
// clientAuth says whether it requires client certificates of the CA.
func (p *testPKI) serverTLS(t *testing.T, clientAuth tls.ClientAuthType) *tls.Config {
	cert, _, _ := p.issue(t, "server")
	return &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: clientAuth, ClientCAs: p.pool, MinVersion: tls.VersionTLS12}
}

// secureEnv starts the Freshchat simulator and points the connector at it
// and at brokers: one event, no registry, fast polling, no pacing.
func secureEnv(t *testing.T, brokers string) {
	t.Helper()
	clearEnv(t)
	sim := freshchattest.NewServer(freshchattest.Options{Token: simToken, RowsPerHour: 60, TempDir: t.TempDir()})
	t.Cleanup(sim.Close)
	for k, v := range map[string]string{
		"FRESHCHAT_API_URL":             sim.URL(),
		"FRESHCHAT_API_TOKEN":           simToken,
		"KAFKA_BROKERS":                 brokers,
		"FRESHCHAT_EVENTS":              "Message-Sent",
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
}

func startCluster(t *testing.T, opts ...kfake.Opt) string {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.Ports(0)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

// boundedRun runs the connector over two settled hours.
func boundedRun(t *testing.T) (code int, out, errs string) {
	t.Helper()
	to := time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)
	return runMain(t, "run", "--from", fmtTime(to.Add(-2*time.Hour)), "--to", fmtTime(to))
}

// committed counts the records of Message-Sent a read_committed consumer
// with opts sees.
func committed(t *testing.T, opts ...kgo.Opt) int {
	t.Helper()
	return len(committedRecords(t, opts...))
}

// committedRecords are the records of Message-Sent a read_committed
// consumer with opts sees.
func committedRecords(t *testing.T, opts ...kgo.Opt) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recs, err := kread.ReadCommitted(ctx, opts, "freshchat.message-sent")
	require.NoError(t, err)
	return recs
}

func TestKafkaMutualTLS(t *testing.T) {
	pki := newPKI(t)
	brokers := startCluster(t, kfake.TLS(pki.serverTLS(t, tls.RequireAndVerifyClientCert)))
	secureEnv(t, brokers)
	clientCert, certFile, keyFile := pki.issue(t, "connector")
	t.Setenv("KAFKA_TLS_ENABLED", "true")
	t.Setenv("KAFKA_TLS_CA_FILE", pki.caFile)
	t.Setenv("KAFKA_TLS_CERT_FILE", certFile)
	t.Setenv("KAFKA_TLS_KEY_FILE", keyFile)

	code, out, errs := boundedRun(t)
	require.Equal(t, cli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	n := committed(t, kgo.SeedBrokers(brokers), kgo.DialTLSConfig(&tls.Config{RootCAs: pki.pool, Certificates: []tls.Certificate{clientCert}}))
	assert.Equal(t, 120, n, "two hours of 60 rows")

	code, out, errs = runMain(t, "check")
	require.Equal(t, cli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	assert.Contains(t, out, "answered over TLS with a client certificate: cluster of 1 broker(s)")

	t.Run("without the CA", func(t *testing.T) {
		t.Setenv("KAFKA_TLS_CA_FILE", "")
		code, out, errs := runMain(t, "check")
		assert.Equal(t, cli.ExitError, code, errs)
		assert.Contains(t, out, "✗ Kafka brokers")
		assert.Contains(t, out, "TLS with the Kafka brokers failed: the certificate is signed by an authority the connector does not trust")
		assert.Contains(t, out, "set kafka.tls.ca_file (KAFKA_TLS_CA_FILE)")

		began := time.Now()
		code, _, errs = boundedRun(t)
		assert.Equal(t, cli.ExitError, code)
		assert.Contains(t, errs, "TLS with the Kafka brokers failed")
		assert.Less(t, time.Since(began), 20*time.Second, "a TLS failure stops the start at once")
	})
	t.Run("without a client certificate", func(t *testing.T) {
		t.Setenv("KAFKA_TLS_CERT_FILE", "")
		t.Setenv("KAFKA_TLS_KEY_FILE", "")
		code, out, errs := runMain(t, "check")
		assert.Equal(t, cli.ExitError, code, errs)
		assert.Contains(t, out, "TLS with the Kafka brokers failed: the server refused the handshake")
		assert.Contains(t, out, "KAFKA_TLS_CERT_FILE, KAFKA_TLS_KEY_FILE")
	})
	t.Run("without TLS", func(t *testing.T) {
		t.Setenv("KAFKA_TLS_ENABLED", "")
		t.Setenv("KAFKA_TLS_CA_FILE", "")
		t.Setenv("KAFKA_TLS_CERT_FILE", "")
		t.Setenv("KAFKA_TLS_KEY_FILE", "")
		code, out, errs := runMain(t, "check")
		assert.Equal(t, cli.ExitError, code, errs)
		assert.Contains(t, out, "the broker closed the connection at once")
		assert.Contains(t, out, "kafka.tls.enabled (KAFKA_TLS_ENABLED)")
	})
}

func TestKafkaSASLOverTLS(t *testing.T) {
	pki := newPKI(t)
	mechanisms := []struct {
		name string
		mech func(user, pass string) sasl.Mechanism
	}{
		{"PLAIN", func(u, p string) sasl.Mechanism { return plain.Auth{User: u, Pass: p}.AsMechanism() }},
		{"SCRAM-SHA-256", func(u, p string) sasl.Mechanism { return scram.Auth{User: u, Pass: p}.AsSha256Mechanism() }},
		{"SCRAM-SHA-512", func(u, p string) sasl.Mechanism { return scram.Auth{User: u, Pass: p}.AsSha512Mechanism() }},
	}
	for _, m := range mechanisms {
		t.Run(m.name, func(t *testing.T) {
			brokers := startCluster(t, kfake.TLS(pki.serverTLS(t, tls.NoClientCert)),
				kfake.EnableSASL(), kfake.Superuser(m.name, saslUser, saslPassword))
			secureEnv(t, brokers)
			pwFile := filepath.Join(t.TempDir(), "password")
			require.NoError(t, os.WriteFile(pwFile, []byte(saslPassword+"\n"), 0o600))
			t.Setenv("KAFKA_TLS_ENABLED", "true")
			t.Setenv("KAFKA_TLS_CA_FILE", pki.caFile)
			t.Setenv("KAFKA_SASL_MECHANISM", strings.ToLower(m.name))
			t.Setenv("KAFKA_SASL_USERNAME", saslUser)
			t.Setenv("KAFKA_SASL_PASSWORD_FILE", pwFile)

			code, out, errs := boundedRun(t)
			require.Equal(t, cli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", out, errs)
			assert.Equal(t, 120, committed(t, kgo.SeedBrokers(brokers), kgo.DialTLSConfig(&tls.Config{RootCAs: pki.pool}),
				kgo.SASL(m.mech(saslUser, saslPassword))))

			t.Setenv("KAFKA_SASL_PASSWORD_FILE", "")
			t.Setenv("KAFKA_SASL_PASSWORD", wrongPW)
			began := time.Now()
			code, out, errs = boundedRun(t)
			assert.Equal(t, cli.ExitError, code, "stdout:\n%s\nstderr:\n%s", out, errs)
			assert.Less(t, time.Since(began), 20*time.Second, "refused credentials stop the start at once, without kafka.connect_timeout")
			assert.Contains(t, errs, "connector: Kafka SASL authentication failed")
			assert.Contains(t, errs, `(mechanism `+m.name+`, user "connector")`)
			assert.Contains(t, errs, "check kafka.sasl.username (KAFKA_SASL_USERNAME), the password (KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE)")

			code, out, errs2 := runMain(t, "check")
			assert.Equal(t, cli.ExitError, code, errs2)
			assert.Contains(t, out, "✗ Kafka brokers")
			assert.Contains(t, out, "Kafka SASL authentication failed")
			for _, s := range []string{out, errs, errs2} {
				assert.NotContains(t, s, wrongPW, "the password is never printed")
				assert.NotContains(t, s, saslPassword)
			}
		})
	}
}

// TestSASLMissing: brokers that require SASL, a connector without it.
func TestSASLMissing(t *testing.T) {
	brokers := startCluster(t, kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", saslUser, saslPassword))
	secureEnv(t, brokers)
	code, out, errs := runMain(t, "status")
	assert.Equal(t, cli.ExitError, code, out)
	assert.Contains(t, errs, "the broker closed the connection at once")
	assert.Contains(t, errs, "kafka.sasl.mechanism (KAFKA_SASL_MECHANISM)")
}

func TestRegistryBasicAuthOverTLS(t *testing.T) {
	pki := newPKI(t)
	reg := srfake.NewRegistry(srfake.WithAuth("Basic " + base64.StdEncoding.EncodeToString([]byte(saslUser+":"+saslPassword))))
	srv := httptest.NewUnstartedServer(reg.Handler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	srv.TLS = pki.serverTLS(t, tls.RequireAndVerifyClientCert)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, certFile, keyFile := pki.issue(t, "connector")

	clearEnv(t)
	t.Setenv("FRESHCHAT_EVENTS", "Message-Sent")
	t.Setenv("SCHEMA_REGISTRY_URL", srv.URL)
	t.Setenv("SCHEMA_REGISTRY_TLS_CA_FILE", pki.caFile)
	t.Setenv("SCHEMA_REGISTRY_TLS_CERT_FILE", certFile)
	t.Setenv("SCHEMA_REGISTRY_TLS_KEY_FILE", keyFile)
	t.Setenv("SCHEMA_REGISTRY_USERNAME", saslUser)
	t.Setenv("SCHEMA_REGISTRY_PASSWORD", saslPassword)

	code, out, errs := runMain(t, "schemas", "register")
	require.Equal(t, cli.ExitOK, code, "stdout:\n%s\nstderr:\n%s", out, errs)
	assert.Contains(t, out, "✓ Message-Sent  freshchat.message-sent-value  version 1")
	assert.True(t, reg.SubjectExists("freshchat.message-sent-value"))

	cases := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"wrong password", map[string]string{"SCHEMA_REGISTRY_PASSWORD": wrongPW},
			[]string{`the schema registry refused user "connector" (403 Forbidden`, "check schema_registry.username (SCHEMA_REGISTRY_USERNAME), the password"}},
		{"no credentials", map[string]string{"SCHEMA_REGISTRY_USERNAME": "", "SCHEMA_REGISTRY_PASSWORD": ""},
			[]string{"the schema registry requires authentication (401 Unauthorized", "set schema_registry.username (SCHEMA_REGISTRY_USERNAME)"}},
		{"without the CA", map[string]string{"SCHEMA_REGISTRY_TLS_CA_FILE": ""},
			[]string{"TLS with the schema registry failed: the certificate is signed by an authority the connector does not trust",
				"set schema_registry.tls.ca_file (SCHEMA_REGISTRY_TLS_CA_FILE)"}},
		{"without a client certificate", map[string]string{"SCHEMA_REGISTRY_TLS_CERT_FILE": "", "SCHEMA_REGISTRY_TLS_KEY_FILE": ""},
			[]string{"TLS with the schema registry failed: the server refused the handshake"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			for _, action := range []string{"register", "check"} {
				code, out, errs := runMain(t, "schemas", action)
				assert.Equal(t, cli.ExitError, code, "stdout:\n%s\nstderr:\n%s", out, errs)
				for _, w := range tc.want {
					assert.Contains(t, errs, w, action)
				}
				assert.Equal(t, 1, strings.Count(errs, "connector: "), "one message, not one per event")
				assert.NotContains(t, out+errs, wrongPW)
				assert.NotContains(t, out+errs, saslPassword)
			}
		})
	}
}
