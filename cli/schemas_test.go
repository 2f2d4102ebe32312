package cli_test

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/freshstream/freshchat-kafka/cli"
	"github.com/freshstream/freshchat-kafka/schemas"
)

// jsonDocs decodes a stream of JSON documents.
func jsonDocs(t *testing.T, s string) []map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	var out []map[string]any
	for {
		var v map[string]any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err, s)
		out = append(out, v)
	}
}

func TestSchemasPrint(t *testing.T) {
	t.Run("every event, with no configuration at all", func(t *testing.T) {
		clearEnv(t)
		code, out, errs := runMain(t, "schemas")
		require.Equal(t, cli.ExitOK, code, errs)
		docs := jsonDocs(t, out)
		require.Len(t, docs, 12)
		for i, ev := range schemas.Events() {
			sc, err := schemas.Lookup(ev)
			require.NoError(t, err)
			assert.Equal(t, sc.Name, docs[i]["namespace"].(string)+"."+docs[i]["name"].(string))
		}
		assert.Contains(t, out, "\n  \"fields\": [", "indented like the .avsc files")
	})
	t.Run("one event", func(t *testing.T) {
		clearEnv(t)
		code, out, errs := runMain(t, "schemas", "print", "--event", "csat-score")
		require.Equal(t, cli.ExitOK, code, errs)
		docs := jsonDocs(t, out)
		require.Len(t, docs, 1)
		sc, _ := schemas.Lookup("CSAT-Score")
		assert.Equal(t, sc.Name, docs[0]["namespace"].(string)+"."+docs[0]["name"].(string))
	})
	t.Run("configured events, one without an embedded schema", func(t *testing.T) {
		clearEnv(t)
		t.Setenv("FRESHCHAT_EVENTS", "Message-Sent,agent-performance")
		code, out, errs := runMain(t, "schemas", "print")
		require.Equal(t, cli.ExitOK, code, errs)
		assert.Len(t, jsonDocs(t, out), 1)
		assert.Contains(t, errs, "agent-performance has no embedded schema")
	})
}

func TestSchemasRegisterAndCheck(t *testing.T) {
	st := newStack(t)

	code, out, errs := runMain(t, "schemas", "check")
	require.Equal(t, cli.ExitOK, code, errs)
	assert.Contains(t, out, "✓ Message-Sent  freshchat.message-sent-value  new: the subject has no version yet")
	assert.Contains(t, out, "✓ CSAT-Score  freshchat.csat-score-value  new")

	code, out, errs = runMain(t, "schemas", "register")
	require.Equal(t, cli.ExitOK, code, errs)
	assert.Contains(t, out, "✓ Message-Sent  freshchat.message-sent-value  version 1  id ")
	assert.Contains(t, out, "(registered)")
	assert.True(t, st.reg.SubjectExists("freshchat.csat-score-value"))

	code, out, errs = runMain(t, "schemas", "register", "--event", "Message-Sent")
	require.Equal(t, cli.ExitOK, code, errs)
	assert.Contains(t, out, "version 1")
	assert.Contains(t, out, "(already registered)")
	assert.NotContains(t, out, "CSAT-Score", "--event limits the events")

	code, out, errs = runMain(t, "schemas", "check")
	require.Equal(t, cli.ExitOK, code, errs)
	assert.Contains(t, out, "✓ Message-Sent  freshchat.message-sent-value  compatible: already registered as the latest version 1")
}

func TestSchemasIncompatible(t *testing.T) {
	st := newStack(t)
	_, _, err := st.reg.RegisterSchema("freshchat.message-sent-value", sr.Schema{Schema: incompatibleMessageSent, Type: sr.TypeAvro})
	require.NoError(t, err)

	code, out, errs := runMain(t, "schemas", "check")
	assert.Equal(t, cli.ExitError, code)
	assert.Contains(t, out, "✗ Message-Sent  freshchat.message-sent-value  incompatible: schema for subject freshchat.message-sent-value is not BACKWARD compatible with version 1")
	assert.Contains(t, out, "✓ CSAT-Score  freshchat.csat-score-value  new")
	assert.Contains(t, errs, "1 of 2 schema(s) would be refused")
	assert.False(t, st.reg.SubjectExists("freshchat.csat-score-value"), "check registers nothing")

	code, out, errs = runMain(t, "schemas", "register")
	assert.Equal(t, cli.ExitError, code)
	assert.Contains(t, out, "✗ Message-Sent  freshchat.message-sent-value  not registered: schema for subject freshchat.message-sent-value is not BACKWARD compatible")
	assert.Contains(t, out, "✓ CSAT-Score  freshchat.csat-score-value  version 1")
	assert.Contains(t, errs, "1 of 2 schema(s) not registered")
	latest, ok := st.reg.GetSchema("freshchat.message-sent-value", 1)
	require.True(t, ok)
	assert.Equal(t, 1, latest.Version)
	_, ok = st.reg.GetSchema("freshchat.message-sent-value", 2)
	assert.False(t, ok, "the refused schema was not registered")

	// A subject set to NONE accepts anything: check says so.
	require.NoError(t, st.reg.SetCompat("freshchat.message-sent-value", sr.CompatNone))
	code, out, errs = runMain(t, "schemas", "check", "--event", "Message-Sent")
	assert.Equal(t, cli.ExitOK, code, errs)
	assert.Contains(t, out, "compatible: the subject's level is NONE: registering adds version 2 unchecked")
}

func TestSchemasCommandLine(t *testing.T) {
	cases := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		wantErr  []string
	}{
		{name: "help", args: []string{"--help"}, wantCode: cli.ExitOK, wantErr: []string{"print", "register", "check", "--event", "--config", "Exit codes"}},
		{name: "action help", args: []string{"register", "--help"}, wantCode: cli.ExitOK, wantErr: []string{"--event"}},
		{name: "unknown action", args: []string{"delete"}, wantCode: cli.ExitUsage, wantErr: []string{`unknown action "delete"`}},
		{name: "unknown event", args: []string{"print", "--event", "Nope"}, wantCode: cli.ExitUsage, wantErr: []string{`--event "Nope"`}},
		{name: "register without registry", env: map[string]string{"SCHEMA_REGISTRY_URL": ""}, args: []string{"register"},
			wantCode: cli.ExitUsage, wantErr: []string{"no schema registry configured", "SCHEMA_REGISTRY_URL"}},
		{name: "check without registry", env: map[string]string{"SCHEMA_REGISTRY_URL": ""}, args: []string{"check"},
			wantCode: cli.ExitUsage, wantErr: []string{"no schema registry configured"}},
		{name: "unreachable registry", env: map[string]string{"SCHEMA_REGISTRY_URL": "http://127.0.0.1:1"}, args: []string{"check"},
			wantCode: cli.ExitError, wantErr: []string{"2 of 2 schema(s) would be refused or could not be checked"}},
		{name: "print needs no Kafka nor token", env: map[string]string{"KAFKA_BROKERS": "", "FRESHCHAT_API_TOKEN": "", "SCHEMA_REGISTRY_URL": ""},
			args: []string{"print", "--event", "Message-Sent"}, wantCode: cli.ExitOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			newStack(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			code, out, errs := runMain(t, append([]string{"schemas"}, tc.args...)...)
			assert.Equal(t, tc.wantCode, code, out+errs)
			for _, w := range tc.wantErr {
				assert.Contains(t, errs, w)
			}
		})
	}
}
