package connect

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"

	"github.com/freshstream/freshchat-kafka/config"
)

// SecurityError is a failure that retrying cannot fix: TLS could not be set
// up with a server, or the server refused the credentials. Its message says
// what failed and which settings to check; it never holds a secret.
type SecurityError struct {
	msg string
	err error
}

func (e *SecurityError) Error() string { return e.msg }
func (e *SecurityError) Unwrap() error { return e.err }

func securityErrorf(err error, format string, args ...any) *SecurityError {
	return &SecurityError{msg: fmt.Sprintf(format, args...), err: err}
}

// saslDropsToFail is how many connections in a row must be lost during SASL
// authentication before the watch calls it a refusal. A broker that refuses
// the credentials may just close the connection (kfake does; Kafka answers
// SASL_AUTHENTICATION_FAILED first); one lost connection may be bad luck.
const saslDropsToFail = 3

// SecurityWatch watches the connections of Kafka clients, as a kgo hook and
// through their SASL mechanism, for failures that retrying cannot fix. kgo
// retries a connection the broker closed, and the pipeline waits for brokers
// it cannot reach, so without the watch a wrong password would look like an
// outage and the connector would wait forever.
type SecurityWatch struct {
	sasl config.SASL
	stop func(error) // called with the first failure; may be nil

	mu      sync.Mutex
	pending map[string]int // SASL authentications begun and not finished, by broker address
	dropped int            // connections in a row lost during SASL authentication
	failure *SecurityError // the first failure
}

// NewSecurityWatch watches the connections of clients with the SASL
// settings s; stop, when not nil, is called once with the first failure.
func NewSecurityWatch(s config.SASL, stop func(error)) *SecurityWatch {
	return &SecurityWatch{sasl: s, stop: stop, pending: map[string]int{}}
}

// OnBrokerConnect implements kgo.HookBrokerConnect. kgo calls it after
// each connection attempt, once TLS and SASL are done or failed.
func (w *SecurityWatch) OnBrokerConnect(meta kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	addr := net.JoinHostPort(meta.Host, strconv.Itoa(int(meta.Port)))
	w.mu.Lock()
	inSASL := w.pending[addr] > 0
	if inSASL && err != nil {
		w.pending[addr]--
	}
	var f *SecurityError
	switch cause, definite := w.classify(err); {
	case err == nil:
		w.dropped = 0
	case definite:
		f = cause
	case inSASL && lostConnection(err):
		if w.dropped++; w.dropped >= saslDropsToFail {
			f = w.saslFailed(err, "the broker closed the connection during authentication")
		}
	}
	var stop func(error)
	if f != nil && w.failure == nil {
		w.failure, stop = f, w.stop
	}
	w.mu.Unlock()
	if stop != nil {
		stop(f)
	}
}

// lostConnection reports an error of a connection the peer closed or reset,
// or a SASL exchange that failed on the client's side; not a timeout, nor a
// client closing.
func lostConnection(err error) bool {
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return false
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, kgo.ErrClientClosed)
}

// Explain returns the failure the watch saw, or a SecurityError for err
// itself when it is one; otherwise err. Use it on an error a command gives
// up on.
func (w *SecurityWatch) Explain(err error) error {
	if err == nil {
		return nil
	}
	if se, ok := errors.AsType[*SecurityError](err); ok {
		return se
	}
	w.mu.Lock()
	f := w.failure
	w.mu.Unlock()
	if f != nil {
		return f
	}
	if cause, _ := w.classify(err); cause != nil {
		return cause
	}
	return err
}

// classify recognises a connection error that comes from TLS or SASL.
// definite means retrying cannot help. A broker closing a new connection at
// once is not definite: it may be a proxy in front of a broker that is not
// up yet, so the pipeline keeps waiting; commands that give up explain it.
func (w *SecurityWatch) classify(err error) (f *SecurityError, definite bool) {
	if err == nil {
		return nil, false
	}
	switch {
	case errors.Is(err, kerr.SaslAuthenticationFailed), errors.Is(err, kerr.IllegalSaslState):
		return w.saslFailed(err, err.Error()), true
	case errors.Is(err, kerr.UnsupportedSaslMechanism):
		return securityErrorf(err, "Kafka SASL: the brokers do not enable the mechanism %s (%v): set kafka.sasl.mechanism (KAFKA_SASL_MECHANISM) to one they do",
			w.sasl.Mechanism, err), true
	}
	if f := tlsFailure(err, kafkaTLSNames); f != nil {
		return f, true
	}
	if fe, ok := errors.AsType[*kgo.ErrFirstReadEOF](err); ok {
		return securityErrorf(err, "Kafka: the broker closed the connection at once (%v): make kafka.tls.enabled (KAFKA_TLS_ENABLED) and kafka.sasl.mechanism (KAFKA_SASL_MECHANISM) match the brokers' listener",
			fe), false
	}
	return nil, false
}

func (w *SecurityWatch) saslFailed(err error, what string) *SecurityError {
	s := w.sasl
	switch s.Mechanism {
	case config.SASLOAuthBearer:
		return securityErrorf(err, "Kafka SASL authentication failed: %s (mechanism OAUTHBEARER): check the token (KAFKA_SASL_OAUTH_TOKEN or "+
			"KAFKA_SASL_OAUTH_TOKEN_FILE): whether it expired, its issuer and audience, and kafka.sasl.oauth.extensions (KAFKA_SASL_OAUTH_EXTENSIONS)", what)
	case config.SASLAWSMSKIAM:
		from := "KAFKA_SASL_AWS_ACCESS_KEY_ID, KAFKA_SASL_AWS_SECRET_ACCESS_KEY, KAFKA_SASL_AWS_SESSION_TOKEN"
		if s.AWS.FromEnvironment {
			from = "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN"
		}
		return securityErrorf(err, "Kafka SASL authentication failed: %s (mechanism AWS_MSK_IAM, access key %q): check the credentials (%s), "+
			"that temporary ones have not expired, the region (AWS_REGION when the broker names do not carry it), and that the IAM policy "+
			"allows kafka-cluster:Connect on the cluster", what, s.AWS.AccessKeyID, from)
	}
	return securityErrorf(err, "Kafka SASL authentication failed: %s (mechanism %s, user %q): check kafka.sasl.username (KAFKA_SASL_USERNAME), "+
		"the password (KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE) and kafka.sasl.mechanism (KAFKA_SASL_MECHANISM)",
		what, s.Mechanism, s.Username)
}

func (w *SecurityWatch) begun(addr string) {
	w.mu.Lock()
	w.pending[addr]++
	w.mu.Unlock()
}

func (w *SecurityWatch) finished(addr string) {
	w.mu.Lock()
	if w.pending[addr] > 0 {
		w.pending[addr]--
	}
	w.mu.Unlock()
}

// watchedMechanism tells the watch when a SASL authentication begins and
// when it succeeds.
type watchedMechanism struct {
	sasl.Mechanism
	watch *SecurityWatch
}

func (m watchedMechanism) Authenticate(ctx context.Context, addr string) (sasl.Session, []byte, error) {
	s, first, err := m.Mechanism.Authenticate(ctx, addr)
	if err != nil {
		return nil, nil, err
	}
	m.watch.begun(addr)
	return watchedSession{Session: s, watch: m.watch, addr: addr}, first, nil
}

type watchedSession struct {
	sasl.Session
	watch *SecurityWatch
	addr  string
}

func (s watchedSession) Challenge(resp []byte) (bool, []byte, error) {
	done, next, err := s.Session.Challenge(resp)
	if done && err == nil {
		s.watch.finished(s.addr)
	}
	return done, next, err
}

// tlsNames name the settings of one TLS connection in messages.
type tlsNames struct {
	peer      string // who the connector talks to
	prefix    string // of the setting keys
	env       string // prefix of the environment variables
	nameHint  string // what to do about a certificate for another name
	plainHint string // what to do about a server that does not speak TLS
}

var (
	kafkaTLSNames = tlsNames{
		peer: "the Kafka brokers", prefix: "kafka.tls", env: "KAFKA_TLS",
		nameHint:  "check kafka.brokers (KAFKA_BROKERS), or set kafka.tls.server_name (KAFKA_TLS_SERVER_NAME) to a name the certificate carries",
		plainHint: "check that kafka.brokers (KAFKA_BROKERS) names the brokers' TLS listener, or turn kafka.tls.enabled (KAFKA_TLS_ENABLED) off",
	}
	registryTLSNames = tlsNames{
		peer: "the schema registry", prefix: "schema_registry.tls", env: "SCHEMA_REGISTRY_TLS",
		nameHint:  "check the host of schema_registry.url (SCHEMA_REGISTRY_URL)",
		plainHint: "check schema_registry.url (SCHEMA_REGISTRY_URL): the registry may serve http://",
	}
)

// tlsFailure recognises a failed TLS handshake with the peer named by n.
func tlsFailure(err error, n tlsNames) *SecurityError {
	if ua, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		return securityErrorf(err, "TLS with %s failed: the certificate is signed by an authority the connector does not trust (%v): set %s.ca_file (%s_CA_FILE) to the PEM file of that authority",
			n.peer, ua, n.prefix, n.env)
	}
	if he, ok := errors.AsType[x509.HostnameError](err); ok {
		return securityErrorf(err, "TLS with %s failed: the certificate is for another name (%v): %s", n.peer, he, n.nameHint)
	}
	if ie, ok := errors.AsType[x509.CertificateInvalidError](err); ok {
		return securityErrorf(err, "TLS with %s failed: the certificate is invalid (%v): check its dates against this machine's clock, and its key usage", n.peer, ie)
	}
	if ve, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return securityErrorf(err, "TLS with %s failed: the certificate cannot be verified (%v): check %s.ca_file (%s_CA_FILE)", n.peer, ve, n.prefix, n.env)
	}
	if re, ok := errors.AsType[tls.RecordHeaderError](err); ok {
		return securityErrorf(err, "TLS with %s failed: the server does not answer in TLS (%v): %s", n.peer, re, n.plainHint)
	}
	if oe, ok := errors.AsType[*net.OpError](err); ok && oe.Op == "remote error" {
		return securityErrorf(err, "TLS with %s failed: the server refused the handshake (%v): when it requires a client certificate, set %s.cert_file and %s.key_file (%s_CERT_FILE, %s_KEY_FILE) to one signed by an authority it trusts",
			n.peer, oe, n.prefix, n.prefix, n.env, n.env)
	}
	return nil
}
