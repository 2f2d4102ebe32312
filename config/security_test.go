package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"
)

const testPassword = "pw-SECRET-9931"

// pemFiles are PEM files of a CA, a client certificate it signed and its
// key, and another key, in a temporary directory.
type pemFiles struct {
	ca, cert, key, ecKey, otherKey, garbage string
	keyPEM                                  string // the key's PEM text, which must never be printed
}

func newPEMFiles(t *testing.T) pemFiles {
	t.Helper()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey, key, other := newKey(), newKey(), newKey()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "connector"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caTmpl, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	encode := func(typ string, der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	pkcs8 := func(k *ecdsa.PrivateKey) string {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return encode("PRIVATE KEY", der)
	}
	ecDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pkcs8(key)
	return pemFiles{
		ca:       writeFile(t, "ca.pem", encode("CERTIFICATE", caDER)),
		cert:     writeFile(t, "client.crt", encode("CERTIFICATE", leafDER)),
		key:      writeFile(t, "client.key", keyPEM),
		ecKey:    writeFile(t, "client-ec.key", encode("EC PRIVATE KEY", ecDER)),
		otherKey: writeFile(t, "other.key", pkcs8(other)),
		garbage:  writeFile(t, "garbage.pem", "not a PEM file\n"),
		keyPEM:   keyPEM,
	}
}

func TestSecurityProblems(t *testing.T) {
	f := newPEMFiles(t)
	pwFile := writeFile(t, "password", "\n"+testPassword+"\n")
	emptyFile := writeFile(t, "empty", " \n")
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{
			name: "client certificate without its key",
			env:  map[string]string{"KAFKA_TLS_ENABLED": "true", "KAFKA_TLS_CERT_FILE": f.cert},
			want: []string{"kafka.tls.key_file (env KAFKA_TLS_KEY_FILE): kafka.tls.cert_file is set without it: set both or neither"},
		},
		{
			name: "key without its certificate",
			env:  map[string]string{"KAFKA_TLS_ENABLED": "true", "KAFKA_TLS_KEY_FILE": f.key},
			want: []string{"kafka.tls.cert_file (env KAFKA_TLS_CERT_FILE): kafka.tls.key_file is set without it: set both or neither"},
		},
		{
			name: "key of another certificate",
			env:  map[string]string{"KAFKA_TLS_ENABLED": "true", "KAFKA_TLS_CERT_FILE": f.cert, "KAFKA_TLS_KEY_FILE": f.otherKey},
			want: []string{"kafka.tls.key_file (env KAFKA_TLS_KEY_FILE): the key in " + f.otherKey + " and the certificate in " + f.cert +
				" (kafka.tls.cert_file) are not a pair: private key does not match public key"},
		},
		{
			name: "CA file that is not PEM names the file",
			env:  map[string]string{"KAFKA_TLS_ENABLED": "true", "KAFKA_TLS_CA_FILE": f.garbage},
			want: []string{`kafka.tls.ca_file (env KAFKA_TLS_CA_FILE): bad value "` + f.garbage +
				`" from the environment: no PEM certificate (-----BEGIN CERTIFICATE-----) in the file`},
		},
		{
			name: "missing CA file",
			env:  map[string]string{"KAFKA_TLS_ENABLED": "true", "KAFKA_TLS_CA_FILE": "/nonexistent/ca.pem"},
			want: []string{`kafka.tls.ca_file (env KAFKA_TLS_CA_FILE): bad value "/nonexistent/ca.pem" from the environment: ` +
				`cannot read the file: open /nonexistent/ca.pem: no such file or directory`},
		},
		{
			name: "a certificate given as the key",
			env:  map[string]string{"KAFKA_TLS_ENABLED": "true", "KAFKA_TLS_CERT_FILE": f.cert, "KAFKA_TLS_KEY_FILE": f.cert},
			want: []string{`kafka.tls.key_file (env KAFKA_TLS_KEY_FILE): bad value "` + f.cert +
				`" from the environment: no PEM private key (-----BEGIN PRIVATE KEY-----) in the file`},
		},
		{
			name: "TLS files while TLS is off",
			env:  map[string]string{"KAFKA_TLS_CA_FILE": f.ca, "KAFKA_TLS_INSECURE_SKIP_VERIFY": "true"},
			want: []string{"kafka.tls.enabled (env KAFKA_TLS_ENABLED): kafka.tls.ca_file, kafka.tls.insecure_skip_verify is set, " +
				"but TLS is off: set KAFKA_TLS_ENABLED=true, or remove the TLS settings"},
		},
		{
			name: "not a boolean",
			env:  map[string]string{"KAFKA_TLS_ENABLED": "maybe"},
			want: []string{`kafka.tls.enabled (env KAFKA_TLS_ENABLED): bad value "maybe" from the environment: must be true or false`},
		},
		{
			name: "unknown mechanism",
			env:  map[string]string{"KAFKA_SASL_MECHANISM": "GSSAPI", "KAFKA_SASL_USERNAME": "connector", "KAFKA_SASL_PASSWORD": testPassword},
			want: []string{`kafka.sasl.mechanism (env KAFKA_SASL_MECHANISM): bad value "GSSAPI" from the environment: ` +
				`must be none, PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER or AWS_MSK_IAM`},
		},
		{
			name: "mechanism without credentials",
			env:  map[string]string{"KAFKA_SASL_MECHANISM": "SCRAM-SHA-512"},
			want: []string{
				"kafka.sasl.username (env KAFKA_SASL_USERNAME): required by kafka.sasl.mechanism SCRAM-SHA-512",
				"kafka.sasl.password: required by kafka.sasl.mechanism SCRAM-SHA-512: set KAFKA_SASL_PASSWORD, or KAFKA_SASL_PASSWORD_FILE " +
					"to a file holding it (config keys kafka.sasl.password, kafka.sasl.password_file)",
			},
		},
		{
			name: "password without username",
			env:  map[string]string{"KAFKA_SASL_MECHANISM": "plain", "KAFKA_SASL_PASSWORD": testPassword},
			want: []string{"kafka.sasl.username (env KAFKA_SASL_USERNAME): required by kafka.sasl.mechanism PLAIN"},
		},
		{
			name: "credentials without a mechanism",
			env:  map[string]string{"KAFKA_SASL_USERNAME": "connector", "KAFKA_SASL_PASSWORD_FILE": pwFile},
			want: []string{"kafka.sasl.mechanism (env KAFKA_SASL_MECHANISM): kafka.sasl.username and kafka.sasl.password is set, " +
				"but the mechanism is none: set KAFKA_SASL_MECHANISM to PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER or AWS_MSK_IAM"},
		},
		{
			name: "password and password file",
			env: map[string]string{"KAFKA_SASL_MECHANISM": "SCRAM-SHA-256", "KAFKA_SASL_USERNAME": "connector",
				"KAFKA_SASL_PASSWORD": testPassword, "KAFKA_SASL_PASSWORD_FILE": pwFile},
			want: []string{"kafka.sasl.password (env KAFKA_SASL_PASSWORD) and kafka.sasl.password_file (env KAFKA_SASL_PASSWORD_FILE) " +
				"are both set in the environment: set only one"},
		},
		{
			name: "empty password file",
			env:  map[string]string{"KAFKA_SASL_MECHANISM": "SCRAM-SHA-256", "KAFKA_SASL_USERNAME": "connector", "KAFKA_SASL_PASSWORD_FILE": emptyFile},
			want: []string{`kafka.sasl.password_file (env KAFKA_SASL_PASSWORD_FILE): bad value "` + emptyFile +
				`" from the environment: the password file is empty`},
		},
		{
			name: "a password with a control character is not shown",
			env:  map[string]string{"KAFKA_SASL_MECHANISM": "PLAIN", "KAFKA_SASL_USERNAME": "connector", "KAFKA_SASL_PASSWORD": testPassword + "\x07"},
			want: []string{"kafka.sasl.password (env KAFKA_SASL_PASSWORD): bad value [redacted] from the environment: must not contain control characters"},
		},
		{
			name: "registry password without username",
			env:  map[string]string{"SCHEMA_REGISTRY_URL": "https://sr.example.com", "SCHEMA_REGISTRY_PASSWORD": testPassword},
			want: []string{"schema_registry.username (env SCHEMA_REGISTRY_USERNAME): required with the registry password: set SCHEMA_REGISTRY_USERNAME"},
		},
		{
			name: "registry username without password",
			env:  map[string]string{"SCHEMA_REGISTRY_URL": "https://sr.example.com", "SCHEMA_REGISTRY_USERNAME": "connector"},
			want: []string{"schema_registry.password (env SCHEMA_REGISTRY_PASSWORD): required with schema_registry.username: " +
				"set SCHEMA_REGISTRY_PASSWORD, or SCHEMA_REGISTRY_PASSWORD_FILE to a file holding it"},
		},
		{
			name: "registry settings without a registry",
			env:  map[string]string{"SCHEMA_REGISTRY_USERNAME": "connector", "SCHEMA_REGISTRY_PASSWORD": testPassword, "SCHEMA_REGISTRY_TLS_CA_FILE": f.ca},
			want: []string{"schema_registry.url (env SCHEMA_REGISTRY_URL): schema_registry.username, schema_registry.password, " +
				"schema_registry.tls.ca_file is set, but no registry is: set the registry URL, or remove these settings"},
		},
		{
			name: "registry TLS with an http URL",
			env:  map[string]string{"SCHEMA_REGISTRY_URL": "http://sr.example.com", "SCHEMA_REGISTRY_TLS_CA_FILE": f.ca},
			want: []string{"schema_registry.url (env SCHEMA_REGISTRY_URL): schema_registry.tls.ca_file is set, but the URL is http://: " +
				"use an https:// URL, or remove the TLS settings"},
		},
		{
			name: "every problem at once",
			env: map[string]string{
				"KAFKA_TLS_ENABLED": "true", "KAFKA_TLS_CERT_FILE": f.cert,
				"KAFKA_SASL_MECHANISM": "SCRAM-SHA-1", "KAFKA_SASL_PASSWORD": testPassword,
				"SCHEMA_REGISTRY_URL": "https://sr.example.com", "SCHEMA_REGISTRY_TLS_CERT_FILE": f.cert, "SCHEMA_REGISTRY_TLS_KEY_FILE": f.garbage,
			},
			want: []string{
				`kafka.sasl.mechanism (env KAFKA_SASL_MECHANISM): bad value "SCRAM-SHA-1" from the environment: must be none, PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER or AWS_MSK_IAM`,
				`schema_registry.tls.key_file (env SCHEMA_REGISTRY_TLS_KEY_FILE): bad value "` + f.garbage +
					`" from the environment: no PEM private key (-----BEGIN PRIVATE KEY-----) in the file`,
				"kafka.tls.key_file (env KAFKA_TLS_KEY_FILE): kafka.tls.cert_file is set without it: set both or neither",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadCase{env: with(tt.env)}.load(t)
			var e *Error
			if !asError(err, &e) {
				t.Fatalf("Load error = %v, want *Error", err)
			}
			if !reflect.DeepEqual(e.Problems, tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(e.Problems, "\n"), strings.Join(tt.want, "\n"))
			}
			for _, p := range e.Problems {
				if strings.Contains(p, testPassword) || strings.Contains(p, f.keyPEM) {
					t.Errorf("a problem shows a secret: %s", p)
				}
			}
		})
	}
}

func asError(err error, e **Error) bool {
	ce, ok := err.(*Error)
	*e = ce
	return ok
}

func TestSecurityLoads(t *testing.T) {
	f := newPEMFiles(t)
	pwFile := writeFile(t, "password", "\n  "+testPassword+"\n")

	t.Run("mutual TLS and SCRAM from files", func(t *testing.T) {
		cfg := mustLoad(t, loadCase{env: with(map[string]string{
			"KAFKA_TLS_ENABLED": "TRUE", "KAFKA_TLS_CA_FILE": f.ca, "KAFKA_TLS_CERT_FILE": f.cert, "KAFKA_TLS_KEY_FILE": f.ecKey,
			"KAFKA_TLS_SERVER_NAME": "kafka.internal",
			"KAFKA_SASL_MECHANISM":  "scram-sha-512", "KAFKA_SASL_USERNAME": "connector", "KAFKA_SASL_PASSWORD_FILE": pwFile,
		})})
		tc := cfg.Kafka.TLS.ClientConfig()
		if tc == nil || tc.RootCAs == nil || len(tc.Certificates) != 1 || tc.ServerName != "kafka.internal" || tc.InsecureSkipVerify {
			t.Fatalf("ClientConfig = %+v", tc)
		}
		if tc2 := cfg.Kafka.TLS.ClientConfig(); tc2 == tc {
			t.Error("ClientConfig returns the same *tls.Config twice")
		}
		want := SASL{Mechanism: SASLScramSHA512, Username: "connector", Password: testPassword, PasswordFile: pwFile}
		if !reflect.DeepEqual(cfg.Kafka.SASL, want) {
			t.Errorf("SASL = %+v, want %+v", cfg.Kafka.SASL, want)
		}
		if cfg.Kafka.SASL.Password.Reveal() != testPassword {
			t.Error("the password is not the trimmed file content")
		}
		if w := cfg.Warnings(); len(w) != 0 {
			t.Errorf("Warnings = %q", w)
		}
	})

	t.Run("TLS off by default", func(t *testing.T) {
		cfg := mustLoad(t, loadCase{})
		if cfg.Kafka.TLS.ClientConfig() != nil || cfg.SchemaRegistry.TLS.ClientConfig() != nil || cfg.Kafka.SASL.Mechanism != SASLNone {
			t.Errorf("security settings on by default: %+v %+v", cfg.Kafka.TLS, cfg.Kafka.SASL)
		}
	})

	t.Run("registry over https with basic auth", func(t *testing.T) {
		cfg := mustLoad(t, loadCase{env: with(map[string]string{
			"SCHEMA_REGISTRY_URL": "https://sr.example.com", "SCHEMA_REGISTRY_USERNAME": "api-key", "SCHEMA_REGISTRY_PASSWORD": testPassword,
			"SCHEMA_REGISTRY_TLS_CA_FILE": f.ca, "SCHEMA_REGISTRY_TLS_CERT_FILE": f.cert, "SCHEMA_REGISTRY_TLS_KEY_FILE": f.key,
		})})
		r := cfg.SchemaRegistry
		tc := r.TLS.ClientConfig()
		if tc == nil || tc.RootCAs == nil || len(tc.Certificates) != 1 || r.Username != "api-key" || r.Password.Reveal() != testPassword {
			t.Errorf("SchemaRegistry = %+v, TLS %+v", r, tc)
		}
	})

	t.Run("YAML, with the password from the environment replacing the file", func(t *testing.T) {
		cfg := mustLoad(t, loadCase{
			yaml: "kafka:\n  tls:\n    enabled: true\n    ca_file: " + f.ca + "\n  sasl:\n    mechanism: PLAIN\n    username: connector\n" +
				"    password_file: /nonexistent\nschema_registry:\n  url: https://sr.example.com\n  tls:\n    insecure_skip_verify: true\n",
			env: with(map[string]string{"KAFKA_SASL_PASSWORD": testPassword}),
		})
		if !cfg.Kafka.TLS.Enabled || cfg.Kafka.SASL.Mechanism != SASLPlain || cfg.Kafka.SASL.Password.Reveal() != testPassword || cfg.Kafka.SASL.PasswordFile != "" {
			t.Errorf("Kafka = %+v", cfg.Kafka)
		}
		if !cfg.SchemaRegistry.TLS.ClientConfig().InsecureSkipVerify {
			t.Error("registry insecure_skip_verify not applied")
		}
		want := []string{"schema_registry.tls.insecure_skip_verify is on: the registry's certificate is not verified, so anyone on the network path can pose as it; use it only for tests"}
		if w := cfg.Warnings(); !reflect.DeepEqual(w, want) {
			t.Errorf("Warnings = %q", w)
		}
	})

	t.Run("weak settings are warned about", func(t *testing.T) {
		cfg := mustLoad(t, loadCase{env: with(map[string]string{
			"KAFKA_SASL_MECHANISM": "PLAIN", "KAFKA_SASL_USERNAME": "connector", "KAFKA_SASL_PASSWORD": testPassword,
			"SCHEMA_REGISTRY_URL": "http://sr.example.com", "SCHEMA_REGISTRY_USERNAME": "u", "SCHEMA_REGISTRY_PASSWORD": testPassword,
		})})
		w := strings.Join(cfg.Warnings(), "\n")
		for _, s := range []string{"PLAIN without kafka.tls.enabled", "schema_registry.username is set with an http:// URL"} {
			if !strings.Contains(w, s) {
				t.Errorf("Warnings lack %q:\n%s", s, w)
			}
		}
		cfg = mustLoad(t, loadCase{env: with(map[string]string{"KAFKA_TLS_ENABLED": "true", "KAFKA_TLS_INSECURE_SKIP_VERIFY": "1"})})
		if w := cfg.Warnings(); len(w) != 1 || !strings.Contains(w[0], "kafka.tls.insecure_skip_verify is on") {
			t.Errorf("Warnings = %q", w)
		}
	})
}

// TestSecurityNeverPrinted checks that neither password nor private key
// reaches fmt, JSON, YAML or slog output of a loaded configuration.
func TestSecurityNeverPrinted(t *testing.T) {
	f := newPEMFiles(t)
	cfg := mustLoad(t, loadCase{env: with(map[string]string{
		"KAFKA_TLS_ENABLED": "true", "KAFKA_TLS_CA_FILE": f.ca, "KAFKA_TLS_CERT_FILE": f.cert, "KAFKA_TLS_KEY_FILE": f.key,
		"KAFKA_SASL_MECHANISM": "SCRAM-SHA-256", "KAFKA_SASL_USERNAME": "connector", "KAFKA_SASL_PASSWORD": testPassword,
		"SCHEMA_REGISTRY_URL": "https://sr.example.com", "SCHEMA_REGISTRY_USERNAME": "api-key", "SCHEMA_REGISTRY_PASSWORD": testPassword,
		"SCHEMA_REGISTRY_TLS_CERT_FILE": f.cert, "SCHEMA_REGISTRY_TLS_KEY_FILE": f.key,
	})})
	var outputs []string
	for _, v := range []any{cfg, *cfg, cfg.Kafka, cfg.Kafka.TLS, &cfg.Kafka.TLS, cfg.Kafka.SASL, cfg.SchemaRegistry, cfg.SchemaRegistry.TLS} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
			outputs = append(outputs, fmt.Sprintf(verb, v))
		}
	}
	forms, logged := printedForms(t, cfg, "kafka", cfg.Kafka, "tls", cfg.Kafka.TLS, "sasl", cfg.Kafka.SASL)
	outputs = append(outputs, forms...)

	keyBody := strings.Join(strings.Split(f.keyPEM, "\n")[1:3], "") // base64 of the key
	for _, out := range outputs {
		if strings.Contains(out, testPassword) || strings.Contains(out, keyBody) || strings.Contains(out, "PRIVATE KEY") {
			t.Errorf("a secret appears in %s", out)
		}
	}
	for _, want := range []string{
		"config.kafka.sasl.password=[redacted]", "config.kafka.sasl.mechanism=SCRAM-SHA-256", "config.kafka.tls.ca_file=" + f.ca,
		"config.schema_registry.password=[redacted]", `"password":"[redacted]"`,
	} {
		if !strings.Contains(logged, want) {
			t.Errorf("slog output lacks %s:\n%s", want, logged)
		}
	}
	if s := fmt.Sprint(cfg.Kafka.TLS); s != "on ca_file="+f.ca+" cert_file="+f.cert+" key_file="+f.key {
		t.Errorf("TLS prints as %q", s)
	}
}
