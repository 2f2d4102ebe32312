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

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/readahead"
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

// Position is where the reading of a report stands: Rows rows of report
// ReportID have been read (the next row's Ordinal is Rows), Digest chains
// them (see [checkpoint.Digest]), and Link is the link of the last one. A
// position is a value: store it, and give it to [Client.Open] to resume
// reading the same report, or a new report of the same window, after it.
type Position struct {
	ReportID string
	Link     int
	Rows     int64
	Digest   checkpoint.Digest
}

// ResumeError means a report read again from a [Position] does not hold the
// rows the position accounts for: the rows before it differ, or there are
// fewer of them. Reading it further would lose or double rows.
type ResumeError struct {
	ReportID string
	// Rows is the number of rows the position accounts for.
	Rows   int64
	Reason string
}

func (e *ResumeError) Error() string {
	return fmt.Sprintf("freshchat report %s does not match the %d rows read before: %s", e.ReportID, e.Rows, e.Reason)
}

func (e *ResumeError) retryable() bool { return false }

// Rows streams the rows of a completed report; see [Client.Open]. A Rows is
// not safe for concurrent use.
type Rows struct {
	ctx    context.Context
	cancel context.CancelFunc // stops the download in flight
	log    *slog.Logger
	id     string // report ID
	nLinks int
	from   Position // rows below from.Rows are read and checked, not returned
	pos    Position // rows read so far, skipped ones included
	fetch  func(ctx context.Context, link int) (*linkBody, error)
	ahead  *download1 // the download of link+1, in flight or finished

	link  int       // index of the current link, -1 before the first
	body  *linkBody // the current link's body; nil between links
	zr    *zip.Reader
	entry int // next entry of zr

	rc     io.ReadCloser // the current file's stream; nil between files
	csv    *csv.Reader
	header []string
	file   string

	row     Row
	err     error
	done    bool
	pending bool // Next stopped because link+1 is still downloading
	closed  bool
}

// download1 is the background download of one link.
type download1 struct {
	link int
	done chan struct{}
	body *linkBody // set with err before done is closed
	err  error
}

// Open streams every row of every link of a completed report r after
// position from (the zero Position reads from the first row), in link
// order, then file order inside each zip, then line order.
//
// Links are spooled into temp files in TempDir (memory does not grow with
// the report's size) by one background download at a time, one link ahead
// of reading: while link i is read, link i+1 downloads. [Rows.Next] never
// waits for the network: when the next row is in a link that is still
// downloading it returns false and [Rows.Pending] reports true; call
// [Rows.Wait] and then Next again. A caller that must not wait on the
// outside world at some moment (with a Kafka transaction open, say) thus
// always knows when it is about to.
//
// Rows below from.Rows are read, chained into the digest and compared with
// from.Digest, but not returned: a report that does not hold them any more
// ends the iteration with a [*ResumeError].
//
// A link's body is read by its magic bytes: a zip (every file entry, in
// archive order, each with its own header row; directories and __MACOSX
// entries skipped), a gzip stream, or else a plain CSV. Files are parsed with
// encoding/csv (RFC 4180: CRLF or LF, quoted commas, doubled quotes, embedded
// newlines; strict quotes; any number of fields per record). The first
// record of a file is its header; empty files, files with only a header and
// blank lines yield no rows. A report without links has no rows.
//
// Errors (download, archive, CSV syntax) end the iteration and are reported
// by [Rows.Err]; a report that vanished or changed while it was read gives
// an error wrapping [ErrResubmit]. The caller must call [Rows.Close].
func (c *Client) Open(ctx context.Context, r *Report, from Position) *Rows {
	ctx, cancel := context.WithCancel(ctx)
	rows := &Rows{ctx: ctx, cancel: cancel, log: c.log, link: -1, from: from}
	rows.pos.Digest = checkpoint.NewDigest
	if r == nil {
		rows.err = errors.New("freshchat open: report is nil")
		return rows
	}
	rep := *r // the downloads' own copy: links are replaced when they expire
	rep.Links = slices.Clone(r.Links)
	rows.id, rows.nLinks = r.ID, len(r.Links)
	rows.pos.ReportID = r.ID
	rows.log = c.log.With("report", r.ID)
	if r.Event != "" {
		rows.log = c.log.With("event", r.Event, "window", r.Window.String(), "report", r.ID)
	}
	if st := r.state(); st != stateReady && st != stateNoLinks {
		rows.err = fmt.Errorf("freshchat report %s is not ready to read: %s", r.ID, describe(r))
		return rows
	}
	if from.Rows > 0 && from.ReportID != "" && from.ReportID != r.ID {
		rows.log.Info("reading a new report of the window: the rows read before are checked against it", "rows_read_before", from.Rows, "previous_report", from.ReportID)
	}
	rows.fetch = func(ctx context.Context, link int) (*linkBody, error) {
		f, size, err := c.download(ctx, rows.log, &rep, link)
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
	rows.startAhead(0)
	return rows
}

// startAhead starts downloading link in the background, if it exists.
func (r *Rows) startAhead(link int) {
	if link >= r.nLinks {
		return
	}
	d := &download1{link: link, done: make(chan struct{})}
	r.ahead = d
	go func() {
		defer close(d.done)
		d.body, d.err = r.fetch(r.ctx, link)
	}()
}

// Next advances to the next row. It returns false at the end of the report,
// on an error (see Err), or when the next row needs a link that is still
// downloading (see Pending). Temp files are removed as soon as a link is
// read or reading stops.
func (r *Rows) Next() bool {
	r.pending = false
	if r.err != nil || r.done || r.closed {
		return false
	}
	for {
		if r.csv == nil {
			ok, err := r.nextFile()
			if errors.Is(err, errPending) {
				r.pending = true
				return false
			}
			if err != nil {
				r.fail(err)
				return false
			}
			if !ok {
				if err := r.releaseLink(); err != nil {
					// Every row was read: a temp file left behind costs
					// disk, not rows. Say so rather than fail the window.
					r.log.Warn("removing a downloaded report file failed", "error", err.Error())
				}
				if r.pos.Rows < r.from.Rows {
					r.fail(&ResumeError{ReportID: r.id, Rows: r.from.Rows,
						Reason: fmt.Sprintf("the report now has %d rows", r.pos.Rows)})
					return false
				}
				r.done = true
				return false
			}
		}
		rec, err := r.csv.Read()
		if err == io.EOF {
			r.closeFile()
			continue
		}
		if err != nil {
			r.fail(fmt.Errorf("freshchat report %s, %s: %w", r.id, r.file, unreadable(err)))
			return false
		}
		if len(rec) == 1 && len(r.header) > 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a line of white space
		}
		ord := r.pos.Rows
		r.pos.Rows++
		r.pos.Digest = r.pos.Digest.AddRow(rec)
		r.pos.Link = r.link
		if ord < r.from.Rows {
			if ord == r.from.Rows-1 && r.pos.Digest != r.from.Digest {
				r.fail(&ResumeError{ReportID: r.id, Rows: r.from.Rows, Reason: "the rows read again differ from those read before"})
				return false
			}
			continue
		}
		line, _ := r.csv.FieldPos(0)
		r.row = Row{Ordinal: ord, Link: r.link, File: r.file, Line: int64(line), Header: r.header, Fields: rec}
		return true
	}
}

// WaitNext is Next for a reader that may wait on the network at any row
// (nothing of its own is open meanwhile): it waits for the download the
// next row needs instead of returning false. A ctx that ends stops it with
// ctx's cause as Err.
func (r *Rows) WaitNext(ctx context.Context) bool {
	for {
		if r.Next() {
			return true
		}
		if !r.pending {
			return false
		}
		if err := r.Wait(ctx); err != nil {
			r.fail(err)
			return false
		}
	}
}

// Row returns the current row. The Row and its Fields slice are reused:
// they are valid only until the next call to Next; copy what must outlive it.
func (r *Rows) Row() *Row { return &r.row }

// Position returns where reading stands: after the current row (after the
// rows skipped, before the first Next that returned true).
func (r *Rows) Position() Position { return r.pos }

// Pending reports whether the last Next returned false only because the
// next row is in a link still downloading: call Wait, then Next again.
func (r *Rows) Pending() bool { return r.pending }

// Wait blocks until the link the next row needs has downloaded (or failed:
// Next then reports the failure) or ctx ends (its error is returned).
func (r *Rows) Wait(ctx context.Context) error {
	if r.ahead == nil {
		return nil
	}
	select {
	case <-r.ahead.done:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Err returns the error that ended the iteration, or nil at a clean end.
// [Retryable] tells whether reading the report again may succeed; an error
// wrapping [ErrResubmit] says a new report must be submitted.
func (r *Rows) Err() error { return r.err }

// Close stops the iteration, stops the download in flight and removes temp
// files. It may be called more than once.
func (r *Rows) Close() error {
	r.closed = true
	r.closeFile()
	err := r.releaseLink()
	if r.cancel != nil {
		r.cancel()
	}
	if d := r.ahead; d != nil {
		r.ahead = nil
		<-d.done
		if d.body != nil {
			err = errors.Join(err, d.body.release())
		}
	}
	return err
}

func (r *Rows) fail(err error) {
	r.closeFile()
	r.err = errors.Join(err, r.releaseLink())
}

// errPending is nextFile's word for "the next link is still downloading".
var errPending = errors.New("next link still downloading")

// nextFile opens the next non-empty file, taking the next link's download
// when the current one is used up (errPending while it is not finished). It
// returns false after the last file.
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
					return false, fmt.Errorf("freshchat report %s, %s: %w", r.id, name, unreadable(err))
				}
				ahead, err := inflateAhead(rc)
				if err != nil {
					return false, fmt.Errorf("freshchat report %s, %s: %w", r.id, name, err)
				}
				if ok, err := r.startFile(ahead, name); ok || err != nil {
					return ok, err
				}
			}
		}
		if err := r.releaseLink(); err != nil {
			return false, err
		}
		if r.link+1 >= r.nLinks {
			return false, nil
		}
		if err := context.Cause(r.ctx); err != nil {
			return false, err
		}
		d := r.ahead
		select {
		case <-d.done:
		default:
			return false, errPending
		}
		r.ahead = nil
		if d.err != nil {
			return false, d.err
		}
		r.link = d.link
		r.body = d.body
		r.startAhead(r.link + 1)
		if ok, err := r.openBody(d.body); ok || err != nil {
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

// openBody reads a link's body by its magic bytes: a zip, a gzip stream, or
// else a plain CSV.
func (r *Rows) openBody(b *linkBody) (bool, error) {
	var magic [4]byte
	name := fmt.Sprintf("link%d", r.link)
	n, err := b.ReadAt(magic[:], 0)
	if err != nil && err != io.EOF {
		return false, fmt.Errorf("freshchat report %s, %s: reading the downloaded file: %w", r.id, name, err)
	}
	switch m := magic[:n]; {
	case bytes.HasPrefix(m, []byte("PK\x03\x04")) || bytes.HasPrefix(m, []byte("PK\x05\x06")):
		zr, err := zip.NewReader(b, b.size)
		if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // names are never used as paths
			return false, fmt.Errorf("freshchat report %s, %s: reading zip: %w", r.id, name, unreadable(err))
		}
		zr.RegisterDecompressor(zip.Deflate, func(r io.Reader) io.ReadCloser { return flate.NewReader(r) })
		r.zr, r.entry = zr, 0
		r.log.Debug("reading freshchat report link", "link", r.link, "format", "zip", "files", len(zr.File))
		return false, nil
	case bytes.HasPrefix(m, []byte{0x1f, 0x8b}):
		gz, err := gzip.NewReader(bufio.NewReader(io.NewSectionReader(b, 0, b.size)))
		if err != nil {
			return false, fmt.Errorf("freshchat report %s, %s: reading gzip: %w", r.id, name, unreadable(err))
		}
		r.log.Debug("reading freshchat report link", "link", r.link, "format", "gzip")
		ahead, err := inflateAhead(gz)
		if err != nil {
			return false, fmt.Errorf("freshchat report %s, %s: %w", r.id, name, err)
		}
		return r.startFile(ahead, name)
	default:
		r.log.Debug("reading freshchat report link", "link", r.link, "format", "csv")
		return r.startFile(io.NopCloser(io.NewSectionReader(b, 0, b.size)), name)
	}
}

// inflateAhead reads rc on a goroutine of its own, up to five buffers of
// 256 KiB ahead of the consumer, so that inflating a zip entry or a gzip
// stream runs on one core while the CSV parser runs on another. An io.Pipe
// would not do: its Write blocks until the reader has taken every byte, so
// the two sides take turns. rc's errors reach the reader unchanged once the
// bytes before them are read; Close stops the goroutine and closes rc. It
// fails only on a nil rc.
func inflateAhead(rc io.ReadCloser) (io.ReadCloser, error) {
	const buffers, size = 5, 256 << 10
	ahead, err := readahead.NewReadCloserSize(rc, buffers, size)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("reading ahead: %w", err), rc.Close())
	}
	return ahead, nil
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
		return false, fmt.Errorf("freshchat report %s, %s: reading header: %w", r.id, name, unreadable(err))
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
