package config

import (
	"errors"
	"strings"
	"testing"
)

func TestMetricsAddr(t *testing.T) {
	cases := []struct {
		name    string
		yaml    string
		env     map[string]string
		want    string
		wantErr string
	}{
		{name: "default", want: ":9464"},
		{name: "file", yaml: "metrics:\n  addr: 127.0.0.1:9500\n", want: "127.0.0.1:9500"},
		{name: "environment over file", yaml: "metrics:\n  addr: 127.0.0.1:9500\n", env: map[string]string{"METRICS_ADDR": "0.0.0.0:9600"}, want: "0.0.0.0:9600"},
		{name: "off", env: map[string]string{"METRICS_ADDR": "off"}, want: ""},
		{name: "other settings are not read", want: ":9464", env: map[string]string{
			"FRESHCHAT_API_TOKEN_FILE": "/nonexistent/token", "FRESHCHAT_START": "2019-01-01", "KAFKA_BROKERS": "not a broker",
		}},
		{name: "bad address", env: map[string]string{"METRICS_ADDR": "9464"}, wantErr: `metrics.addr (env METRICS_ADDR): bad value "9464" from the environment: must be host:port, :port or off`},
		{name: "broken file", yaml: "metrics: [\n", wantErr: "invalid YAML"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := LoadOptions{Env: func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }}
			if tc.yaml != "" {
				opts.Path = writeFile(t, "config.yaml", tc.yaml)
			}
			got, err := MetricsAddr(opts)
			if tc.wantErr != "" {
				var ce *Error
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("MetricsAddr error = %v, want a *Error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("MetricsAddr = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
