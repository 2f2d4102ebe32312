package config

import (
	"bytes"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

// TestLogValueHidesURLQueryValues: Load refuses a URL with a query, but
// should one reach the startup log line anyway, its values are masked like
// its password.
func TestLogValueHidesURLQueryValues(t *testing.T) {
	api, err := url.Parse("http://127.0.0.1:28080/v2?token=tok-LEAK-7788")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := url.Parse("https://user:hunter2@sr.example.com/?password=s3cret-LEAK")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{}
	cfg.Freshchat.APIURL, cfg.SchemaRegistry.URL = api, reg
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		slog.New(h).Info("config", "config", cfg)
	}
	out := buf.String()
	for _, secret := range []string{"LEAK", "hunter2"} {
		if strings.Contains(out, secret) {
			t.Errorf("%q appears in the log:\n%s", secret, out)
		}
	}
	for _, want := range []string{
		`config.freshchat.api_url="http://127.0.0.1:28080/v2?token=xxxxx"`,
		`"url":"https://user:xxxxx@sr.example.com/?password=xxxxx"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %s:\n%s", want, out)
		}
	}
}
