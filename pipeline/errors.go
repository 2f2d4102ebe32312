package pipeline

import (
	"errors"
	"fmt"
	"strings"

	"github.com/freshstream/freshchat-kafka/schemas"
	"github.com/freshstream/freshchat-kafka/source"
)

// RowError is a row that cannot be turned into its event's record. It names
// everything an operator needs to find the row. Nothing of the chunk that
// holds the row was committed.
type RowError struct {
	Event    string
	Window   source.Window
	ReportID string
	File     string
	Line     int64
	Column   string
	Err      error
}

func (e *RowError) Error() string {
	col := ""
	if e.Column != "" {
		col = fmt.Sprintf(" column %q", e.Column)
	}
	return fmt.Sprintf("event %s window %s report %s file %s line %d%s: %v (nothing of this chunk was committed; the connector stops so that no row is lost)",
		e.Event, e.Window, e.ReportID, e.File, e.Line, col, e.Err)
}

func (e *RowError) Unwrap() error { return e.Err }

// ResumeError means a report read again after a restart no longer matches
// the rows already committed for its window.
type ResumeError struct {
	Event     string
	Window    source.Window
	ReportID  string
	Committed int64
	Reason    string
}

func (e *ResumeError) Error() string {
	return fmt.Sprintf("event %s window %s: report %s does not match the %d rows already committed for this window (%s); the connector stops rather than duplicate or lose rows: rewind the event to the window's start to extract it again",
		e.Event, e.Window, e.ReportID, e.Committed, e.Reason)
}

// RangeError means the committed positions and the run asked for
// disagree: honouring the run would skip rows or leave a requested range
// partly unextracted. Nothing was extracted; Problems name each event, the
// cause and the command that resolves it.
type RangeError struct {
	Problems []string
}

func (e *RangeError) Error() string {
	return "cannot extract without losing rows:\n  - " + strings.Join(e.Problems, "\n  - ")
}

func newRowError(event string, w source.Window, reportID string, row *source.Row, err error) error {
	re := &RowError{Event: event, Window: w, ReportID: reportID, File: row.File, Line: row.Line, Err: err}
	var ce *schemas.CellError
	if errors.As(err, &ce) {
		re.Column = ce.Column
	}
	return re
}
