package registry

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/freshstream/freshchat-kafka/schemas"
	"github.com/freshstream/freshchat-kafka/sink"
)

// Outcome is what registering a schema under its subject would do; the
// text is the word the verdict's line says.
type Outcome string

// The outcomes of comparing a schema with its subject.
const (
	OutcomeNew          Outcome = "new"          // the subject has no version: registering creates the first
	OutcomeCompatible   Outcome = "compatible"   // already registered, or a new version the subject's level allows
	OutcomeIncompatible Outcome = "incompatible" // the subject's level forbids it
	OutcomeSkipped      Outcome = "skipped"      // no embedded schema
	OutcomeError        Outcome = "error"        // the registry could not say
)

// Verdict is what registering an event's schema would do.
type Verdict struct {
	Event, Subject string
	Outcome        Outcome
	// Detail says why, for every outcome but incompatible and error.
	Detail string
	// Err is the registry's refusal (incompatible) or failure (error).
	Err error
}

// Failed says whether registering would be refused or could not be
// checked.
func (v Verdict) Failed() bool {
	return v.Outcome == OutcomeIncompatible || v.Outcome == OutcomeError
}

// Line reads like "✓ Message-Sent  freshchat.message-sent-value  new: ...":
// ✗ when Failed, - when skipped.
func (v Verdict) Line() string {
	mark := "✓"
	switch {
	case v.Failed():
		mark = "✗"
	case v.Outcome == OutcomeSkipped:
		mark = "-"
	}
	return fmt.Sprintf("%s %s  %s  %s", mark, v.Event, v.Subject, v.Text())
}

// Text reads like "compatible: BACKWARD with version 3; registering adds
// version 4".
func (v Verdict) Text() string {
	text := string(v.Outcome)
	if v.Detail != "" {
		text += ": " + v.Detail
	}
	if v.Err != nil {
		text += ": " + v.Err.Error()
	}
	return text
}

// Compare says what registering the unit's event's schema under its
// subject would do, without registering: sink.Confluent.Plan, the dry run
// of what the connector does at start. A registry that cannot be reached is
// the outcome error, with the cause in Err.
func Compare(ctx context.Context, rc *sr.Client, u Unit) Verdict {
	v := Verdict{Event: u.Event, Subject: u.Subject()}
	sc, err := schemas.Lookup(u.Event)
	if err != nil {
		v.Outcome, v.Detail = OutcomeSkipped, "no embedded schema (derived from the report's header at run time)"
		return v
	}
	p, err := sink.Confluent{Client: rc}.Plan(ctx, u.Topic, sc.Text)
	var ie *sink.IncompatibleSchemaError
	switch {
	case errors.As(err, &ie):
		v.Outcome, v.Err = OutcomeIncompatible, err
	case err != nil:
		v.Outcome, v.Err = OutcomeError, err
	case p.Latest.Version == 0:
		v.Outcome, v.Detail = OutcomeNew, "the subject has no version yet; registering creates version 1"
	case !p.Registers() && p.Reuse.Version == p.Latest.Version:
		v.Outcome, v.Detail = OutcomeCompatible, fmt.Sprintf("already registered as the latest version %d (id %d)", p.Reuse.Version, p.Reuse.ID)
	case !p.Registers():
		v.Outcome, v.Detail = OutcomeCompatible, fmt.Sprintf("already registered as version %d (id %d); the latest is version %d", p.Reuse.Version, p.Reuse.ID, p.Latest.Version)
	case len(p.Checked) == 0:
		v.Outcome, v.Detail = OutcomeCompatible, fmt.Sprintf("the subject's level is %s: registering adds version %d unchecked", p.Level, p.Latest.Version+1)
	default:
		v.Outcome, v.Detail = OutcomeCompatible, fmt.Sprintf("%s with %s; registering adds version %d", p.Level, versionList(p.Checked), p.Latest.Version+1)
	}
	return v
}

// versionList reads like "version 3" or "versions 3, 2, 1".
func versionList(vs []int) string {
	if len(vs) == 1 {
		return fmt.Sprintf("version %d", vs[0])
	}
	parts := make([]string, len(vs))
	for i, n := range vs {
		parts[i] = strconv.Itoa(n)
	}
	return "versions " + strings.Join(parts, ", ")
}
