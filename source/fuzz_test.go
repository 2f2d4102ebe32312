package source_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/freshstream/freshchat-kafka/source"
)

// FuzzRows feeds arbitrary bytes to the reader of a link's body (format
// detection, zip, gzip, CSV). The seed corpus is in testdata/fuzz/FuzzRows.
//
// Properties: no panic; ordinals count 0, 1, 2, ...; every row lies on line
// 2 or later, lines increase within a file; and a plain CSV body yields
// exactly what encoding/csv reads (header and blank records aside), failing
// where encoding/csv fails.
func FuzzRows(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		rows := source.RowsOfBody(context.Background(), data)
		defer rows.Close()
		type got struct {
			line   int64
			fields []string
		}
		var all []got
		var lastLine int64
		var lastHeader *string
		for rows.WaitNext(context.Background()) {
			r := rows.Row()
			if r.Ordinal != int64(len(all)) {
				t.Fatalf("row %d has ordinal %d", len(all), r.Ordinal)
			}
			if r.Link != 0 || !(r.File == "link0" || strings.HasPrefix(r.File, "link0/")) {
				t.Fatalf("row %d: link %d, file %q", r.Ordinal, r.Link, r.File)
			}
			if len(r.Header) == 0 {
				t.Fatalf("row %d: empty header", r.Ordinal)
			}
			if r.Line < 2 {
				t.Fatalf("row %d: line %d before the first data line", r.Ordinal, r.Line)
			}
			if h := &r.Header[0]; h == lastHeader && r.Line <= lastLine {
				t.Fatalf("row %d: line %d after line %d of the same file", r.Ordinal, r.Line, lastLine)
			} else {
				lastHeader = h
			}
			lastLine = r.Line
			all = append(all, got{r.Line, append([]string(nil), r.Fields...)})
		}
		err := rows.Err()
		if err != nil && source.Retryable(err) {
			t.Fatalf("reading a body in memory failed with a transient error: %v", err)
		}
		if isZip(data) || bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
			return
		}

		// Plain CSV: compare with encoding/csv.
		cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
		cr.FieldsPerRecord = -1
		header, werr := cr.Read()
		var want []got
		for werr == nil {
			var rec []string
			if rec, werr = cr.Read(); werr != nil {
				break
			}
			if len(rec) == 1 && len(header) > 1 && strings.TrimSpace(rec[0]) == "" {
				continue
			}
			line, _ := cr.FieldPos(0)
			want = append(want, got{int64(line), rec})
		}
		if errors.Is(werr, io.EOF) {
			werr = nil
		}
		if (err == nil) != (werr == nil) {
			t.Fatalf("Rows error %v, encoding/csv error %v", err, werr)
		}
		if len(all) != len(want) {
			t.Fatalf("Rows read %d rows, encoding/csv %d", len(all), len(want))
		}
		for i := range want {
			if all[i].line != want[i].line || !slices.Equal(all[i].fields, want[i].fields) {
				t.Fatalf("row %d: Rows line %d %q, encoding/csv line %d %q", i, all[i].line, all[i].fields, want[i].line, want[i].fields)
			}
		}
	})
}

func isZip(data []byte) bool {
	return bytes.HasPrefix(data, []byte("PK\x03\x04")) || bytes.HasPrefix(data, []byte("PK\x05\x06"))
}
