package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/connect"
	"github.com/freshstream/freshchat-kafka/registry"
	"github.com/freshstream/freshchat-kafka/schemas"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// incompatibleMessageSent is a Message-Sent schema the embedded one cannot
// follow under BACKWARD: ours adds the required created_at.
const incompatibleMessageSent = `{"type":"record","name":"MessageSent","namespace":"freshchat.reports.raw","fields":[{"name":"x","type":"string"}]}`

// newRegistry is a schema registry on loopback and a client of it.
func newRegistry(t *testing.T, opts ...srfake.Option) (*srfake.Registry, *sr.Client) {
	t.Helper()
	reg := srfake.New(opts...)
	t.Cleanup(reg.Close)
	rc, err := sr.NewClient(sr.URLs(reg.URL()))
	require.NoError(t, err)
	return reg, rc
}

// withExtraField is the event's schema with one more nullable field: an
// older version the embedded schema may follow (it drops a field that had a
// default).
func withExtraField(t *testing.T, event, field string) string {
	t.Helper()
	sc, err := schemas.Lookup(event)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(sc.Text), &doc))
	doc["fields"] = append([]any{map[string]any{"name": field, "type": []any{"null", "string"}, "default": nil}}, doc["fields"].([]any)...)
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	return string(b)
}

func register(t *testing.T, reg *srfake.Registry, subject, schema string) (id int) {
	t.Helper()
	id, _, err := reg.RegisterSchema(subject, sr.Schema{Schema: schema, Type: sr.TypeAvro})
	require.NoError(t, err)
	return id
}

func embedded(t *testing.T, event string) string {
	t.Helper()
	sc, err := schemas.Lookup(event)
	require.NoError(t, err)
	return sc.Text
}

// twoAccounts has acme with the top-level events and globex-eu with its own.
func twoAccounts() *config.Config {
	cfg := config.Defaults(t0)
	cfg.Events = []string{"Message-Sent", "CSAT-Score"}
	acme := cfg.SingleAccount()
	acme.Name, acme.TopicTemplate = "acme", "freshchat.{account}.{event}"
	globex := acme
	globex.Name, globex.Events = "globex-eu", []string{"CSAT-Score", "Agent-Activity"}
	cfg.Accounts = []config.Account{acme, globex}
	return &cfg
}

func TestUnits(t *testing.T) {
	single := config.Defaults(t0)
	single.Events = []string{"Message-Sent", "CSAT-Score"}
	cases := []struct {
		name  string
		cfg   *config.Config
		event string
		want  []registry.Unit
	}{
		{name: "the default account's units are its events", cfg: &single, want: []registry.Unit{
			{Key: "Message-Sent", Event: "Message-Sent", Topic: "freshchat.message-sent"},
			{Key: "CSAT-Score", Event: "CSAT-Score", Topic: "freshchat.csat-score"},
		}},
		{name: "every account's, in order", cfg: twoAccounts(), want: []registry.Unit{
			{Key: "acme/Message-Sent", Event: "Message-Sent", Topic: "freshchat.acme.message-sent"},
			{Key: "acme/CSAT-Score", Event: "CSAT-Score", Topic: "freshchat.acme.csat-score"},
			{Key: "globex-eu/CSAT-Score", Event: "CSAT-Score", Topic: "freshchat.globex-eu.csat-score"},
			{Key: "globex-eu/Agent-Activity", Event: "Agent-Activity", Topic: "freshchat.globex-eu.agent-activity"},
		}},
		{name: "an event of every account that has it, in any case", cfg: twoAccounts(), event: " csat-score ", want: []registry.Unit{
			{Key: "acme/CSAT-Score", Event: "CSAT-Score", Topic: "freshchat.acme.csat-score"},
			{Key: "globex-eu/CSAT-Score", Event: "CSAT-Score", Topic: "freshchat.globex-eu.csat-score"},
		}},
		{name: "an event no account has", cfg: twoAccounts(), event: "Chat-Transcript"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, registry.Units(tc.cfg, tc.event))
		})
	}
	assert.Equal(t, "freshchat.acme.csat-score-value", registry.UnitOf(twoAccounts().Accounts[0], "CSAT-Score").Subject())
}

func TestCompare(t *testing.T) {
	const (
		msgSubject  = "freshchat.message-sent-value"
		csatSubject = "freshchat.csat-score-value"
	)
	msg := registry.Unit{Key: "Message-Sent", Event: "Message-Sent", Topic: "freshchat.message-sent"}
	csat := registry.Unit{Key: "CSAT-Score", Event: "CSAT-Score", Topic: "freshchat.csat-score"}
	cases := []struct {
		name    string
		unit    registry.Unit
		setup   func(t *testing.T, reg *srfake.Registry) (line string)
		outcome registry.Outcome
		failed  bool
		// line is the verdict's line; %d stands for the ID setup returns.
		line string
	}{
		{
			name: "a subject without versions", unit: msg, outcome: registry.OutcomeNew,
			line: "✓ Message-Sent  freshchat.message-sent-value  new: the subject has no version yet; registering creates version 1",
		},
		{
			name: "registered as the latest version", unit: msg, outcome: registry.OutcomeCompatible,
			setup: func(t *testing.T, reg *srfake.Registry) string {
				id := register(t, reg, msgSubject, embedded(t, "Message-Sent"))
				return fmt.Sprintf("✓ Message-Sent  freshchat.message-sent-value  compatible: already registered as the latest version 1 (id %d)", id)
			},
		},
		{
			name: "registered as an earlier version", unit: csat, outcome: registry.OutcomeCompatible,
			setup: func(t *testing.T, reg *srfake.Registry) string {
				id := register(t, reg, csatSubject, embedded(t, "CSAT-Score"))
				register(t, reg, csatSubject, withExtraField(t, "CSAT-Score", "legacy_a"))
				return fmt.Sprintf("✓ CSAT-Score  freshchat.csat-score-value  compatible: already registered as version 1 (id %d); the latest is version 2", id)
			},
		},
		{
			name: "a new version under BACKWARD, checked against the latest", unit: csat, outcome: registry.OutcomeCompatible,
			setup: func(t *testing.T, reg *srfake.Registry) string {
				register(t, reg, csatSubject, withExtraField(t, "CSAT-Score", "legacy_a"))
				register(t, reg, csatSubject, withExtraField(t, "CSAT-Score", "legacy_b"))
				return "✓ CSAT-Score  freshchat.csat-score-value  compatible: BACKWARD with version 2; registering adds version 3"
			},
		},
		{
			name: "a new version under BACKWARD_TRANSITIVE, checked against every version", unit: csat, outcome: registry.OutcomeCompatible,
			setup: func(t *testing.T, reg *srfake.Registry) string {
				register(t, reg, csatSubject, withExtraField(t, "CSAT-Score", "legacy_a"))
				register(t, reg, csatSubject, withExtraField(t, "CSAT-Score", "legacy_b"))
				require.NoError(t, reg.SetCompat(csatSubject, sr.CompatBackwardTransitive))
				return "✓ CSAT-Score  freshchat.csat-score-value  compatible: BACKWARD_TRANSITIVE with versions 2, 1; registering adds version 3"
			},
		},
		{
			name: "a subject set to NONE accepts anything, unchecked", unit: msg, outcome: registry.OutcomeCompatible,
			setup: func(t *testing.T, reg *srfake.Registry) string {
				register(t, reg, msgSubject, incompatibleMessageSent)
				require.NoError(t, reg.SetCompat(msgSubject, sr.CompatNone))
				return "✓ Message-Sent  freshchat.message-sent-value  compatible: the subject's level is NONE: registering adds version 2 unchecked"
			},
		},
		{
			name: "a version the subject's level forbids", unit: msg, outcome: registry.OutcomeIncompatible, failed: true,
			setup: func(t *testing.T, reg *srfake.Registry) string {
				id := register(t, reg, msgSubject, incompatibleMessageSent)
				return fmt.Sprintf(`✗ Message-Sent  freshchat.message-sent-value  incompatible: schema for subject freshchat.message-sent-value is not BACKWARD compatible with version 1 (id %d): field "created_at": added without a default`, id)
			},
		},
		{
			name: "an event without an embedded schema", outcome: registry.OutcomeSkipped,
			unit: registry.Unit{Key: "agent-performance", Event: "agent-performance", Topic: "freshchat.agent-performance"},
			line: "- agent-performance  freshchat.agent-performance-value  skipped: no embedded schema (derived from the report's header at run time)",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg, rc := newRegistry(t)
			line := tc.line
			if tc.setup != nil {
				line = tc.setup(t, reg)
			}
			v := registry.Compare(context.Background(), rc, tc.unit)
			assert.Equal(t, tc.outcome, v.Outcome)
			assert.Equal(t, tc.failed, v.Failed())
			assert.Equal(t, tc.unit.Subject(), v.Subject)
			assert.True(t, strings.HasPrefix(v.Line(), line), "line:\n%s\nwant a prefix:\n%s", v.Line(), line)
			_, registered := reg.GetSchema(tc.unit.Subject(), 3)
			assert.False(t, registered, "comparing registers nothing")
		})
	}
	t.Run("a registry that does not answer", func(t *testing.T) {
		reg, rc := newRegistry(t)
		reg.Close()
		v := registry.Compare(context.Background(), rc, msg)
		assert.Equal(t, registry.OutcomeError, v.Outcome)
		assert.True(t, v.Failed())
		require.Error(t, v.Err)
		assert.Equal(t, "error: "+v.Err.Error(), v.Text())
		assert.Contains(t, v.Line(), "✗ Message-Sent  freshchat.message-sent-value  error: reading the latest schema of subject freshchat.message-sent-value: ")
	})
}

// TestCompatibleNewVersion: a schema that follows the subject's versions
// under its level is compatible, checked against the latest or against
// every version; registering it adds the next version.
func TestCompatibleNewVersion(t *testing.T) {
	ctx := context.Background()
	reg, rc := newRegistry(t)
	const subject = "freshchat.csat-score-value"
	for _, f := range []string{"legacy_a", "legacy_b"} {
		register(t, reg, subject, withExtraField(t, "CSAT-Score", f))
	}
	units := []registry.Unit{{Key: "CSAT-Score", Event: "CSAT-Score", Topic: "freshchat.csat-score"}}
	s := registry.Subjects{Client: rc}

	var out bytes.Buffer
	require.NoError(t, s.Check(ctx, &out, units))
	assert.Contains(t, out.String(), "✓ CSAT-Score  "+subject+"  compatible: BACKWARD with version 2; registering adds version 3")

	require.NoError(t, reg.SetCompat(subject, sr.CompatBackwardTransitive))
	out.Reset()
	require.NoError(t, s.Check(ctx, &out, units))
	assert.Contains(t, out.String(), "compatible: BACKWARD_TRANSITIVE with versions 2, 1; registering adds version 3")
	_, ok := reg.GetSchema(subject, 3)
	assert.False(t, ok, "check registers nothing")

	out.Reset()
	require.NoError(t, s.Register(ctx, &out, units))
	assert.Contains(t, out.String(), "✓ CSAT-Score  "+subject+"  version 3  id ")
	assert.Contains(t, out.String(), "(registered)")
}

func TestRegisterAndCheck(t *testing.T) {
	ctx := context.Background()
	reg, rc := newRegistry(t)
	s := registry.Subjects{Client: rc}
	units := []registry.Unit{
		{Key: "acme/Message-Sent", Event: "Message-Sent", Topic: "freshchat.acme.message-sent"},
		{Key: "acme/agent-performance", Event: "agent-performance", Topic: "freshchat.acme.agent-performance"},
		{Key: "acme/CSAT-Score", Event: "CSAT-Score", Topic: "freshchat.acme.csat-score"},
	}

	var out bytes.Buffer
	require.NoError(t, s.Check(ctx, &out, units))
	assert.Equal(t, `✓ Message-Sent  freshchat.acme.message-sent-value  new: the subject has no version yet; registering creates version 1
- agent-performance  freshchat.acme.agent-performance-value  skipped: no embedded schema (derived from the report's header at run time)
✓ CSAT-Score  freshchat.acme.csat-score-value  new: the subject has no version yet; registering creates version 1
`, out.String(), "check names the event, not the unit")

	out.Reset()
	require.NoError(t, s.Register(ctx, &out, units))
	msg, ok := reg.GetSchema("freshchat.acme.message-sent-value", 1)
	require.True(t, ok)
	csat, ok := reg.GetSchema("freshchat.acme.csat-score-value", 1)
	require.True(t, ok)
	assert.Equal(t, fmt.Sprintf(`✓ acme/Message-Sent  freshchat.acme.message-sent-value  version 1  id %d  (registered)
- acme/agent-performance  freshchat.acme.agent-performance-value  not registered: no embedded schema (derived from the report's header at run time)
✓ acme/CSAT-Score  freshchat.acme.csat-score-value  version 1  id %d  (registered)
`, msg.ID, csat.ID), out.String(), "register names the unit")

	out.Reset()
	require.NoError(t, s.Register(ctx, &out, units[:1]))
	assert.Equal(t, fmt.Sprintf("✓ acme/Message-Sent  freshchat.acme.message-sent-value  version 1  id %d  (already registered)\n", msg.ID), out.String())
}

func TestRefused(t *testing.T) {
	ctx := context.Background()
	reg, rc := newRegistry(t)
	register(t, reg, "freshchat.message-sent-value", incompatibleMessageSent)
	s := registry.Subjects{Client: rc}
	units := []registry.Unit{
		{Key: "Message-Sent", Event: "Message-Sent", Topic: "freshchat.message-sent"},
		{Key: "CSAT-Score", Event: "CSAT-Score", Topic: "freshchat.csat-score"},
	}

	var out bytes.Buffer
	err := s.Check(ctx, &out, units)
	require.EqualError(t, err, "1 of 2 schema(s) would be refused or could not be checked")
	assert.Contains(t, out.String(), "✗ Message-Sent  freshchat.message-sent-value  incompatible: ")
	assert.Contains(t, out.String(), "✓ CSAT-Score  freshchat.csat-score-value  new")
	assert.False(t, reg.SubjectExists("freshchat.csat-score-value"), "check registers nothing")

	out.Reset()
	err = s.Register(ctx, &out, units)
	require.EqualError(t, err, "1 of 2 schema(s) not registered")
	assert.Contains(t, out.String(), "✗ Message-Sent  freshchat.message-sent-value  not registered: schema for subject freshchat.message-sent-value is not BACKWARD compatible")
	assert.Contains(t, out.String(), "✓ CSAT-Score  freshchat.csat-score-value  version 1")
	_, ok := reg.GetSchema("freshchat.message-sent-value", 2)
	assert.False(t, ok, "the refused schema was not registered")
}

// TestRefusedConnection: a registry that refuses the credentials ends the
// work at the first subject, explained in the settings' terms, since every
// subject would fail the same way.
func TestRefusedConnection(t *testing.T) {
	_, rc := newRegistry(t, srfake.WithAuth("Basic c2VjcmV0"))
	s := registry.Subjects{Client: rc}
	units := registry.Units(twoAccounts(), "")
	for name, run := range map[string]func(*bytes.Buffer) error{
		"check":    func(w *bytes.Buffer) error { return s.Check(context.Background(), w, units) },
		"register": func(w *bytes.Buffer) error { return s.Register(context.Background(), w, units) },
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(&out)
			var se *connect.SecurityError
			require.ErrorAs(t, err, &se)
			assert.Contains(t, err.Error(), "the schema registry requires authentication (401 Unauthorized")
			assert.Contains(t, err.Error(), "SCHEMA_REGISTRY_USERNAME")
			assert.Empty(t, out.String())
		})
	}
}

func TestPrint(t *testing.T) {
	cases := []struct {
		name    string
		events  []string
		docs    []string // the schemas' full names, in order
		notes   string
		wantErr string
	}{
		{name: "each event once, in order", events: []string{"CSAT-Score", "Message-Sent", "CSAT-Score"},
			docs: []string{"freshchat.reports.raw.CSATScore", "freshchat.reports.raw.MessageSent"}},
		{name: "an event without an embedded schema is noted", events: []string{"Message-Sent", "agent-performance"},
			docs:  []string{"freshchat.reports.raw.MessageSent"},
			notes: "connector: agent-performance has no embedded schema: the connector derives one from its report's header at run time\n"},
		{name: "nothing to print", events: []string{"agent-performance"},
			notes:   "connector: agent-performance has no embedded schema: the connector derives one from its report's header at run time\n",
			wantErr: "no event with an embedded schema to print"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var units []registry.Unit
			for _, ev := range tc.events {
				units = append(units, registry.Unit{Key: ev, Event: ev, Topic: "t." + ev})
			}
			var out, notes bytes.Buffer
			err := registry.Print(&out, &notes, units)
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tc.notes, notes.String())
			dec := json.NewDecoder(&out)
			var names []string
			for dec.More() {
				var doc struct{ Name, Namespace string }
				require.NoError(t, dec.Decode(&doc))
				names = append(names, doc.Namespace+"."+doc.Name)
			}
			assert.Equal(t, tc.docs, names)
		})
	}
	var out bytes.Buffer
	require.NoError(t, registry.Print(&out, &out, []registry.Unit{{Event: "CSAT-Score"}}))
	var b bytes.Buffer
	require.NoError(t, json.Indent(&b, []byte(embedded(t, "CSAT-Score")), "", "  "))
	assert.Equal(t, b.String()+"\n", out.String(), "indented like the .avsc files, each followed by a newline")
}

// TestUnansweredRegistry: a registry that accepts connections and never
// answers ends the work at the first subject that times out, rather than
// waiting out the timeout once per subject.
func TestUnansweredRegistry(t *testing.T) {
	var requests atomic.Int32
	stop := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(hung.Close)
	t.Cleanup(func() { close(stop) }) // runs first: Close waits for the handlers
	rc, err := sr.NewClient(sr.URLs(hung.URL), sr.HTTPClient(&http.Client{Timeout: 200 * time.Millisecond}))
	require.NoError(t, err)
	s := registry.Subjects{Client: rc}
	units := registry.Units(twoAccounts(), "")
	require.Greater(t, len(units), 1)
	for name, run := range map[string]func(*bytes.Buffer) error{
		"check":    func(w *bytes.Buffer) error { return s.Check(context.Background(), w, units) },
		"register": func(w *bytes.Buffer) error { return s.Register(context.Background(), w, units) },
	} {
		t.Run(name, func(t *testing.T) {
			requests.Store(0)
			var out bytes.Buffer
			err := run(&out)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "the schema registry did not answer")
			assert.Contains(t, err.Error(), "schema_registry.url (SCHEMA_REGISTRY_URL)")
			assert.Empty(t, out.String(), "no subject was judged")
			assert.LessOrEqual(t, int(requests.Load()), 3, "the first subject's requests, not every subject's")
		})
	}
}
