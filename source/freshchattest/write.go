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
		err = writeCSVs(o, g, 1, func(int) (io.Writer, error) { return bw, nil })
	case "gzip":
		var gz *gzip.Writer
		gz, err = gzip.NewWriterLevel(bw, gzip.BestSpeed)
		if err != nil {
			return err
		}
		gz.Name = o.event.name + ".csv"
		gz.ModTime = o.modTime
		if err = writeCSVs(o, g, 1, func(int) (io.Writer, error) { return gz, nil }); err == nil {
			err = gz.Close()
		}
	default:
		zw := zip.NewWriter(bw)
		zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
			return flate.NewWriter(out, flate.BestSpeed)
		})
		stamp := time.UnixMilli(o.from).UTC().Format("20060102T150405Z")
		err = writeCSVs(o, g, o.shape.filesPerZip, func(j int) (io.Writer, error) {
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
func writeCSVs(o *object, g generator, files int, open func(j int) (io.Writer, error)) error {
	d := o.event
	var total int64
	if files > 1 {
		total = g.count(d, o.from, o.rowsTo)
	}
	boundary := func(j int) int64 { return int64(j) * total / int64(files) }

	var cur *csvFile
	j := -1
	next := func() error {
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
		cur, err = newCSVFile(w, o, j)
		return err
	}
	if err := next(); err != nil {
		return err
	}
	var served int64
	err := g.each(d, o.from, o.rowsTo, func(ms int64, row []string) error {
		for j < files-1 && served >= boundary(j+1) {
			if err := next(); err != nil {
				return err
			}
		}
		served++
		return cur.write(served, ms, row)
	})
	if err != nil {
		return err
	}
	for j < files-1 {
		if err := next(); err != nil {
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
	createdPos  int // served position of created_at
	reopenedPos int // served position of reopened, -1 if none
}

func newCSVFile(w io.Writer, o *object, j int) (*csvFile, error) {
	d := o.event
	if o.shape.bom {
		if _, err := io.WriteString(w, utf8BOM); err != nil {
			return nil, err
		}
	}
	f := &csvFile{
		w:     csv.NewWriter(w),
		perm:  columnOrder(d, o.from, j, o.shape.shuffleColumns),
		out:   make([]string, len(d.columns)),
		shape: o.shape,
	}
	f.createdPos = slices.Index(f.perm, d.createdAt)
	f.reopenedPos = slices.Index(f.perm, d.reopenedIdx)
	f.w.UseCRLF = o.shape.crlf
	for i, c := range f.perm {
		f.out[i] = d.columns[c]
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
	return f.w.Write(f.out)
}

func (f *csvFile) flush() error {
	f.w.Flush()
	return f.w.Error()
}

// columnOrder returns the served column order of file j of the link starting
// at from: canonical, or with shuffle a deterministic permutation that is
// never the canonical order.
func columnOrder(d *eventDef, from int64, j int, shuffle bool) []int {
	n := len(d.columns)
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
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
