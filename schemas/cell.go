package schemas

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// CellError reports a CSV cell that cannot become a value of its schema field,
// or a row whose field count differs from the header (then Column is "" and
// Index is -1).
type CellError struct {
	Column string // header name of the cell, as matched (trimmed, BOM removed)
	Index  int    // position of the cell in the row, from 0
	Value  string // the cell as read
	Err    error  // what is wrong with it
}

// maxErrValue bounds how much of a cell Error quotes; Value keeps it whole.
const maxErrValue = 64

// Error reads like `column "reopened" value "maybe": not a boolean (want true
// or false)`.
func (e *CellError) Error() string {
	if e.Column == "" {
		return e.Err.Error()
	}
	v := e.Value
	if len(v) > maxErrValue {
		v = v[:maxErrValue] + "..."
	}
	return fmt.Sprintf("column %q value %q: %v", e.Column, v, e.Err)
}

// Unwrap returns Err.
func (e *CellError) Unwrap() error { return e.Err }

var (
	errRequired  = errors.New("empty, but the field is required")
	errBool      = errors.New("not a boolean (want true or false)")
	errInteger   = errors.New("not an integer (want base-10 digits, optionally signed)")
	errLongRange = errors.New("integer out of range for long")
	errIntRange  = errors.New("integer out of range for int")
	errDouble    = errors.New("not a number")
	errNotFinite = errors.New("not a finite number (NaN and infinities are not allowed)")
	errTimestamp = errors.New("not a timestamp (want 2006-01-02T15:04:05.000Z, an RFC 3339 offset, or 2006-01-02 15:04:05.0 in UTC)")
)

// trimSpace removes ASCII spaces, tabs, CR and LF around a typed cell.
func trimSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// parseBool accepts true and false in any letter case.
func parseBool(s string) (bool, error) {
	s = trimSpace(s)
	switch len(s) {
	case 4:
		if s == "true" || (s[0]|0x20 == 't' && s[1]|0x20 == 'r' && s[2]|0x20 == 'u' && s[3]|0x20 == 'e') {
			return true, nil
		}
	case 5:
		if s == "false" || (s[0]|0x20 == 'f' && s[1]|0x20 == 'a' && s[2]|0x20 == 'l' && s[3]|0x20 == 's' && s[4]|0x20 == 'e') {
			return false, nil
		}
	}
	return false, errBool
}

// parseInteger parses a base-10 integer of the given bit size, with an
// optional sign and surrounding spaces. "12.0" and "1e3" are rejected.
func parseInteger(s string, bits int) (int64, error) {
	s = trimSpace(s)
	if s == "" {
		return 0, errInteger
	}
	digits := s
	if digits[0] == '+' || digits[0] == '-' {
		digits = digits[1:]
	}
	if digits == "" {
		return 0, errInteger
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, errInteger
		}
	}
	v, err := strconv.ParseInt(s, 10, bits)
	if err != nil {
		if bits == 32 {
			return 0, errIntRange
		}
		return 0, errLongRange
	}
	return v, nil
}

// parseDouble parses a finite float64 with optional surrounding spaces.
func parseDouble(s string) (float64, error) {
	v, err := strconv.ParseFloat(trimSpace(s), 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return 0, errNotFinite
		}
		return 0, errDouble
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errNotFinite
	}
	return v, nil
}
