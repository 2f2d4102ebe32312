// Package checkpoint stores how far each event's extraction has come.
//
// A Position is small and typed; it becomes bytes only at the storage
// boundary (Encode, Decode). Positions live in a compacted Kafka topic with
// one key per event, and are written by the sink inside the same transaction
// as the rows they account for, so a committed position and the rows before
// it are visible to read_committed consumers together or not at all.
//
// The package knows nothing about Freshchat or the source: a position is
// plain times, strings and counters.
package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Version is the encoding version written into every checkpoint record.
// Decode refuses records of a newer version instead of misreading them.
const Version = 1

// Position is where one event's extraction stands.
//
// The window [WindowStart, WindowEnd) is the one in progress, or the last one
// completed when Done is true. Rows counts the rows of that window's report
// already committed, in the report's reading order; Digest chains them so a
// resumed read can prove it skips exactly the rows that were committed.
type Position struct {
	// Account names the Freshchat account the event belongs to; "" (what
	// records written before accounts existed hold) is DefaultAccount.
	Account     string    `json:"account,omitempty"`
	Event       string    `json:"event"`
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	// ReportID is the report being read for the window. A restart polls this
	// report again instead of submitting a new one while it still exists.
	ReportID string `json:"report_id,omitempty"`
	// Submits counts the reports submitted for the window, across
	// restarts: it bounds them (freshchat.max_submits).
	Submits int `json:"submits,omitempty"`
	// Rows is the number of report rows committed so far in this window.
	Rows int64 `json:"rows"`
	// Digest is the running digest of those rows (see Digest).
	Digest Digest `json:"digest"`
	// Produced counts records written to the event's topic in this window.
	Produced int64 `json:"produced"`
	// DeadLettered counts rows of this window written to the dead-letter
	// topic because they could not be converted.
	DeadLettered int64 `json:"dead_lettered"`
	// Done is true once every row of the window is committed.
	Done bool `json:"done"`
	// CoveredFrom is where the event's extraction began (or was last reset
	// to): every row with CoveredFrom <= created_at < Next() is committed.
	// Zero in records written before it existed; see Covered.
	CoveredFrom time.Time `json:"covered_from,omitzero"`
	// Columns, for an event whose schema is derived from its reports'
	// headers, are the header column sets that shaped the schema, in the
	// order they were applied: replaying them gives the same schema again.
	Columns [][]string `json:"columns,omitempty"`
	// Ahead are the windows that follow this one, in order, each starting
	// where the previous ends (the first at WindowEnd), whose reports were
	// submitted before this window was read (ReportID set), or that are
	// planned and not submitted yet (ReportID empty, after a window was
	// split). A restart polls these reports instead of submitting again.
	Ahead []Ahead `json:"ahead,omitempty"`
	// File and Line name the last committed row, for operators.
	File string `json:"file,omitempty"`
	Line int64  `json:"line,omitempty"`
	// CommittedAt is when the record was written.
	CommittedAt time.Time `json:"committed_at"`
}

// Ahead is a window after the one in progress and its report, submitted
// ahead of time: see Position.Ahead.
type Ahead struct {
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	// ReportID is the report submitted for the window; empty when none is
	// yet.
	ReportID string `json:"report_id,omitempty"`
	// Submits counts the reports submitted for the window so far.
	Submits int `json:"submits,omitempty"`
}

// DefaultAccount is the account of a single-account configuration. Its
// units keep the keys they had before accounts existed: the event name.
const DefaultAccount = "default"

// UnitKey is the checkpoint key of the unit of work (account, event): the
// event name for DefaultAccount (or ""), "account/event" otherwise.
// Account names never hold a "/" (the configuration refuses them), so a key
// names exactly one unit.
func UnitKey(account, event string) string {
	if account == "" || account == DefaultAccount {
		return event
	}
	return account + "/" + event
}

// SplitKey is the inverse of UnitKey: the account (DefaultAccount for a
// bare event name) and the event of a unit key.
func SplitKey(key string) (account, event string) {
	if a, e, ok := strings.Cut(key, "/"); ok {
		return a, e
	}
	return DefaultAccount, key
}

// Key is the unit key of p: see UnitKey.
func (p Position) Key() string { return UnitKey(p.Account, p.Event) }

// AccountName is p's account, DefaultAccount when p has none.
func (p Position) AccountName() string {
	if p.Account == "" {
		return DefaultAccount
	}
	return p.Account
}

// IsZero reports whether p is the zero Position, meaning "nothing committed".
func (p Position) IsZero() bool { return p.Event == "" && p.WindowEnd.IsZero() }

// Next returns where extraction continues: the start of the next window when
// the current one is done, otherwise the current window's start.
func (p Position) Next() time.Time {
	if p.Done {
		return p.WindowEnd
	}
	return p.WindowStart
}

// ResetTo is the position that moves event to target on purpose (the
// operator's reset): the window [target, target) done, so that extraction
// continues at target. old is the event's current position (had says
// whether it has one): the committed stretch keeps its old beginning when
// target lies within it (a rewind inside it, or no move), and begins at
// target otherwise (a rewind before it, a fast-forward past a gap, or no
// earlier position).
func ResetTo(event string, target time.Time, old Position, had bool, now time.Time) Position {
	covered := target
	if had && !target.Before(old.Covered()) && !target.After(old.Next()) {
		covered = old.Covered()
	}
	return Position{
		Event:       event,
		WindowStart: target,
		WindowEnd:   target,
		Digest:      NewDigest,
		Done:        true,
		CoveredFrom: covered,
		CommittedAt: now.UTC(),
	}
}

// Behind reports whether p is an earlier position of the same event than q:
// it continues at an earlier instant; or at the same one, as the previous
// window done where q has begun the next; or inside the same window with
// fewer rows, or fewer submits, committed. The zero position is behind any
// other.
func (p Position) Behind(q Position) bool {
	if q.IsZero() {
		return false
	}
	if p.IsZero() {
		return true
	}
	pn, qn := p.Next(), q.Next()
	switch {
	case !pn.Equal(qn):
		return pn.Before(qn)
	case p.Done != q.Done:
		return p.Done // the window that ends at the instant is behind the one that begins there
	case !p.WindowStart.Equal(q.WindowStart):
		return false
	}
	return p.Rows < q.Rows || p.Rows == q.Rows && p.Submits < q.Submits
}

// String describes p for logs and errors.
func (p Position) String() string {
	state := fmt.Sprintf("%d rows committed", p.Rows)
	if p.Done {
		state = fmt.Sprintf("done, %d rows", p.Rows)
	}
	if n := len(p.Ahead); n > 0 {
		state += fmt.Sprintf(", %d window(s) ahead", n)
	}
	return fmt.Sprintf("%s window [%s, %s) %s", p.Event, p.WindowStart.UTC().Format(time.RFC3339Nano), p.WindowEnd.UTC().Format(time.RFC3339Nano), state)
}

// Covered returns where the committed stretch of rows ending at Next()
// begins: CoveredFrom, or WindowStart when the record predates it (the
// current window is all that is known to be covered then).
func (p Position) Covered() time.Time {
	if p.CoveredFrom.IsZero() {
		return p.WindowStart
	}
	return p.CoveredFrom
}

// Reconcile checks that every row read is accounted for: rows read equal
// rows produced plus rows dead-lettered.
func (p Position) Reconcile() error {
	if p.Rows != p.Produced+p.DeadLettered {
		return fmt.Errorf("reconciliation failed: %d rows read but %d produced + %d dead-lettered = %d; the connector stops rather than record a position that loses or doubles rows",
			p.Rows, p.Produced, p.DeadLettered, p.Produced+p.DeadLettered)
	}
	return nil
}

type wire struct {
	V int `json:"v"`
	Position
}

// Encode turns p into the bytes of a checkpoint record value (JSON, so that
// operators can read it with any Kafka tool).
func Encode(p Position) ([]byte, error) {
	if p.Event == "" {
		return nil, errors.New("checkpoint: position has no event")
	}
	p.WindowStart, p.WindowEnd, p.CommittedAt = p.WindowStart.UTC(), p.WindowEnd.UTC(), p.CommittedAt.UTC()
	if !p.CoveredFrom.IsZero() {
		p.CoveredFrom = p.CoveredFrom.UTC()
	}
	if len(p.Ahead) > 0 {
		ahead := make([]Ahead, len(p.Ahead))
		for i, a := range p.Ahead {
			a.WindowStart, a.WindowEnd = a.WindowStart.UTC(), a.WindowEnd.UTC()
			ahead[i] = a
		}
		p.Ahead = ahead
	}
	return json.Marshal(wire{V: Version, Position: p})
}

// Decode parses a checkpoint record value written by Encode.
func Decode(b []byte) (Position, error) {
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		return Position{}, fmt.Errorf("checkpoint: decoding record: %w", err)
	}
	if w.V > Version {
		return Position{}, fmt.Errorf("checkpoint: record version %d is newer than this connector understands (%d): upgrade the connector", w.V, Version)
	}
	if w.Event == "" {
		return Position{}, errors.New("checkpoint: record has no event")
	}
	if err := w.Reconcile(); err != nil {
		return Position{}, fmt.Errorf("checkpoint: record for %s: %w", w.Event, err)
	}
	if w.WindowEnd.Before(w.WindowStart) {
		return Position{}, fmt.Errorf("checkpoint: record for %s has window end %s before start %s", w.Event, w.WindowEnd, w.WindowStart)
	}
	return w.Position, nil
}

// Digest is a 64-bit hash in the style of FNV-1a chained over rows. Its whole state is the
// 64-bit value, so it resumes from a stored checkpoint exactly.
type Digest uint64

// NewDigest is the digest of no rows.
const NewDigest Digest = 14695981039346656037

// AddRow folds one row's fields into the digest. Field boundaries are part
// of the hash, so ["a,b"] and ["a","b"] differ. It takes eight bytes a step
// (each step a bijection of the state, so any single change to a row
// changes the digest): it runs for every row read.
func (d Digest) AddRow(fields []string) Digest {
	const prime = 1099511628211
	h := uint64(d)
	for _, f := range fields {
		for len(f) >= 8 {
			w := uint64(f[0]) | uint64(f[1])<<8 | uint64(f[2])<<16 | uint64(f[3])<<24 |
				uint64(f[4])<<32 | uint64(f[5])<<40 | uint64(f[6])<<48 | uint64(f[7])<<56
			h = (h ^ w) * prime
			h ^= h >> 32
			f = f[8:]
		}
		for i := 0; i < len(f); i++ {
			h = (h ^ uint64(f[i])) * prime
		}
		h = (h ^ 0x1f) * prime // unit separator after every field
	}
	h = (h ^ 0x1e) * prime // record separator
	return Digest(h)
}

// MarshalJSON writes the digest as a hex string: JSON numbers lose precision
// above 2^53 in many readers.
func (d Digest) MarshalJSON() ([]byte, error) {
	return []byte(`"` + strconv.FormatUint(uint64(d), 16) + `"`), nil
}

// UnmarshalJSON reads the hex string written by MarshalJSON.
func (d *Digest) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("digest: %w", err)
	}
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return fmt.Errorf("digest %q: %w", s, err)
	}
	*d = Digest(v)
	return nil
}
