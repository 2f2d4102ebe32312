package cli_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/freshstream/freshchat-kafka/cli"
)

func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), args, cli.Streams{Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func clearEnv(t *testing.T) {
	for _, k := range []string{"FRESHCHAT_API_URL", "FRESHCHAT_API_TOKEN", "FRESHCHAT_API_TOKEN_FILE", "KAFKA_BROKERS", "SCHEMA_REGISTRY_URL", "FRESHCHAT_START", "FRESHCHAT_EVENTS", "KAFKA_CONNECT_TIMEOUT", "KAFKA_COMPRESSION",
		"KAFKA_TLS_ENABLED", "KAFKA_TLS_CA_FILE", "KAFKA_TLS_CERT_FILE", "KAFKA_TLS_KEY_FILE", "KAFKA_TLS_SERVER_NAME", "KAFKA_TLS_INSECURE_SKIP_VERIFY",
		"KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD", "KAFKA_SASL_PASSWORD_FILE",
		"KAFKA_SASL_OAUTH_TOKEN", "KAFKA_SASL_OAUTH_TOKEN_FILE", "KAFKA_SASL_OAUTH_EXTENSIONS",
		"KAFKA_SASL_AWS_ACCESS_KEY_ID", "KAFKA_SASL_AWS_SECRET_ACCESS_KEY", "KAFKA_SASL_AWS_SESSION_TOKEN",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "KAFKA_TOPIC_CONFIG", "KAFKA_CLIENT_ID",
		"SCHEMA_REGISTRY_USERNAME", "SCHEMA_REGISTRY_PASSWORD", "SCHEMA_REGISTRY_PASSWORD_FILE", "SCHEMA_REGISTRY_TLS_CA_FILE",
		"SCHEMA_REGISTRY_TLS_CERT_FILE", "SCHEMA_REGISTRY_TLS_KEY_FILE", "SCHEMA_REGISTRY_TLS_INSECURE_SKIP_VERIFY"} {
		t.Setenv(k, "")
	}
	t.Setenv("METRICS_ADDR", "127.0.0.1:0")
}

func TestCommandLine(t *testing.T) {
	const secret = "tok-SECRET-4242"
	const localAPI = "<a local API that accepts the token>"
	cases := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		wantErr  []string
	}{
		{name: "no command", args: nil, wantCode: cli.ExitUsage, wantErr: []string{"Usage:"}},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: cli.ExitUsage, wantErr: []string{`unknown command "frobnicate"`}},
		{name: "help", args: []string{"help"}, wantCode: cli.ExitOK},
		{name: "run --help", args: []string{"run", "--help"}, wantCode: cli.ExitOK, wantErr: []string{"--from", "--to", "--events", "--config"}},
		{name: "bad flag", args: []string{"run", "--nope"}, wantCode: cli.ExitUsage, wantErr: []string{"flag provided but not defined"}},
		{name: "every missing setting named at once", args: []string{"run"}, wantCode: cli.ExitUsage,
			wantErr: []string{"problem", "FRESHCHAT_API_URL", "FRESHCHAT_API_TOKEN", "KAFKA_BROKERS"}},
		{name: "bad range and event", args: []string{"run", "--from", "yesterday-ish", "--events", "Message-Sent,Bad Name!"}, wantCode: cli.ExitUsage,
			env:     map[string]string{"FRESHCHAT_API_URL": "https://acme.freshchat.com/v2", "FRESHCHAT_API_TOKEN": secret, "KAFKA_BROKERS": "localhost:9092"},
			wantErr: []string{"--from", "Bad Name!"}},
		{name: "demo bad days", args: []string{"demo", "--days", "0"}, wantCode: cli.ExitUsage, wantErr: []string{"--days"}},
		{name: "demo negative port", args: []string{"demo", "--kafka-port", "-1"}, wantCode: cli.ExitUsage, wantErr: []string{"--kafka-port must be between 0 and 65535, got -1"}},
		{name: "demo port too high", args: []string{"demo", "--registry-port", "70000"}, wantCode: cli.ExitUsage, wantErr: []string{"--registry-port must be between 0 and 65535, got 70000"}},
		{name: "demo metrics address", args: []string{"demo", "--metrics-addr", "garbage"}, wantCode: cli.ExitUsage,
			wantErr: []string{`--metrics-addr "garbage": want host:port, such as 127.0.0.1:9464, or off`}},
		{name: "unreachable brokers fail with a cause", args: []string{"run", "--from", "-2h", "--to", "-1h"}, wantCode: cli.ExitError,
			env:     map[string]string{"FRESHCHAT_API_URL": localAPI, "FRESHCHAT_API_TOKEN": secret, "KAFKA_BROKERS": "127.0.0.1:1", "KAFKA_CONNECT_TIMEOUT": "1s"},
			wantErr: []string{"127.0.0.1:1", "kafka brokers unreachable", "KAFKA_BROKERS"}},
	}
	api := acceptingAPI(t) // runs get past the start's API check to the failure they test
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tc.env {
				if v == localAPI {
					v = api
				}
				t.Setenv(k, v)
			}
			code, out, errs := runMain(t, tc.args...)
			assert.Equal(t, tc.wantCode, code, "stderr: %s", errs)
			for _, w := range tc.wantErr {
				assert.Contains(t, errs, w)
			}
			assert.NotContains(t, out+errs, secret, "the token never reaches output")
			assert.NotContains(t, errs, "goroutine ", "no stack traces")
		})
	}
}
