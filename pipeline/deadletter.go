package pipeline

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/freshstream/freshchat-kafka/schemas"
	"github.com/freshstream/freshchat-kafka/source"
)

// DeadLetter is the JSON value of a dead-letter record: the row as it was
// read and everything needed to find it again and understand why it was
// not converted. Its record carries the same provenance headers as a good
// row, and the row's Kafka key when it has one.
type DeadLetter struct {
	Event    string `json:"event"`
	Window   string `json:"window"`
	ReportID string `json:"report_id"`
	File     string `json:"file"`
	Line     int64  `json:"line"`
	Column   string `json:"column,omitempty"`
	Value    string `json:"value,omitempty"`
	Cause    string `json:"cause"`
	// Header is the CSV header of the row's file; Raw is the row as one
	// RFC 4180 CSV line (fields re-quoted where needed), in header order.
	Header []string `json:"header"`
	Raw    string   `json:"raw"`
}

func deadLetterValue(re *RowError, row *source.Row) ([]byte, error) {
	var raw bytes.Buffer
	w := csv.NewWriter(&raw)
	if err := w.Write(row.Fields); err != nil {
		return nil, fmt.Errorf("dead letter for %s line %d: %w", row.File, row.Line, err)
	}
	w.Flush()
	dl := DeadLetter{
		Event: re.Event, Window: re.Window.String(), ReportID: re.ReportID,
		File: re.File, Line: re.Line, Column: re.Column, Value: cellValue(re),
		Cause: re.Err.Error(), Header: row.Header, Raw: string(bytes.TrimRight(raw.Bytes(), "\n")),
	}
	return json.Marshal(dl)
}

// cellValue is the offending cell, when the error names one.
func cellValue(re *RowError) string {
	var ce *schemas.CellError
	if errors.As(re.Err, &ce) {
		return ce.Value
	}
	return ""
}
