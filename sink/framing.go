package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/freshstream/freshchat-kafka/schemas"
)

// Framer decides the bytes that precede every Avro body on a topic, so that
// consumers can find the writer's schema.
type Framer interface {
	// Prefix returns the header for values of the given schema written to
	// topic. It is called once per topic at start, not per record.
	Prefix(ctx context.Context, topic, schemaText string, fingerprint [8]byte) ([]byte, error)
	// Name says which framing is in use, for logs.
	Name() string
}

// SingleObject frames values with Avro single-object encoding: the two
// bytes C3 01, then the schema's CRC-64-AVRO fingerprint (little-endian),
// then the Avro body. The embedded .avsc files are the contract consumers
// resolve fingerprints against.
type SingleObject struct{}

// Name implements Framer.
func (SingleObject) Name() string { return "avro-single-object" }

// Prefix implements Framer.
func (SingleObject) Prefix(_ context.Context, _, _ string, fp [8]byte) ([]byte, error) {
	return SingleObjectPrefix(fp), nil
}

// SingleObjectPrefix is the 10-byte single-object header for a fingerprint
// given in little-endian byte order.
func SingleObjectPrefix(fp [8]byte) []byte {
	return append([]byte{0xC3, 0x01}, fp[:]...)
}

// Confluent frames values with the Confluent wire format: a zero magic
// byte, the 4-byte big-endian schema ID, then the Avro body. Schemas are
// registered under the subject "<topic>-value" (TopicNameStrategy), which
// is what Confluent's deserializers, ksqlDB, Flink and the Kafka Connect
// sinks look up by default.
//
// A new version of a subject's schema is checked against the subject's
// compatibility level before it is registered (see [Confluent.Plan]).
type Confluent struct {
	Client *sr.Client
	// Logger receives a line for every schema version registered and a
	// warning for a subject whose compatibility is NONE. Nil: no logging.
	Logger *slog.Logger
}

// Name implements Framer.
func (Confluent) Name() string { return "confluent-schema-registry" }

// Prefix implements Framer. It decides as [Confluent.Plan] does, then
// registers the schema when no registered version holds it, and returns the
// header of the schema's ID. Nothing is registered when Plan fails (an
// *[IncompatibleSchemaError] when the schema breaks the subject's level). A
// schema the registry itself refuses is an error that names the subject.
func (c Confluent) Prefix(ctx context.Context, topic, schemaText string, _ [8]byte) ([]byte, error) {
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p, err := c.Plan(ctx, topic, schemaText)
	if err != nil {
		return nil, err
	}
	log = log.With("subject", p.Subject)
	switch {
	case p.Reuse.ID != 0 && p.Reuse.Version == p.Latest.Version:
		log.Debug("schema already registered as the latest version", "version", p.Reuse.Version, "id", p.Reuse.ID)
		return ConfluentPrefix(p.Reuse.ID)
	case p.Reuse.ID != 0:
		log.Info("schema already registered as an earlier version; reusing it", "version", p.Reuse.Version, "id", p.Reuse.ID, "latest_version", p.Latest.Version)
		return ConfluentPrefix(p.Reuse.ID)
	case p.Level == sr.CompatNone:
		log.Warn("subject compatibility is NONE: registering a new schema version without a compatibility check", "latest_version", p.Latest.Version)
	}
	ss, err := c.Client.CreateSchema(ctx, p.Subject, sr.Schema{Schema: schemaText, Type: sr.TypeAvro})
	if err != nil {
		return nil, fmt.Errorf("registering schema under subject %s: %w", p.Subject, err)
	}
	if p.Latest.Version == 0 {
		log.Info("registered the subject's first schema", "version", ss.Version, "id", ss.ID)
	} else {
		log.Info("registered a new schema version", "version", ss.Version, "id", ss.ID,
			"previous_version", p.Latest.Version, "previous_id", p.Latest.ID, "compatibility", p.Level.String())
	}
	return ConfluentPrefix(ss.ID)
}

// Plan says what Prefix does with a schema on topic, reading the registry
// and writing nothing: a dry run. It looks up the subject's latest version:
//
//   - no version yet: the schema would be the first;
//   - the same schema (the same JSON, whatever its whitespace and key
//     order), or one registered under an earlier version of the subject:
//     that version is reused (Reuse);
//   - otherwise the subject's compatibility level is read (the global level
//     when the subject has none, BACKWARD when neither is set). Unless it is
//     NONE, schemas.CheckCompatible must accept the schema against the
//     latest version, or against every version for a *_TRANSITIVE level;
//     if it does not, Plan returns an *[IncompatibleSchemaError]. Otherwise
//     the schema would be registered as a new version.
//
// The connector checks compatibility itself rather than trusting the
// registry to refuse: a registry may be configured NONE where it should not
// be, and test registries never refuse. It never changes a subject's level.
func (c Confluent) Plan(ctx context.Context, topic, schemaText string) (RegistrationPlan, error) {
	p := RegistrationPlan{Subject: topic + "-value"}
	latest, err := c.Client.SchemaByVersion(ctx, p.Subject, -1)
	if isCode(err, sr.ErrSubjectNotFound, sr.ErrVersionNotFound) {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("reading the latest schema of subject %s: %w", p.Subject, err)
	}
	p.Latest = latest
	if sameSchema(latest.Schema, schemaText) {
		p.Reuse = latest
		return p, nil
	}
	earlier, err := c.Client.LookupSchema(ctx, p.Subject, sr.Schema{Schema: schemaText, Type: sr.TypeAvro})
	if err == nil {
		p.Reuse = earlier
		return p, nil
	}
	if !isNotFound(err) {
		return p, fmt.Errorf("looking up the schema in subject %s: %w", p.Subject, err)
	}

	if p.Level, err = c.level(ctx, p.Subject); err != nil {
		return p, err
	}
	mode, transitive, check := modeOf(p.Level)
	if !check {
		return p, nil
	}
	against := []sr.SubjectSchema{latest}
	if transitive {
		if against, err = c.Client.Schemas(ctx, p.Subject); err != nil {
			return p, fmt.Errorf("reading the versions of subject %s: %w", p.Subject, err)
		}
		slices.Reverse(against) // latest first: the likeliest to matter
	}
	for _, v := range against {
		if err := checkAgainst(p.Subject, p.Level, mode, v, schemaText); err != nil {
			return p, err
		}
		p.Checked = append(p.Checked, v.Version)
	}
	return p, nil
}

// RegistrationPlan is what [Confluent.Prefix] does with a schema, as
// [Confluent.Plan] finds it.
type RegistrationPlan struct {
	Subject string // "<topic>-value"
	// Latest is the subject's latest version; zero (Version 0) when the
	// subject has none, and the schema would be its first.
	Latest sr.SubjectSchema
	// Reuse is the registered version that holds the schema already, whose
	// ID Prefix returns; zero (ID 0) when Prefix registers a new version.
	Reuse sr.SubjectSchema
	// Level is the compatibility level a new version is checked under; zero
	// when none was needed (a first version, or one reused).
	Level sr.CompatibilityLevel
	// Checked lists the versions the schema was checked against, latest
	// first; empty under NONE.
	Checked []int
}

// Registers reports whether Prefix registers the schema as a new version.
func (p RegistrationPlan) Registers() bool { return p.Reuse.ID == 0 }

// level returns the subject's compatibility level, the global one when the
// subject has none, and BACKWARD (the registry default) when neither is set.
func (c Confluent) level(ctx context.Context, subject string) (sr.CompatibilityLevel, error) {
	for _, s := range []string{subject, sr.GlobalSubject} {
		res := c.Client.Compatibility(ctx, s)[0]
		switch {
		case res.Err == nil && res.Level != 0:
			return res.Level, nil
		case res.Err != nil && !isNotFound(res.Err):
			what := "subject " + subject
			if s == sr.GlobalSubject {
				what = "the registry (global)"
			}
			return 0, fmt.Errorf("reading the compatibility level of %s: %w", what, res.Err)
		}
	}
	return sr.CompatBackward, nil
}

// modeOf maps a registry level to the rule to check, whether it applies to
// every version, and whether there is anything to check at all (not NONE).
func modeOf(l sr.CompatibilityLevel) (mode schemas.Compatibility, transitive, check bool) {
	switch l {
	case sr.CompatNone:
		return schemas.Backward, false, false
	case sr.CompatBackwardTransitive:
		return schemas.Backward, true, true
	case sr.CompatForward:
		return schemas.Forward, false, true
	case sr.CompatForwardTransitive:
		return schemas.Forward, true, true
	case sr.CompatFull:
		return schemas.Full, false, true
	case sr.CompatFullTransitive:
		return schemas.Full, true, true
	default:
		return schemas.Backward, false, true
	}
}

// checkAgainst checks text against one registered version of subject.
func checkAgainst(subject string, level sr.CompatibilityLevel, mode schemas.Compatibility, v sr.SubjectSchema, text string) error {
	if v.Type != sr.TypeAvro || len(v.References) > 0 {
		return fmt.Errorf("subject %s: version %d (id %d) is not a self-contained Avro schema (type %s, %d references), so the connector cannot check its schema against it",
			subject, v.Version, v.ID, v.Type, len(v.References))
	}
	err := schemas.CheckCompatible(mode, v.Schema.Schema, text)
	var ie *schemas.IncompatibleError
	if errors.As(err, &ie) {
		return &IncompatibleSchemaError{Subject: subject, Level: level, Version: v.Version, ID: v.ID, Err: ie}
	}
	if err != nil {
		return fmt.Errorf("subject %s: checking compatibility with version %d (id %d): %w", subject, v.Version, v.ID, err)
	}
	return nil
}

// IncompatibleSchemaError is returned by [Confluent.Prefix] when the schema
// breaks its subject's compatibility level against a registered version.
// Nothing was registered.
type IncompatibleSchemaError struct {
	Subject string
	Level   sr.CompatibilityLevel // the subject's level, as configured
	Version int                   // the registered version the schema breaks
	ID      int                   // that version's schema ID
	Err     *schemas.IncompatibleError
}

// Error reads like `schema for subject freshchat.message-sent-value is not
// BACKWARD compatible with version 3 (id 7): field "reopened": type changed
// from boolean to string; the connector refuses to register it: fix the
// schema or set the subject's compatibility deliberately`.
func (e *IncompatibleSchemaError) Error() string {
	return fmt.Sprintf("schema for subject %s is not %s compatible with version %d (id %d): %v; "+
		"the connector refuses to register it: fix the schema or set the subject's compatibility deliberately",
		e.Subject, e.Level, e.Version, e.ID, e.Err)
}

// Unwrap returns Err.
func (e *IncompatibleSchemaError) Unwrap() error { return e.Err }

// sameSchema reports whether a registered schema is text: the same JSON
// once whitespace and the order of object keys are set aside (registries
// give back schemas reformatted). The Avro Parsing Canonical Form would be
// too lax: it drops defaults, docs and logical types, whose changes must
// be registered.
func sameSchema(registered sr.Schema, text string) bool {
	if registered.Type != sr.TypeAvro || len(registered.References) > 0 {
		return false
	}
	if registered.Schema == text {
		return true
	}
	a, errA := normalJSON(registered.Schema)
	b, errB := normalJSON(text)
	return errA == nil && errB == nil && bytes.Equal(a, b)
}

func normalJSON(s string) ([]byte, error) {
	var v any
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// isNotFound reports whether err is a registry answer that something does
// not exist (error codes 404xx).
func isNotFound(err error) bool {
	var re *sr.ResponseError
	return errors.As(err, &re) && sr.IsNotFoundError(re.ErrorCode)
}

// isCode reports whether err is a registry answer with one of the codes.
func isCode(err error, codes ...*sr.Error) bool {
	var re *sr.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	for _, c := range codes {
		if re.ErrorCode == c.Code {
			return true
		}
	}
	return false
}

// ConfluentPrefix is the 5-byte Confluent wire-format header for id: the
// zero magic byte and the ID big-endian, as franz-go's sr.ConfluentHeader
// writes it (Avro has no message indexes, so none follow).
func ConfluentPrefix(id int) ([]byte, error) {
	var h sr.ConfluentHeader
	return h.AppendEncode(make([]byte, 0, 5), id, nil)
}
