package freshchattest

import (
	"archive/zip"
	"bufio"
	"compress/flate"
	"compress/gzip"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"time"
)

const utf8BOM = "\xEF\xBB\xBF"

// writeObject streams o's rows into w in o's format. Rows are generated one
// at a time and written straight through, so memory stays flat whatever the
// row count.
func writeObject(w io.Writer, o *object, g generator) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	var err error
	switch o.shape.format {
	case "csv":
		err = writeCSVs(o, g, 1, false, func(int) (io.Writer, error) { return bw, nil })
	case "gzip":
		var gz *gzip.Writer
		gz, err = gzip.NewWriterLevel(bw, gzip.BestSpeed)
		if err != nil {
			return err
		}
		gz.Name = o.event.name + ".csv"
		gz.ModTime = o.modTime
		if err = writeCSVs(o, g, 1, false, func(int) (io.Writer, error) { return gz, nil }); err == nil {
			err = gz.Close()
		}
	default:
		zw := zip.NewWriter(bw)
		zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
			return flate.NewWriter(out, flate.BestSpeed)
		})
		stamp := time.UnixMilli(o.from).UTC().Format("20060102T150405Z")
		err = writeCSVs(o, g, o.shape.filesPerZip, true, func(j int) (io.Writer, error) {
			return zw.CreateHeader(&zip.FileHeader{
				Name:     fmt.Sprintf("%s_%s_%d.csv", o.event.name, stamp, j+1),
				Method:   zip.Deflate,
				Modified: o.modTime,
			})
		})
		if err == nil {
			err = zw.Close()
		}
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

// writeCSVs writes o's rows as files CSV files, each opened by open(j) and
// starting with its own header, the rows split between them in order.
//
// With header drift every file carries one drift: with splitDrift (zips) a
// new file also starts wherever the drift of the rows' hour changes, so each
// row is served under the drift of its own hour and a link may hold more
// than files files; without it (a single-file link) the whole link carries
// the drift of its first row. A file without rows carries the drift of the
// file before it, the first one that of the link's first row (or of its
// start when it has none).
func writeCSVs(o *object, g generator, files int, splitDrift bool, open func(j int) (io.Writer, error)) error {
	d := o.event
	var total int64
	if files > 1 {
		total = g.count(d, o.from, o.rowsTo)
	}
	boundary := func(k int) int64 { return int64(k) * total / int64(files) }

	linkDrift := noDrift
	if o.headerDrift {
		first, ok := g.first(d, o.from, o.rowsTo)
		if !ok {
			first = o.from
		}
		linkDrift = d.driftAt(first)
	}
	splitDrift = splitDrift && o.headerDrift

	var cur *csvFile
	j := -1 // files opened so far, minus one
	next := func(dr drift) error {
		if cur != nil {
			if err := cur.flush(); err != nil {
				return err
			}
		}
		j++
		w, err := open(j)
		if err != nil {
			return err
		}
		cur, err = newCSVFile(w, o, j, dr)
		return err
	}
	if err := next(linkDrift); err != nil {
		return err
	}
	k := 0 // index of the current file of the even split
	var served int64
	err := g.each(d, o.from, o.rowsTo, func(ms int64, row []string) error {
		dr := linkDrift
		if splitDrift {
			dr = d.driftAt(ms)
		}
		for k < files-1 && served >= boundary(k+1) {
			k++
			if err := next(dr); err != nil {
				return err
			}
		}
		if dr != cur.drift {
			if err := next(dr); err != nil {
				return err
			}
		}
		served++
		return cur.write(served, ms, row)
	})
	if err != nil {
		return err
	}
	for k < files-1 {
		k++
		if err := next(cur.drift); err != nil {
			return err
		}
	}
	return cur.flush()
}

// csvFile writes one CSV file with the quirks of o's shape.
type csvFile struct {
	w           *csv.Writer
	perm        []int // served position -> canonical column index
	out         []string
	shape       fileShape
	drift       drift
	event       *eventDef
	createdPos  int // served position of created_at
	reopenedPos int // served position of reopened, -1 if none
}

// newCSVFile starts file j of o with drift dr and writes its header: the
// columns dr keeps, shuffled with ShuffleColumns, then driftColumn if dr
// adds it.
func newCSVFile(w io.Writer, o *object, j int, dr drift) (*csvFile, error) {
	d := o.event
	if o.shape.bom {
		if _, err := io.WriteString(w, utf8BOM); err != nil {
			return nil, err
		}
	}
	f := &csvFile{
		w:     csv.NewWriter(w),
		perm:  columnOrder(d, keptColumns(d, dr), o.from, j, o.shape.shuffleColumns),
		shape: o.shape,
		drift: dr,
		event: d,
	}
	f.out = make([]string, len(f.perm), len(f.perm)+1)
	f.createdPos = slices.Index(f.perm, d.createdAt)
	f.reopenedPos = slices.Index(f.perm, d.reopenedIdx)
	f.w.UseCRLF = o.shape.crlf
	for i, c := range f.perm {
		f.out[i] = d.columns[c]
	}
	if dr.added {
		f.out = append(f.out, driftColumn)
	}
	return f, f.w.Write(f.out)
}

// write writes one row; served is its 1-based position in the link.
func (f *csvFile) write(served, ms int64, row []string) error {
	for i, c := range f.perm {
		f.out[i] = row[c]
	}
	if f.shape.altTimestamps {
		f.out[f.createdPos] = javaTimestamp(time.UnixMilli(ms))
	}
	if f.shape.malformedEvery > 0 && f.reopenedPos >= 0 && served%int64(f.shape.malformedEvery) == 0 {
		f.out[f.reopenedPos] = "maybe"
	}
	if f.drift.added {
		f.out[len(f.perm)] = driftValue(f.event, ms)
	}
	return f.w.Write(f.out)
}

func (f *csvFile) flush() error {
	f.w.Flush()
	return f.w.Error()
}

// columnOrder returns the served column order of file j of the link starting
// at from, given the canonical indices of the columns it serves (all of them
// without header drift): kept as is, or with shuffle a deterministic
// permutation of it that is never kept's own order.
func columnOrder(d *eventDef, kept []int, from int64, j int, shuffle bool) []int {
	perm := slices.Clone(kept)
	n := len(perm)
	if !shuffle || n < 2 {
		return perm
	}
	r := mix(d.seed ^ mix(uint64(from)) ^ uint64(j+1)*0x9E3779B97F4A7C15)
	for i := n - 1; i > 0; i-- {
		r = mix(r + uint64(i))
		k := int(r % uint64(i+1))
		perm[i], perm[k] = perm[k], perm[i]
	}
	if slices.IsSorted(perm) {
		perm = append(perm[1:], perm[0])
	}
	return perm
}
