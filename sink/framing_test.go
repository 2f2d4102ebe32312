package sink_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/freshstream/freshchat-kafka/schemas"
	"github.com/freshstream/freshchat-kafka/sink"
)

const (
	srTopic   = "freshchat.message-sent"
	srSubject = srTopic + "-value"
)

// testRegistry is an srfake registry and a Confluent framer logging to a buffer.
type testRegistry struct {
	fake   *srfake.Registry
	client *sr.Client
	framer sink.Confluent
	logs   *bytes.Buffer
}

func newTestRegistry(t *testing.T, opts ...srfake.Option) *testRegistry {
	t.Helper()
	fake := srfake.New(opts...)
	t.Cleanup(fake.Close)
	cl, err := sr.NewClient(sr.URLs(fake.URL()))
	require.NoError(t, err)
	logs := &bytes.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return &testRegistry{fake: fake, client: cl, framer: sink.Confluent{Client: cl, Logger: logger}, logs: logs}
}

// prefix frames text for the topic and returns the schema ID of the prefix.
func (r *testRegistry) prefix(t *testing.T, text string) (int, error) {
	t.Helper()
	p, err := r.framer.Prefix(context.Background(), srTopic, text, [8]byte{})
	if err != nil {
		return 0, err
	}
	require.Len(t, p, 5)
	require.Equal(t, byte(0), p[0])
	return int(binary.BigEndian.Uint32(p[1:])), nil
}

// versions returns the subject's registered versions.
func (r *testRegistry) versions(t *testing.T) []int {
	t.Helper()
	vs, err := r.client.SubjectVersions(context.Background(), srSubject)
	require.NoError(t, err)
	return vs
}

func (r *testRegistry) seed(version, id int, text string) {
	r.fake.SeedSchema(srSubject, version, id, sr.Schema{Schema: text, Type: sr.TypeAvro})
}

// messageSent is the embedded Message-Sent schema text.
func messageSent(t *testing.T) string {
	t.Helper()
	s, err := schemas.Lookup("Message-Sent")
	require.NoError(t, err)
	return s.Text
}

// withField adds a field to a schema text, first in its field list.
func withField(t *testing.T, text, field string) string {
	t.Helper()
	out := strings.Replace(text, `"fields":[`, `"fields":[`+field+`,`, 1)
	require.NotEqual(t, text, out)
	return out
}

// retyped changes the type of Message-Sent's reopened from boolean to string.
func retyped(t *testing.T, text string) string {
	t.Helper()
	out := strings.Replace(text, `{"name":"reopened","type":["null","boolean"]`, `{"name":"reopened","type":["null","string"]`, 1)
	require.NotEqual(t, text, out)
	return out
}

const nullableField = `{"name":"vendor_new","type":["null","string"],"default":null}`

func avroRecord(fields ...string) string {
	return `{"type":"record","name":"R","namespace":"n","fields":[` + strings.Join(fields, ",") + `]}`
}

func TestConfluentFirstRegistration(t *testing.T) {
	r := newTestRegistry(t)
	text := messageSent(t)
	id, err := r.prefix(t, text)
	require.NoError(t, err)

	ss, err := r.client.SchemaByVersion(context.Background(), srSubject, -1)
	require.NoError(t, err)
	assert.Equal(t, 1, ss.Version)
	assert.Equal(t, ss.ID, id)
	assert.Equal(t, text, ss.Schema.Schema)
	assert.Contains(t, r.logs.String(), `msg="registered the subject's first schema" subject=freshchat.message-sent-value version=1 id=`)
}

func TestConfluentReregistrationReusesID(t *testing.T) {
	r := newTestRegistry(t)
	text := messageSent(t)
	first, err := r.prefix(t, text)
	require.NoError(t, err)
	again, err := r.prefix(t, text)
	require.NoError(t, err)
	assert.Equal(t, first, again)
	assert.Equal(t, []int{1}, r.versions(t))

	// A registry gives schemas back reformatted (Java reorders keys, adds
	// whitespace): still the same schema, whose ID is reused.
	other := newTestRegistry(t)
	reformatted := `{ "namespace":"n", "type":"record",  "fields":[{"type":"string","name":"a"}], "name":"R" }`
	other.seed(4, 9, reformatted)
	id, err := other.prefix(t, avroRecord(`{"name":"a","type":"string"}`))
	require.NoError(t, err)
	assert.Equal(t, 9, id)
	assert.Equal(t, []int{4}, other.versions(t))
	assert.Contains(t, other.logs.String(), "schema already registered as the latest version")
}

func TestConfluentCompatibleEvolution(t *testing.T) {
	r := newTestRegistry(t)
	v1 := messageSent(t)
	id1, err := r.prefix(t, v1)
	require.NoError(t, err)

	v2 := withField(t, v1, nullableField)
	id2, err := r.prefix(t, v2)
	require.NoError(t, err)
	assert.NotEqual(t, id1, id2)
	assert.Equal(t, []int{1, 2}, r.versions(t))
	latest, err := r.client.SchemaByVersion(context.Background(), srSubject, -1)
	require.NoError(t, err)
	assert.Equal(t, 2, latest.Version)
	assert.Equal(t, id2, latest.ID)
	assert.Contains(t, r.logs.String(), `msg="registered a new schema version" subject=freshchat.message-sent-value version=2`)
	assert.Contains(t, r.logs.String(), "previous_version=1")
	assert.Contains(t, r.logs.String(), "compatibility=BACKWARD")

	// Going back to the first version (a connector rolled back) reuses it.
	back, err := r.prefix(t, v1)
	require.NoError(t, err)
	assert.Equal(t, id1, back)
	assert.Equal(t, []int{1, 2}, r.versions(t))
	assert.Contains(t, r.logs.String(), "schema already registered as an earlier version")
}

func TestConfluentIncompatibleRefused(t *testing.T) {
	r := newTestRegistry(t)
	v1 := messageSent(t)
	r.seed(1, 2, avroRecord(`{"name":"a","type":"string"}`))
	r.seed(3, 7, v1)

	_, err := r.prefix(t, retyped(t, v1))
	require.Error(t, err)
	assert.Equal(t, `schema for subject freshchat.message-sent-value is not BACKWARD compatible with version 3 (id 7): `+
		`field "reopened": type changed from boolean to string; the connector refuses to register it: `+
		`fix the schema or set the subject's compatibility deliberately`, err.Error())

	var ise *sink.IncompatibleSchemaError
	require.ErrorAs(t, err, &ise)
	assert.Equal(t, srSubject, ise.Subject)
	assert.Equal(t, sr.CompatBackward, ise.Level)
	assert.Equal(t, 3, ise.Version)
	assert.Equal(t, 7, ise.ID)
	var ie *schemas.IncompatibleError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, []schemas.Incompatibility{{Direction: schemas.Backward, Field: "reopened", Change: "type changed from boolean to string"}}, ie.Problems)

	assert.Equal(t, []int{1, 3}, r.versions(t), "nothing registered")
	assertLevel(t, r, srSubject, sr.CompatBackward)
}

// assertLevel checks that the framer never changed a compatibility level.
func assertLevel(t *testing.T, r *testRegistry, subj string, want sr.CompatibilityLevel) {
	t.Helper()
	res := r.client.Compatibility(context.Background(), subj)[0]
	require.NoError(t, res.Err)
	assert.Equal(t, want, res.Level)
}

func TestConfluentSubjectNoneAllows(t *testing.T) {
	r := newTestRegistry(t)
	v1 := messageSent(t)
	id1, err := r.prefix(t, v1)
	require.NoError(t, err)
	require.NoError(t, r.fake.SetCompat(srSubject, sr.CompatNone))

	id2, err := r.prefix(t, retyped(t, v1))
	require.NoError(t, err)
	assert.NotEqual(t, id1, id2)
	assert.Equal(t, []int{1, 2}, r.versions(t))
	assert.Contains(t, r.logs.String(), `level=WARN msg="subject compatibility is NONE: registering a new schema version without a compatibility check"`)
	assert.Contains(t, r.logs.String(), "compatibility=NONE")
	assertLevel(t, r, srSubject, sr.CompatNone)
}

// TestConfluentGlobalLevel: a subject without its own level follows the
// registry's.
func TestConfluentGlobalLevel(t *testing.T) {
	r := newTestRegistry(t, srfake.WithGlobalCompat(sr.CompatNone))
	r.seed(1, 1, messageSent(t))
	_, err := r.prefix(t, retyped(t, messageSent(t)))
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2}, r.versions(t))

	// FORWARD: old readers must read new data. Removing a field the old
	// schema has no default for breaks that, though BACKWARD would allow it.
	r = newTestRegistry(t, srfake.WithGlobalCompat(sr.CompatForward))
	r.seed(1, 1, avroRecord(`{"name":"a","type":"string"}`, `{"name":"b","type":"string"}`))
	_, err = r.prefix(t, avroRecord(`{"name":"a","type":"string"}`))
	require.EqualError(t, err, `schema for subject freshchat.message-sent-value is not FORWARD compatible with version 1 (id 1): `+
		`field "b": removed, and the old schema has no default for it; the connector refuses to register it: `+
		`fix the schema or set the subject's compatibility deliberately`)

	// FULL checks both directions and says which fails.
	r = newTestRegistry(t, srfake.WithGlobalCompat(sr.CompatFull))
	r.seed(1, 1, avroRecord(`{"name":"n","type":"int"}`))
	_, err = r.prefix(t, avroRecord(`{"name":"n","type":"long"}`))
	require.ErrorContains(t, err, `is not FULL compatible with version 1 (id 1): field "n": type changed from int to long (old readers cannot read new data); `)
	_, err = r.prefix(t, avroRecord(`{"name":"n","type":"int"}`, `{"name":"m","type":["null","long"],"default":null}`))
	require.NoError(t, err)
}

// TestConfluentTransitive: a schema compatible with the latest version but
// not with an earlier one passes BACKWARD and fails BACKWARD_TRANSITIVE.
func TestConfluentTransitive(t *testing.T) {
	v1 := avroRecord(`{"name":"a","type":"string"}`, `{"name":"b","type":"string"}`)
	v2 := avroRecord(`{"name":"a","type":"string"}`)
	v3 := avroRecord(`{"name":"a","type":"string"}`, `{"name":"b","type":"long","default":0}`)

	r := newTestRegistry(t)
	r.seed(1, 1, v1)
	r.seed(2, 2, v2)
	require.NoError(t, r.fake.SetCompat(srSubject, sr.CompatBackwardTransitive))
	_, err := r.prefix(t, v3)
	require.EqualError(t, err, `schema for subject freshchat.message-sent-value is not BACKWARD_TRANSITIVE compatible with version 1 (id 1): `+
		`field "b": type changed from string to long; the connector refuses to register it: `+
		`fix the schema or set the subject's compatibility deliberately`)
	assert.Equal(t, []int{1, 2}, r.versions(t))
	assertLevel(t, r, srSubject, sr.CompatBackwardTransitive)

	r = newTestRegistry(t)
	r.seed(1, 1, v1)
	r.seed(2, 2, v2)
	id, err := r.prefix(t, v3)
	require.NoError(t, err, "BACKWARD checks the latest version only")
	assert.Equal(t, 3, id)
	assert.Equal(t, []int{1, 2, 3}, r.versions(t))

	// Every version is checked: one compatible with all passes.
	r = newTestRegistry(t, srfake.WithGlobalCompat(sr.CompatFullTransitive))
	r.seed(1, 1, avroRecord(`{"name":"a","type":"string"}`))
	r.seed(2, 2, avroRecord(`{"name":"a","type":"string"}`, `{"name":"b","type":["null","string"],"default":null}`))
	_, err = r.prefix(t, avroRecord(`{"name":"a","type":"string"}`, `{"name":"c","type":["null","long"],"default":null}`))
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2, 3}, r.versions(t))
}

func TestConfluentRegistryErrors(t *testing.T) {
	fail := func(path string) srfake.Interceptor {
		return func(w http.ResponseWriter, req *http.Request) bool {
			if !strings.HasPrefix(req.URL.Path, path) {
				return false
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"error_code":50001,"message":"Error in backend datastore"}`))
			return true
		}
	}

	r := newTestRegistry(t)
	r.fake.Intercept(fail("/subjects/" + srSubject + "/versions/latest"))
	_, err := r.prefix(t, avroRecord(`{"name":"a","type":"string"}`))
	require.EqualError(t, err, "reading the latest schema of subject freshchat.message-sent-value: Error in backend datastore")

	// A level that cannot be read is an error, not a guess.
	r = newTestRegistry(t)
	r.seed(1, 1, avroRecord(`{"name":"a","type":"string"}`))
	r.fake.Intercept(fail("/config"))
	_, err = r.prefix(t, avroRecord(`{"name":"a","type":"long"}`))
	require.EqualError(t, err, "reading the compatibility level of subject freshchat.message-sent-value: Error in backend datastore")
	assert.Equal(t, []int{1}, r.versions(t))

	// A version that is not Avro cannot be checked against.
	r = newTestRegistry(t)
	r.fake.SeedSchema(srSubject, 1, 1, sr.Schema{Schema: `{"type":"object"}`, Type: sr.TypeJSON})
	_, err = r.prefix(t, avroRecord(`{"name":"a","type":"string"}`))
	require.EqualError(t, err, "subject freshchat.message-sent-value: version 1 (id 1) is not a self-contained Avro schema (type JSON, 0 references), so the connector cannot check its schema against it")
	assert.False(t, errors.As(err, new(*sink.IncompatibleSchemaError)))
}

// TestConfluentDefaultsToBackward: a registry that has no level for the
// subject nor a global one gets BACKWARD.
func TestConfluentDefaultsToBackward(t *testing.T) {
	r := newTestRegistry(t)
	r.seed(1, 1, avroRecord(`{"name":"a","type":"string"}`))
	r.fake.Intercept(func(w http.ResponseWriter, req *http.Request) bool {
		if !strings.HasPrefix(req.URL.Path, "/config") {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error_code":40408,"message":"Subject does not have subject-level compatibility configured"}`))
		return true
	})
	_, err := r.prefix(t, avroRecord(`{"name":"a","type":"long"}`))
	require.ErrorContains(t, err, "is not BACKWARD compatible with version 1 (id 1): field \"a\": type changed from string to long;")
	_, err = r.prefix(t, avroRecord(`{"name":"a","type":"string"}`, `{"name":"b","type":["null","string"],"default":null}`))
	require.NoError(t, err)
	assert.Contains(t, r.logs.String(), "compatibility=BACKWARD")
}

// TestConfluentPlan: the dry run decides what Prefix does and registers
// nothing.
func TestConfluentPlan(t *testing.T) {
	ctx := context.Background()
	v1 := avroRecord(`{"name":"a","type":"string"}`, `{"name":"b","type":"string"}`)
	v2 := avroRecord(`{"name":"a","type":"string"}`)
	v3 := avroRecord(`{"name":"a","type":"string"}`, `{"name":"c","type":["null","long"],"default":null}`)

	r := newTestRegistry(t)
	p, err := r.framer.Plan(ctx, srTopic, v1)
	require.NoError(t, err)
	assert.Equal(t, sink.RegistrationPlan{Subject: srSubject}, p, "a first version")
	assert.True(t, p.Registers())
	assert.False(t, r.fake.SubjectExists(srSubject))

	r.seed(1, 1, v1)
	r.seed(2, 5, v2)
	p, err = r.framer.Plan(ctx, srTopic, v2)
	require.NoError(t, err)
	assert.False(t, p.Registers())
	assert.Equal(t, 5, p.Reuse.ID)
	assert.Equal(t, 2, p.Latest.Version)

	p, err = r.framer.Plan(ctx, srTopic, v1)
	require.NoError(t, err)
	assert.False(t, p.Registers(), "an earlier version is reused")
	assert.Equal(t, 1, p.Reuse.Version)
	assert.Equal(t, 1, p.Reuse.ID)

	p, err = r.framer.Plan(ctx, srTopic, v3)
	require.NoError(t, err)
	assert.True(t, p.Registers())
	assert.Equal(t, sr.CompatBackward, p.Level)
	assert.Equal(t, []int{2}, p.Checked)

	require.NoError(t, r.fake.SetCompat(srSubject, sr.CompatBackwardTransitive))
	p, err = r.framer.Plan(ctx, srTopic, v3)
	require.NoError(t, err)
	assert.Equal(t, sr.CompatBackwardTransitive, p.Level)
	assert.Equal(t, []int{2, 1}, p.Checked, "latest first")

	require.NoError(t, r.fake.SetCompat(srSubject, sr.CompatNone))
	p, err = r.framer.Plan(ctx, srTopic, avroRecord(`{"name":"a","type":"long"}`))
	require.NoError(t, err)
	assert.True(t, p.Registers())
	assert.Equal(t, sr.CompatNone, p.Level)
	assert.Empty(t, p.Checked)

	assert.Equal(t, []int{1, 2}, r.versions(t), "Plan registers nothing")
	assert.Empty(t, r.logs.String(), "Plan logs nothing")
}
