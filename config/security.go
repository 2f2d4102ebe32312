package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// TLS is a TLS client setup. Its files were read and its certificates
// parsed by Load: ClientConfig cannot fail. It prints (fmt, slog) as a
// summary of its settings, never as key material.
type TLS struct {
	// Enabled: the connection uses TLS. For Kafka it is kafka.tls.enabled;
	// for the schema registry, an https:// URL.
	Enabled bool
	// CAFile is the PEM file of the trusted authorities; "" means the
	// system's roots.
	CAFile string
	// CertFile and KeyFile are the client certificate and its key (mutual
	// TLS); both are set or neither.
	CertFile, KeyFile string
	// ServerName is the name the server's certificate must carry; "" means
	// the host dialled.
	ServerName string
	// InsecureSkipVerify accepts any server certificate.
	InsecureSkipVerify bool

	roots *x509.CertPool   // parsed CAFile; nil: system roots
	cert  *tls.Certificate // parsed CertFile and KeyFile; nil: none

	// certPEM and keyPEM hold the files between their settings' parsing and
	// checkSecurity, which pairs them into cert and drops them.
	certPEM, keyPEM []byte
}

// ClientConfig returns the client's *tls.Config, a new one on each call; nil
// when TLS is not enabled.
func (t TLS) ClientConfig() *tls.Config {
	if !t.Enabled {
		return nil
	}
	c := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		RootCAs:            t.roots,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, // an explicit setting, warned about at start
	}
	if t.cert != nil {
		c.Certificates = []tls.Certificate{*t.cert}
	}
	return c
}

// HasClientCert reports whether a client certificate is configured.
func (t TLS) HasClientCert() bool { return t.cert != nil }

// String summarises the settings, such as "tls ca_file=/etc/ca.pem".
func (t TLS) String() string {
	if !t.Enabled {
		return "off"
	}
	parts := []string{"on"}
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("ca_file", t.CAFile)
	add("cert_file", t.CertFile)
	add("key_file", t.KeyFile)
	add("server_name", t.ServerName)
	if t.InsecureSkipVerify {
		add("insecure_skip_verify", "true")
	}
	return strings.Join(parts, " ")
}

// Format prints String for every verb, so that no verb reaches the key.
func (t TLS) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, t.String()) }

// LogValue prints the settings as a group.
func (t TLS) LogValue() slog.Value {
	if !t.Enabled {
		return slog.GroupValue(slog.Bool("enabled", false))
	}
	return slog.GroupValue(
		slog.Bool("enabled", true),
		slog.String("ca_file", t.CAFile),
		slog.String("cert_file", t.CertFile),
		slog.String("key_file", t.KeyFile),
		slog.String("server_name", t.ServerName),
		slog.Bool("insecure_skip_verify", t.InsecureSkipVerify),
	)
}

// SASLMechanism is a SASL mechanism for Kafka; SASLNone means no SASL.
type SASLMechanism string

// The SASL mechanisms.
const (
	SASLNone        SASLMechanism = ""
	SASLPlain       SASLMechanism = "PLAIN"
	SASLScramSHA256 SASLMechanism = "SCRAM-SHA-256"
	SASLScramSHA512 SASLMechanism = "SCRAM-SHA-512"
	SASLOAuthBearer SASLMechanism = "OAUTHBEARER"
	SASLAWSMSKIAM   SASLMechanism = "AWS_MSK_IAM"
)

// saslMechanisms lists every mechanism, in the order the docs name them.
var saslMechanisms = []SASLMechanism{SASLNone, SASLPlain, SASLScramSHA256, SASLScramSHA512, SASLOAuthBearer, SASLAWSMSKIAM}

// UsesPassword reports whether m authenticates with a user name and a
// password (PLAIN and SCRAM).
func (m SASLMechanism) UsesPassword() bool {
	return m == SASLPlain || m == SASLScramSHA256 || m == SASLScramSHA512
}

func (m SASLMechanism) String() string {
	if m == SASLNone {
		return "none"
	}
	return string(m)
}

// parseMechanism reads a mechanism case-insensitively.
func parseMechanism(s string) (SASLMechanism, error) {
	for _, m := range saslMechanisms {
		if strings.EqualFold(s, m.String()) {
			return m, nil
		}
	}
	return "", errors.New("must be none, PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER or AWS_MSK_IAM")
}

// SASL configures Kafka authentication. With PLAIN and SCRAM, Username
// and Password are set; with OAUTHBEARER, OAuth holds a token or a token
// file; with AWS_MSK_IAM, AWS holds an access key and its secret.
type SASL struct {
	Mechanism SASLMechanism
	Username  string
	Password  Secret
	// PasswordFile is the file the password was read from, or "".
	PasswordFile string
	OAuth        OAuth
	AWS          AWS
}

// secretSetter stores a password and the file it came from ("" when given
// directly).
type secretSetter func(c *Config, s Secret, file string)

func kafkaPassword(c *Config, s Secret, file string) {
	c.Kafka.SASL.Password, c.Kafka.SASL.PasswordFile = s, file
}

func registryPassword(c *Config, s Secret, file string) {
	c.SchemaRegistry.Password, c.SchemaRegistry.PasswordFile = s, file
}

// passwordField parses a password given directly.
func passwordField(set secretSetter) func(*Config, string, time.Time) error {
	return func(c *Config, v string, _ time.Time) error {
		if err := checkCredential(v); err != nil {
			return err
		}
		set(c, Secret(v), "")
		return nil
	}
}

// passwordFileField reads a password from a file, trimming surrounding
// whitespace.
func passwordFileField(set secretSetter) func(*Config, string, time.Time) error {
	return func(c *Config, v string, _ time.Time) error {
		b, err := os.ReadFile(v)
		if err != nil {
			return fmt.Errorf("cannot read the password file: %w", err)
		}
		pw := strings.TrimSpace(string(b))
		if pw == "" {
			return errors.New("the password file is empty")
		}
		if err := checkCredential(pw); err != nil {
			return fmt.Errorf("the password in the file %w", err)
		}
		set(c, Secret(pw), v)
		return nil
	}
}

// usernameField parses a user name.
func usernameField(field func(*Config) *string) func(*Config, string, time.Time) error {
	return func(c *Config, v string, _ time.Time) error {
		if err := checkCredential(v); err != nil {
			return err
		}
		*field(c) = v
		return nil
	}
}

// checkCredential refuses user names and passwords that no mechanism can
// carry.
func checkCredential(v string) error {
	if !utf8.ValidString(v) {
		return errors.New("must be valid UTF-8")
	}
	if strings.ContainsFunc(v, unicode.IsControl) {
		return errors.New("must not contain control characters")
	}
	return nil
}

func boolField(field func(*Config) *bool) func(*Config, string, time.Time) error {
	return func(c *Config, v string, _ time.Time) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("must be true or false")
		}
		*field(c) = b
		return nil
	}
}

// caFileField reads a PEM file of certificate authorities.
func caFileField(field func(*Config) *TLS) func(*Config, string, time.Time) error {
	return func(c *Config, v string, _ time.Time) error {
		certs, err := readCertificates(v)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		for _, cert := range certs {
			pool.AddCert(cert)
		}
		t := field(c)
		t.CAFile, t.roots = v, pool
		return nil
	}
}

// certFileField reads a PEM client certificate (chain); checkSecurity pairs
// it with its key.
func certFileField(field func(*Config) *TLS) func(*Config, string, time.Time) error {
	return func(c *Config, v string, _ time.Time) error {
		b, err := readFile(v)
		if err != nil {
			return err
		}
		if _, err := parseCertificates(b); err != nil {
			return err
		}
		t := field(c)
		t.CertFile, t.certPEM = v, b
		return nil
	}
}

// keyFileField reads a PEM private key, unencrypted; checkSecurity pairs it
// with its certificate.
func keyFileField(field func(*Config) *TLS) func(*Config, string, time.Time) error {
	return func(c *Config, v string, _ time.Time) error {
		b, err := readFile(v)
		if err != nil {
			return err
		}
		if err := checkPrivateKey(b); err != nil {
			return err
		}
		t := field(c)
		t.KeyFile, t.keyPEM = v, b
		return nil
	}
}

func serverNameField(field func(*Config) *TLS) func(*Config, string, time.Time) error {
	return func(c *Config, v string, _ time.Time) error {
		if strings.ContainsFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '/' }) {
			return errors.New("must be a host name, without spaces or slashes")
		}
		field(c).ServerName = v
		return nil
	}
}

func readFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the file: %w", err)
	}
	return b, nil
}

// readCertificates reads a PEM file holding at least one certificate.
func readCertificates(path string) ([]*x509.Certificate, error) {
	b, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return parseCertificates(b)
}

// parseCertificates parses every CERTIFICATE block of a PEM text; other
// blocks are ignored, and at least one certificate must be found.
func parseCertificates(b []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for n := 1; ; {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d of the file is invalid: %v", n, err)
		}
		certs = append(certs, cert)
		n++
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificate (-----BEGIN CERTIFICATE-----) in the file")
	}
	return certs, nil
}

// checkPrivateKey checks that a PEM text holds an unencrypted private key
// in PKCS #1, PKCS #8 or SEC 1 (EC) form. Errors never quote the key.
func checkPrivateKey(b []byte) error {
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return errors.New("no PEM private key (-----BEGIN PRIVATE KEY-----) in the file")
		}
		switch {
		case block.Type == "ENCRYPTED PRIVATE KEY" || block.Headers["Proc-Type"] != "":
			return errors.New("the private key is encrypted: give an unencrypted key (protect the file instead)")
		case block.Type == "PRIVATE KEY":
			if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
				return errors.New("the PKCS #8 private key in the file cannot be parsed")
			}
			return nil
		case block.Type == "RSA PRIVATE KEY":
			if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
				return errors.New("the RSA private key in the file cannot be parsed")
			}
			return nil
		case block.Type == "EC PRIVATE KEY":
			if _, err := x509.ParseECPrivateKey(block.Bytes); err != nil {
				return errors.New("the EC private key in the file cannot be parsed")
			}
			return nil
		}
	}
}

// checkSecurity reports TLS and authentication settings that are valid
// alone but not together, and pairs the client certificates with their
// keys. Settings that failed to parse are left out.
func checkSecurity(c *Config, failed map[string]bool, p *problems) {
	checkTLS(&c.Kafka.TLS, "kafka.tls", failed, p)
	if !c.Kafka.TLS.Enabled && !failed["kafka.tls.enabled"] {
		var set []string
		for _, k := range []string{"kafka.tls.ca_file", "kafka.tls.cert_file", "kafka.tls.key_file", "kafka.tls.server_name"} {
			if failed[k] || tlsFieldSet(c.Kafka.TLS, k) {
				set = append(set, k)
			}
		}
		if c.Kafka.TLS.InsecureSkipVerify {
			set = append(set, "kafka.tls.insecure_skip_verify")
		}
		if len(set) > 0 {
			p.add("%s: %s is set, but TLS is off: set %s=true, or remove the TLS settings",
				lookup("kafka.tls.enabled").name(), strings.Join(set, ", "), lookup("kafka.tls.enabled").Env)
		}
		c.Kafka.TLS = TLS{}
	}
	checkSASL(c.Kafka.SASL, failed, p)

	r := &c.SchemaRegistry
	r.TLS.Enabled = r.URL != nil && r.URL.Scheme == "https"
	checkTLS(&r.TLS, "schema_registry.tls", failed, p)
	urlOK := !failed["schema_registry.url"]
	var tlsSet []string
	for _, k := range []string{"schema_registry.tls.ca_file", "schema_registry.tls.cert_file", "schema_registry.tls.key_file"} {
		if failed[k] || tlsFieldSet(r.TLS, k) {
			tlsSet = append(tlsSet, k)
		}
	}
	if r.TLS.InsecureSkipVerify {
		tlsSet = append(tlsSet, "schema_registry.tls.insecure_skip_verify")
	}
	switch {
	case !urlOK:
	case r.URL == nil && (r.Username != "" || r.Password != "" || len(tlsSet) > 0):
		var set []string
		if r.Username != "" {
			set = append(set, "schema_registry.username")
		}
		if r.Password != "" {
			set = append(set, "schema_registry.password")
		}
		p.add("%s: %s is set, but no registry is: set the registry URL, or remove these settings",
			lookup("schema_registry.url").name(), strings.Join(append(set, tlsSet...), ", "))
	case r.URL != nil && !r.TLS.Enabled && len(tlsSet) > 0:
		p.add("%s: %s is set, but the URL is http://: use an https:// URL, or remove the TLS settings",
			lookup("schema_registry.url").name(), strings.Join(tlsSet, ", "))
	}
	userBad, passBad := failed["schema_registry.username"], failed["schema_registry.password"] || failed["schema_registry.password_file"]
	switch {
	case r.Username != "" && r.Password == "" && !passBad:
		p.add("%s: required with schema_registry.username: set %s, or %s to a file holding it",
			lookup("schema_registry.password").name(), lookup("schema_registry.password").Env, lookup("schema_registry.password_file").Env)
	case r.Username == "" && r.Password != "" && !userBad:
		p.add("%s: required with the registry password: set %s",
			lookup("schema_registry.username").name(), lookup("schema_registry.username").Env)
	}
	if !r.TLS.Enabled {
		r.TLS = TLS{}
	}
}

// tlsFieldSet reports whether the setting key (such as kafka.tls.ca_file) of t is set.
func tlsFieldSet(t TLS, key string) bool {
	switch key[strings.LastIndexByte(key, '.')+1:] {
	case "ca_file":
		return t.CAFile != ""
	case "cert_file":
		return t.CertFile != ""
	case "key_file":
		return t.KeyFile != ""
	case "server_name":
		return t.ServerName != ""
	}
	return false
}

// checkTLS pairs the client certificate of the settings under prefix with
// its key: both or neither, and matching.
func checkTLS(t *TLS, prefix string, failed map[string]bool, p *problems) {
	certKey, keyKey := prefix+".cert_file", prefix+".key_file"
	certPEM, keyPEM := t.certPEM, t.keyPEM
	t.certPEM, t.keyPEM = nil, nil
	switch {
	case failed[certKey] || failed[keyKey]:
	case t.CertFile != "" && t.KeyFile == "":
		p.add("%s: %s is set without it: set both or neither", lookup(keyKey).name(), certKey)
	case t.CertFile == "" && t.KeyFile != "":
		p.add("%s: %s is set without it: set both or neither", lookup(certKey).name(), keyKey)
	case t.CertFile != "":
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			p.add("%s: the key in %s and the certificate in %s (%s) are not a pair: %s",
				lookup(keyKey).name(), t.KeyFile, t.CertFile, certKey, strings.TrimPrefix(err.Error(), "tls: "))
			return
		}
		t.cert = &cert
	}
}

// checkSASL reports a mechanism without its credentials, and credentials
// that the mechanism does not use.
func checkSASL(s SASL, failed map[string]bool, p *problems) {
	if failed["kafka.sasl.mechanism"] {
		return
	}
	mech := lookup("kafka.sasl.mechanism")
	others := func(keys ...string) {
		if set := saslSetNames(s, failed, keys...); len(set) > 0 {
			p.add("%s: %s is set, but the mechanism %s does not use it: remove it, or set %s to the mechanism it belongs to",
				mech.name(), strings.Join(set, " and "), s.Mechanism, mech.Env)
		}
	}
	switch {
	case s.Mechanism == SASLNone:
		if set := saslSetNames(s, failed, "kafka.sasl.username", "kafka.sasl.password", "kafka.sasl.oauth.token", "kafka.sasl.oauth.extensions", "kafka.sasl.aws"); len(set) > 0 {
			p.add("%s: %s is set, but the mechanism is none: set %s to PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER or AWS_MSK_IAM",
				mech.name(), strings.Join(set, " and "), mech.Env)
		}
	case s.Mechanism.UsesPassword():
		userBad, passBad := failed["kafka.sasl.username"], failed["kafka.sasl.password"] || failed["kafka.sasl.password_file"]
		if s.Username == "" && !userBad {
			p.add("%s: required by %s %s", lookup("kafka.sasl.username").name(), mech.Key, s.Mechanism)
		}
		if s.Password == "" && !passBad {
			p.add("kafka.sasl.password: required by %s %s: set %s, or %s to a file holding it (config keys kafka.sasl.password, kafka.sasl.password_file)",
				mech.Key, s.Mechanism, lookup("kafka.sasl.password").Env, lookup("kafka.sasl.password_file").Env)
		}
		others("kafka.sasl.oauth.token", "kafka.sasl.oauth.extensions", "kafka.sasl.aws")
	case s.Mechanism == SASLOAuthBearer:
		if s.OAuth.Token == "" && s.OAuth.TokenFile == "" && !failed["kafka.sasl.oauth.token"] && !failed["kafka.sasl.oauth.token_file"] {
			p.add("kafka.sasl.oauth.token: required by %s OAUTHBEARER: set %s, or %s to a file holding it, read again for every authentication (config keys kafka.sasl.oauth.token, kafka.sasl.oauth.token_file)",
				mech.Key, lookup("kafka.sasl.oauth.token").Env, lookup("kafka.sasl.oauth.token_file").Env)
		}
		others("kafka.sasl.username", "kafka.sasl.password", "kafka.sasl.aws")
	case s.Mechanism == SASLAWSMSKIAM:
		checkAWS(s.AWS, failed, p)
		others("kafka.sasl.username", "kafka.sasl.password", "kafka.sasl.oauth.token", "kafka.sasl.oauth.extensions")
	}
}

// Warnings lists settings that are valid but weaken security, one sentence
// each, for the start-up log.
func (c Config) Warnings() []string {
	var w []string
	if c.Kafka.TLS.Enabled && c.Kafka.TLS.InsecureSkipVerify {
		w = append(w, "kafka.tls.insecure_skip_verify is on: the brokers' certificates are not verified, so anyone on the network path can pose as them; use it only for tests")
	}
	switch c.Kafka.SASL.Mechanism {
	case SASLPlain, SASLOAuthBearer:
		if !c.Kafka.TLS.Enabled {
			w = append(w, fmt.Sprintf("kafka.sasl.mechanism is %s without kafka.tls.enabled: the %s crosses the network in clear text",
				c.Kafka.SASL.Mechanism, map[SASLMechanism]string{SASLPlain: "password", SASLOAuthBearer: "token"}[c.Kafka.SASL.Mechanism]))
		}
	case SASLAWSMSKIAM:
		if !c.Kafka.TLS.Enabled {
			w = append(w, "kafka.sasl.mechanism is AWS_MSK_IAM without kafka.tls.enabled: Amazon MSK serves IAM authentication only on its TLS listener (port 9098)")
		}
	}
	r := c.SchemaRegistry
	if r.TLS.Enabled && r.TLS.InsecureSkipVerify {
		w = append(w, "schema_registry.tls.insecure_skip_verify is on: the registry's certificate is not verified, so anyone on the network path can pose as it; use it only for tests")
	}
	if r.URL != nil && !r.TLS.Enabled && r.Username != "" {
		w = append(w, "schema_registry.username is set with an http:// URL: the password crosses the network in clear text")
	}
	return w
}
