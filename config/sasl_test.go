package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"
)

const (
	testOAuthToken = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXRva2Vu.c2ln"
	testAWSSecret  = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	testAWSSession = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN"
)

func TestOAuthBearer(t *testing.T) {
	tokenFile := writeFile(t, "token", "\n"+testOAuthToken+"\n")

	t.Run("token from the environment", func(t *testing.T) {
		cfg := mustLoad(t, loadCase{env: with(map[string]string{
			"KAFKA_TLS_ENABLED": "true", "KAFKA_SASL_MECHANISM": "oauthbearer", "KAFKA_SASL_OAUTH_TOKEN": testOAuthToken,
			"KAFKA_SASL_OAUTH_EXTENSIONS": "logicalCluster=lkc-abc123, identityPoolId=pool-Xy1",
		})})
		want := SASL{Mechanism: SASLOAuthBearer, OAuth: OAuth{Token: testOAuthToken,
			Extensions: map[string]string{"logicalCluster": "lkc-abc123", "identityPoolId": "pool-Xy1"}}}
		if !reflect.DeepEqual(cfg.Kafka.SASL, want) {
			t.Errorf("SASL = %#v, want %#v", cfg.Kafka.SASL, want)
		}
		if tok, err := cfg.Kafka.SASL.OAuth.CurrentToken(); err != nil || tok.Reveal() != testOAuthToken {
			t.Errorf("CurrentToken = %v, %v", tok.Reveal(), err)
		}
		if w := cfg.Warnings(); len(w) != 0 {
			t.Errorf("Warnings = %q", w)
		}
	})

	t.Run("token file, read again for every authentication", func(t *testing.T) {
		cfg := mustLoad(t, loadCase{yaml: "kafka:\n  sasl:\n    mechanism: OAUTHBEARER\n    oauth:\n      token_file: " + tokenFile +
			"\n      extensions:\n        logicalCluster: lkc-abc123\n"})
		o := cfg.Kafka.SASL.OAuth
		if o.Token != "" || o.TokenFile != tokenFile || !reflect.DeepEqual(o.Extensions, map[string]string{"logicalCluster": "lkc-abc123"}) {
			t.Errorf("OAuth = %#v", o)
		}
		if tok, err := o.CurrentToken(); err != nil || tok.Reveal() != testOAuthToken {
			t.Errorf("CurrentToken = %v, %v", tok.Reveal(), err)
		}
		if err := os.WriteFile(tokenFile, []byte("rotated-token\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if tok, err := o.CurrentToken(); err != nil || tok.Reveal() != "rotated-token" {
			t.Errorf("after rotation CurrentToken = %v, %v", tok.Reveal(), err)
		}
		if err := os.WriteFile(tokenFile, []byte("  \n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := o.CurrentToken(); err == nil || err.Error() != "OAUTHBEARER token file "+tokenFile+": the token file is empty" {
			t.Errorf("emptied file: CurrentToken error = %v", err)
		}
		w := cfg.Warnings()
		if len(w) != 1 || !strings.Contains(w[0], "OAUTHBEARER without kafka.tls.enabled: the token crosses the network in clear text") {
			t.Errorf("Warnings = %q", w)
		}
	})
}

func TestAWSMSKIAM(t *testing.T) {
	t.Run("settings", func(t *testing.T) {
		cfg := mustLoad(t, loadCase{env: with(map[string]string{
			"KAFKA_TLS_ENABLED": "true", "KAFKA_SASL_MECHANISM": "aws_msk_iam",
			"KAFKA_SASL_AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "KAFKA_SASL_AWS_SECRET_ACCESS_KEY": testAWSSecret,
			"KAFKA_SASL_AWS_SESSION_TOKEN": testAWSSession,
			// The standard variables do not mix with the settings.
			"AWS_ACCESS_KEY_ID": "AKIAOTHER", "AWS_SECRET_ACCESS_KEY": "other",
		})})
		want := SASL{Mechanism: SASLAWSMSKIAM, AWS: AWS{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: testAWSSecret, SessionToken: testAWSSession}}
		if !reflect.DeepEqual(cfg.Kafka.SASL, want) {
			t.Errorf("SASL = %#v, want %#v", cfg.Kafka.SASL, want)
		}
		if w := cfg.Warnings(); len(w) != 0 {
			t.Errorf("Warnings = %q", w)
		}
	})
	t.Run("the standard AWS variables", func(t *testing.T) {
		cfg := mustLoad(t, loadCase{env: with(map[string]string{
			"KAFKA_SASL_MECHANISM": "AWS_MSK_IAM", "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": testAWSSecret,
		})})
		want := AWS{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: testAWSSecret, FromEnvironment: true}
		if !reflect.DeepEqual(cfg.Kafka.SASL.AWS, want) {
			t.Errorf("AWS = %#v, want %#v", cfg.Kafka.SASL.AWS, want)
		}
		w := cfg.Warnings()
		if len(w) != 1 || !strings.Contains(w[0], "MSK serves IAM authentication only on its TLS listener") {
			t.Errorf("Warnings = %q", w)
		}
	})
	t.Run("the AWS variables are ignored for other mechanisms", func(t *testing.T) {
		cfg := mustLoad(t, loadCase{env: with(map[string]string{"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": testAWSSecret})})
		if !reflect.DeepEqual(cfg.Kafka.SASL, SASL{}) {
			t.Errorf("SASL = %#v", cfg.Kafka.SASL)
		}
	})
}

func TestSASLMechanismProblems(t *testing.T) {
	tokenFile := writeFile(t, "token", testOAuthToken)
	emptyFile := writeFile(t, "empty", "\n")
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{
			name: "OAUTHBEARER without a token",
			env:  map[string]string{"KAFKA_SASL_MECHANISM": "OAUTHBEARER"},
			want: []string{"kafka.sasl.oauth.token: required by kafka.sasl.mechanism OAUTHBEARER: set KAFKA_SASL_OAUTH_TOKEN, or KAFKA_SASL_OAUTH_TOKEN_FILE " +
				"to a file holding it, read again for every authentication (config keys kafka.sasl.oauth.token, kafka.sasl.oauth.token_file)"},
		},
		{
			name: "token and token file",
			env:  map[string]string{"KAFKA_SASL_MECHANISM": "OAUTHBEARER", "KAFKA_SASL_OAUTH_TOKEN": testOAuthToken, "KAFKA_SASL_OAUTH_TOKEN_FILE": tokenFile},
			want: []string{"kafka.sasl.oauth.token (env KAFKA_SASL_OAUTH_TOKEN) and kafka.sasl.oauth.token_file (env KAFKA_SASL_OAUTH_TOKEN_FILE) are both set in the environment: set only one"},
		},
		{
			name: "empty token file",
			env:  map[string]string{"KAFKA_SASL_MECHANISM": "OAUTHBEARER", "KAFKA_SASL_OAUTH_TOKEN_FILE": emptyFile},
			want: []string{`kafka.sasl.oauth.token_file (env KAFKA_SASL_OAUTH_TOKEN_FILE): bad value "` + emptyFile + `" from the environment: the token file is empty`},
		},
		{
			name: "a token with a space is not shown",
			env:  map[string]string{"KAFKA_SASL_MECHANISM": "OAUTHBEARER", "KAFKA_SASL_OAUTH_TOKEN": testOAuthToken + " x"},
			want: []string{"kafka.sasl.oauth.token (env KAFKA_SASL_OAUTH_TOKEN): bad value [redacted] from the environment: must not contain whitespace or control characters"},
		},
		{
			name: "bad extensions",
			env:  map[string]string{"KAFKA_SASL_MECHANISM": "OAUTHBEARER", "KAFKA_SASL_OAUTH_TOKEN": testOAuthToken, "KAFKA_SASL_OAUTH_EXTENSIONS": "auth=x,logical_cluster=1,a=,b"},
			want: []string{`kafka.sasl.oauth.extensions (env KAFKA_SASL_OAUTH_EXTENSIONS): bad value "auth=x,logical_cluster=1,a=,b" from the environment: ` +
				`key "auth" is reserved for the token; key "logical_cluster" must be letters only; key a needs a value without control characters; "b" is not key=value`},
		},
		{
			name: "OAUTHBEARER with a password",
			env:  map[string]string{"KAFKA_SASL_MECHANISM": "OAUTHBEARER", "KAFKA_SASL_OAUTH_TOKEN": testOAuthToken, "KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": testPassword},
			want: []string{"kafka.sasl.mechanism (env KAFKA_SASL_MECHANISM): kafka.sasl.username and kafka.sasl.password is set, but the mechanism OAUTHBEARER does not use it: " +
				"remove it, or set KAFKA_SASL_MECHANISM to the mechanism it belongs to"},
		},
		{
			name: "a token for SCRAM",
			env:  map[string]string{"KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": testPassword, "KAFKA_SASL_OAUTH_TOKEN_FILE": tokenFile},
			want: []string{"kafka.sasl.mechanism (env KAFKA_SASL_MECHANISM): kafka.sasl.oauth.token is set, but the mechanism SCRAM-SHA-512 does not use it: " +
				"remove it, or set KAFKA_SASL_MECHANISM to the mechanism it belongs to"},
		},
		{
			name: "a token without a mechanism",
			env:  map[string]string{"KAFKA_SASL_OAUTH_TOKEN": testOAuthToken, "KAFKA_SASL_AWS_ACCESS_KEY_ID": "AKIA"},
			want: []string{"kafka.sasl.mechanism (env KAFKA_SASL_MECHANISM): kafka.sasl.oauth.token and kafka.sasl.aws is set, but the mechanism is none: " +
				"set KAFKA_SASL_MECHANISM to PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER or AWS_MSK_IAM"},
		},
		{
			name: "AWS_MSK_IAM without credentials",
			env:  map[string]string{"KAFKA_SASL_MECHANISM": "AWS_MSK_IAM"},
			want: []string{"kafka.sasl.aws: kafka.sasl.mechanism AWS_MSK_IAM needs AWS credentials: set KAFKA_SASL_AWS_ACCESS_KEY_ID and KAFKA_SASL_AWS_SECRET_ACCESS_KEY " +
				"(and KAFKA_SASL_AWS_SESSION_TOKEN for temporary credentials), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"},
		},
		{
			name: "AWS_MSK_IAM with half the credentials",
			env:  map[string]string{"KAFKA_SASL_MECHANISM": "AWS_MSK_IAM", "KAFKA_SASL_AWS_SECRET_ACCESS_KEY": testAWSSecret},
			want: []string{"kafka.sasl.aws: the access key ID is not set: set KAFKA_SASL_AWS_ACCESS_KEY_ID and KAFKA_SASL_AWS_SECRET_ACCESS_KEY together"},
		},
		{
			name: "AWS_MSK_IAM with half the standard variables",
			env:  map[string]string{"KAFKA_SASL_MECHANISM": "AWS_MSK_IAM", "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE"},
			want: []string{"kafka.sasl.aws: AWS_MSK_IAM takes its credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones), " +
				"but the secret access key is not set"},
		},
		{
			name: "a bad standard variable is not shown",
			env:  map[string]string{"KAFKA_SASL_MECHANISM": "AWS_MSK_IAM", "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": testAWSSecret + "\x07"},
			want: []string{
				"AWS_SECRET_ACCESS_KEY (for kafka.sasl.mechanism AWS_MSK_IAM): must not contain whitespace or control characters",
				"kafka.sasl.aws: AWS_MSK_IAM takes its credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones), " +
					"but the secret access key is not set",
			},
		},
		{
			name: "AWS credentials with SCRAM",
			env: map[string]string{"KAFKA_SASL_MECHANISM": "SCRAM-SHA-256", "KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": testPassword,
				"KAFKA_SASL_AWS_SECRET_ACCESS_KEY": testAWSSecret},
			want: []string{"kafka.sasl.mechanism (env KAFKA_SASL_MECHANISM): kafka.sasl.aws is set, but the mechanism SCRAM-SHA-256 does not use it: " +
				"remove it, or set KAFKA_SASL_MECHANISM to the mechanism it belongs to"},
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
				for _, secret := range []string{testOAuthToken, testAWSSecret, testPassword} {
					if strings.Contains(p, secret) {
						t.Errorf("a problem shows a secret: %s", p)
					}
				}
			}
		})
	}
}

// TestSASLSecretsNeverPrinted: tokens and AWS secrets reach no fmt, JSON or
// slog output of a loaded configuration.
func TestSASLSecretsNeverPrinted(t *testing.T) {
	for _, env := range []map[string]string{
		{"KAFKA_SASL_MECHANISM": "OAUTHBEARER", "KAFKA_SASL_OAUTH_TOKEN": testOAuthToken},
		{"KAFKA_SASL_MECHANISM": "AWS_MSK_IAM", "KAFKA_SASL_AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
			"KAFKA_SASL_AWS_SECRET_ACCESS_KEY": testAWSSecret, "KAFKA_SASL_AWS_SESSION_TOKEN": testAWSSession},
	} {
		cfg := mustLoad(t, loadCase{env: with(env)})
		var outputs []string
		for _, v := range []any{cfg, cfg.Kafka, cfg.Kafka.SASL, cfg.Kafka.SASL.OAuth, cfg.Kafka.SASL.AWS} {
			for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
				outputs = append(outputs, fmt.Sprintf(verb, v))
			}
		}
		j, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "config", cfg)
		outputs = append(outputs, string(j), buf.String())
		for _, out := range outputs {
			for _, secret := range []string{testOAuthToken, testAWSSecret, testAWSSession} {
				if strings.Contains(out, secret) {
					t.Errorf("a secret appears in %s", out)
				}
			}
		}
		want := "config.kafka.sasl.oauth_token=[redacted]"
		if env["KAFKA_SASL_MECHANISM"] == "AWS_MSK_IAM" {
			want = "config.kafka.sasl.aws_access_key_id=AKIAIOSFODNN7EXAMPLE config.kafka.sasl.aws_secret_access_key=[redacted] config.kafka.sasl.aws_session_token=[redacted]"
		}
		if !strings.Contains(buf.String(), want) {
			t.Errorf("slog output lacks %s:\n%s", want, buf.String())
		}
	}
}
