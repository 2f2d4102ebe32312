package source

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
)

// Row is one CSV record of a report.
type Row struct {
	// Ordinal is the 0-based index of the row across the whole report (all
	// links, all files): the resume position. Reading the same report again
	// yields the same ordinals, so a consumer resumes by skipping rows with
	// Ordinal below its checkpoint.
	Ordinal int64
	// Link is the index of the download link in Report.Links.
	Link int
	// File is "link<i>/<name inside the zip>", or "link<i>" for a plain or
	// gzip-compressed CSV.
	File string
	// Line is the 1-based physical line of File on which the record starts
	// (the header is line 1, unless blank lines precede it).
	Line int64
	// Header is the header of File: UTF-8 BOM stripped, names trimmed of
	// surrounding white space. Shared by all rows of the file: do not modify.
	Header []string
	// Fields are the record's cells, as many as the record has (this may
	// differ from len(Header): the consumer checks counts).
	Fields []string
}

// Rows streams the rows of a completed report; see [Client.Open]. A Rows is
// not safe for concurrent use.
type Rows struct {
	ctx   context.Context
	log   *slog.Logger
	rep   Report // private copy: links are replaced when they expire
	fetch func(ctx context.Context, link int) (*linkBody, error)

	link  int       // index of the current link, -1 before the first
	body  *linkBody // the current link's body; nil between links
	zr    *zip.Reader
	entry int // next entry of zr

	rc     io.ReadCloser // the current file's stream; nil between files
	csv    *csv.Reader
	header []string
	file   string

	row     Row
	ordinal int64
	err     error
	done    bool
	closed  bool
}

// Open streams every row of every link of a completed report r, in link
// order, then file order inside each zip, then line order. Links are
// downloaded one at a time, when reading reaches them, into a temp file in
// TempDir (memory does not grow with the report's size); see Prepare for
// what makes a report complete.
//
// A link's body is read by its magic bytes: a zip (every file entry, in
// archive order, each with its own header row; directories and __MACOSX
// entries skipped), a gzip stream, or else a plain CSV. Files are parsed with
// encoding/csv (RFC 4180: CRLF or LF, quoted commas, doubled quotes, embedded
// newlines; strict quotes; any number of fields per record). The first
// record of a file is its header; empty files, files with only a header and
// blank lines yield no rows.
//
// Errors (download, archive, CSV syntax) end the iteration and are reported
// by [Rows.Err]. The caller must call [Rows.Close].
func (c *Client) Open(ctx context.Context, r *Report) *Rows {
	rows := &Rows{ctx: ctx, log: c.log, link: -1}
	rows.fetch = func(ctx context.Context, link int) (*linkBody, error) {
		f, size, err := c.download(ctx, rows.log, &rows.rep, link)
		if err != nil {
			return nil, err
		}
		return &linkBody{ReaderAt: f, size: size, release: func() error {
			name := f.Name()
			f.Close()
			if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("removing download %s: %w", name, err)
			}
			return nil
		}}, nil
	}
	if r == nil {
		rows.err = errors.New("freshchat open: report is nil")
		return rows
	}
	rows.rep = *r
	rows.rep.Links = slices.Clone(r.Links)
	rows.log = c.log.With("report", r.ID)
	if r.Event != "" {
		rows.log = c.log.With("event", r.Event, "window", r.Window.String(), "report", r.ID)
	}
	if r.state() != stateReady {
		rows.err = fmt.Errorf("freshchat report %s is not ready to read: %s", r.ID, describe(r))
	}
	return rows
}

// Next advances to the next row. It returns false at the end of the report
// or on an error (see Err); temp files are removed as soon as a link is
// read or reading stops.
func (r *Rows) Next() bool {
	if r.err != nil || r.done || r.closed {
		return false
	}
	for {
		if r.csv == nil {
			ok, err := r.nextFile()
			if err != nil {
				r.fail(err)
				return false
			}
			if !ok {
				r.done = true
				r.releaseLink()
				return false
			}
		}
		rec, err := r.csv.Read()
		if err == io.EOF {
			r.closeFile()
			continue
		}
		if err != nil {
			r.fail(fmt.Errorf("freshchat report %s, %s: %w", r.rep.ID, r.file, unreadable(err)))
			return false
		}
		if len(rec) == 1 && len(r.header) > 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a line of white space
		}
		line, _ := r.csv.FieldPos(0)
		r.row = Row{Ordinal: r.ordinal, Link: r.link, File: r.file, Line: int64(line), Header: r.header, Fields: rec}
		r.ordinal++
		return true
	}
}

// Row returns the current row. The Row and its Fields slice are reused:
// they are valid only until the next call to Next; copy what must outlive it.
func (r *Rows) Row() *Row { return &r.row }

// Err returns the error that ended the iteration, or nil at a clean end.
// [Retryable] tells whether reading the report again may succeed.
func (r *Rows) Err() error { return r.err }

// Close stops the iteration and removes temp files. It may be called more
// than once.
func (r *Rows) Close() error {
	r.closed = true
	r.closeFile()
	return r.releaseLink()
}

func (r *Rows) fail(err error) {
	r.err = err
	r.closeFile()
	r.releaseLink()
}

// nextFile opens the next non-empty file, downloading the next link when the
// current one is used up. It returns false after the last file.
func (r *Rows) nextFile() (bool, error) {
	for {
		if r.zr != nil {
			for r.entry < len(r.zr.File) {
				zf := r.zr.File[r.entry]
				r.entry++
				if skipEntry(zf) {
					continue
				}
				name := fmt.Sprintf("link%d/%s", r.link, zf.Name)
				rc, err := zf.Open()
				if err != nil {
					return false, fmt.Errorf("freshchat report %s, %s: %w", r.rep.ID, name, unreadable(err))
				}
				// Inflate on another core, ahead of the CSV parser.
				if ok, err := r.startFile(newReadahead(rc), name); ok || err != nil {
					return ok, err
				}
			}
		}
		if err := r.releaseLink(); err != nil {
			return false, err
		}
		if r.link+1 >= len(r.rep.Links) {
			return false, nil
		}
		r.link++
		if err := context.Cause(r.ctx); err != nil {
			return false, err
		}
		if ok, err := r.openLink(); ok || err != nil {
			return ok, err
		}
	}
}

// linkBody is the body of one link, spooled: read at random (a zip needs
// it) and released once read.
type linkBody struct {
	io.ReaderAt
	size    int64
	release func() error // frees the body (closes and removes the temp file)
}

// openLink fetches the current link and, for a zip, prepares its entries
// (returning false); for gzip or plain CSV it starts the single file.
func (r *Rows) openLink() (bool, error) {
	b, err := r.fetch(r.ctx, r.link)
	if err != nil {
		return false, err
	}
	r.body = b
	return r.openBody(b)
}

// openBody reads a link's body by its magic bytes: a zip, a gzip stream, or
// else a plain CSV.
func (r *Rows) openBody(b *linkBody) (bool, error) {
	var magic [4]byte
	n, _ := b.ReadAt(magic[:], 0)
	name := fmt.Sprintf("link%d", r.link)
	switch m := magic[:n]; {
	case bytes.HasPrefix(m, []byte("PK\x03\x04")) || bytes.HasPrefix(m, []byte("PK\x05\x06")):
		zr, err := zip.NewReader(b, b.size)
		if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // names are never used as paths
			return false, fmt.Errorf("freshchat report %s, %s: reading zip: %w", r.rep.ID, name, unreadable(err))
		}
		zr.RegisterDecompressor(zip.Deflate, func(r io.Reader) io.ReadCloser { return flate.NewReader(r) })
		r.zr, r.entry = zr, 0
		r.log.Debug("reading freshchat report link", "link", r.link, "format", "zip", "files", len(zr.File))
		return false, nil
	case bytes.HasPrefix(m, []byte{0x1f, 0x8b}):
		gz, err := gzip.NewReader(bufio.NewReader(io.NewSectionReader(b, 0, b.size)))
		if err != nil {
			return false, fmt.Errorf("freshchat report %s, %s: reading gzip: %w", r.rep.ID, name, unreadable(err))
		}
		r.log.Debug("reading freshchat report link", "link", r.link, "format", "gzip")
		return r.startFile(newReadahead(gz), name)
	default:
		r.log.Debug("reading freshchat report link", "link", r.link, "format", "csv")
		return r.startFile(io.NopCloser(io.NewSectionReader(b, 0, b.size)), name)
	}
}

// unreadableError marks a failure to decode a link's body that was
// downloaded whole (a corrupt or truncated zip or gzip, a CSV syntax error):
// reading the same body again fails the same way, so it is not retryable
// even when it wraps io.ErrUnexpectedEOF.
type unreadableError struct{ err error }

func unreadable(err error) error { return &unreadableError{err} }

func (e *unreadableError) Error() string   { return e.err.Error() }
func (e *unreadableError) Unwrap() error   { return e.err }
func (e *unreadableError) retryable() bool { return false }

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// startFile reads the header of a file. It returns false, with rc closed,
// for a file without any record.
func (r *Rows) startFile(rc io.ReadCloser, name string) (bool, error) {
	br := bufio.NewReaderSize(rc, 64<<10)
	if b, _ := br.Peek(len(utf8BOM)); bytes.Equal(b, utf8BOM) {
		br.Discard(len(utf8BOM))
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = false
	hdr, err := cr.Read()
	if err != nil {
		rc.Close()
		if err == io.EOF {
			r.log.Debug("skipping empty freshchat report file", "file", name)
			return false, nil
		}
		return false, fmt.Errorf("freshchat report %s, %s: reading header: %w", r.rep.ID, name, unreadable(err))
	}
	header := make([]string, len(hdr))
	for i, h := range hdr {
		header[i] = strings.TrimSpace(h)
	}
	r.rc, r.csv, r.header, r.file = rc, cr, header, name
	r.log.Debug("reading freshchat report file", "file", name, "columns", len(header))
	return true, nil
}

func (r *Rows) closeFile() {
	if r.rc != nil {
		r.rc.Close()
	}
	r.rc, r.csv, r.header = nil, nil, nil
}

// releaseLink frees the current link's body (its temp file).
func (r *Rows) releaseLink() error {
	r.zr, r.entry = nil, 0
	if r.body == nil {
		return nil
	}
	b := r.body
	r.body = nil
	return b.release()
}

// skipEntry reports zip entries that are not report files: directories and
// macOS metadata.
func skipEntry(zf *zip.File) bool {
	if zf.FileInfo().IsDir() || strings.HasSuffix(zf.Name, "/") {
		return true
	}
	for seg := range strings.SplitSeq(zf.Name, "/") {
		if seg == "__MACOSX" || seg == ".DS_Store" {
			return true
		}
	}
	return false
}
