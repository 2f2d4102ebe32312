package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// spoolPattern names the temp files downloads are spooled to.
const spoolPattern = "freshchat-report-*.download"

// RemoveSpooled removes from dir the download files an earlier process
// left behind when it ended without removing them (a crash, a SIGKILL),
// and returns how many it removed. Call it only when no other live process
// spools into dir: the connector gives each transactional identity a
// folder of its own and calls it once its producers are initialised, when
// any earlier instance with that identity is fenced.
func RemoveSpooled(dir string) (int, error) {
	names, err := filepath.Glob(filepath.Join(dir, spoolPattern))
	if err != nil {
		return 0, fmt.Errorf("listing stale downloads in %s: %w", dir, err)
	}
	removed := 0
	var errs []error
	for _, name := range names {
		if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("removing stale downloads in %s: %w", dir, err)
	}
	return removed, nil
}

// download spools link idx of rep into a new temp file in TempDir and
// returns it with its size. The request carries no Authorization header.
// A cut body is resumed with "Range: bytes=N-" (a 200 answer restarts from
// byte 0); a refused link (403, also 400/401/404) makes it GET the report
// for fresh links, at most LinkRefreshes times, and go on with the same link
// index; 429, 5xx, dropped and stalled connections are retried with backoff
// (a download that made progress since its last failure gets a fresh budget).
// rep.Links is replaced by the fresh links.
func (c *Client) download(ctx context.Context, log *slog.Logger, rep *Report, idx int) (_ *os.File, _ int64, err error) {
	f, err := os.CreateTemp(c.cfg.TempDir, spoolPattern)
	if err != nil {
		return nil, 0, fmt.Errorf("downloading link %d of freshchat report %s: %w", idx, rep.ID, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	d := &download{c: c, log: log, rep: rep, idx: idx, f: f, total: -1}
	started := c.cfg.Now()
	r := c.newRetrier(log, fmt.Sprintf("download link %d", idx), nil)
	if err := r.do(ctx, func(ctx context.Context) error { return d.attempt(ctx, r) }); err != nil {
		return nil, 0, fmt.Errorf("downloading link %d of freshchat report %s: %w", idx, rep.ID, err)
	}
	log.Debug("downloaded freshchat report link", "link", idx, "href", redactHref(rep.Links[idx].Href),
		"bytes", d.written, "duration", c.cfg.Now().Sub(started), "attempts", r.attempts, "refreshes", d.refreshes)
	return f, d.written, nil
}

type download struct {
	c         *Client
	log       *slog.Logger
	rep       *Report
	idx       int
	f         *os.File
	written   int64  // bytes in f
	total     int64  // size of the whole file, -1 if unknown
	etag      string // strong ETag of the object, for If-Range
	refreshes int
}

// attempt makes one request (plus any link refreshes) and appends its body.
func (d *download) attempt(parent context.Context, r *retrier) error {
	for {
		u, err := d.href()
		if err != nil {
			return err
		}
		code, err := d.fetch(parent, u, r)
		if err != nil || !isRefreshStatus(code) {
			return err
		}
		d.refreshes++
		d.log.Info("freshchat download link refused, fetching fresh links", "link", d.idx, "status", code, "refresh", d.refreshes)
		if err := d.refresh(parent); err != nil {
			return err
		}
	}
}

// href resolves the link; a relative one against the base URL's origin.
func (d *download) href() (*url.URL, error) {
	raw := d.rep.Links[d.idx].Href
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid href %s", redactHref(raw))
	}
	if !u.IsAbs() {
		u = (&url.URL{Scheme: d.c.base.Scheme, Host: d.c.base.Host}).ResolveReference(u)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("invalid href %s: not an http(s) URL", redactURL(u))
	}
	return u, nil
}

// fetch makes one request. It returns the status code and a nil error when
// the link was refused and a refresh is due.
func (d *download) fetch(parent context.Context, u *url.URL, r *retrier) (int, error) {
	what := "GET " + redactURL(u)
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	watchdog := time.AfterFunc(d.c.cfg.StallTimeout, func() { cancel(errStalled) })
	defer watchdog.Stop()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, scrubURLError(err))
	}
	// No Authorization: the link is pre-signed and the token must not leave
	// for the object store. Identity encoding keeps byte ranges exact.
	req.Header.Set("Accept-Encoding", "identity")
	req.Header.Set("User-Agent", "freshchat-kafka")
	if d.written > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(d.written, 10)+"-")
		if d.etag != "" {
			req.Header.Set("If-Range", d.etag)
		}
	}
	resp, err := d.c.cfg.HTTPClient.Do(req)
	if err != nil {
		d.c.meter.request(EndpointDownload, 0)
		var ue *url.Error
		if context.Cause(parent) == nil && !errors.Is(context.Cause(ctx), errStalled) && errors.As(err, &ue) {
			return 0, scrubURLError(err) // names the method and URL itself
		}
		return 0, d.c.transportError(parent, ctx, what, err)
	}
	defer resp.Body.Close()
	d.c.meter.request(EndpointDownload, resp.StatusCode)

	switch code := resp.StatusCode; {
	case code == http.StatusOK:
		if d.written > 0 {
			d.log.Info("freshchat download restarts from the beginning: the server ignored the range", "link", d.idx, "had", d.written)
			if err := d.reset(); err != nil {
				return 0, err
			}
		}
		d.total = resp.ContentLength
		d.etag = strongETag(resp.Header.Get("ETag"))
	case code == http.StatusPartialContent:
		start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != d.written {
			if err := d.reset(); err != nil {
				return 0, err
			}
			return 0, fmt.Errorf("%s: %w: resumed at the wrong offset (Content-Range %q), restarting", what, errCutDownload, resp.Header.Get("Content-Range"))
		}
		d.total = total
		if e := strongETag(resp.Header.Get("ETag")); e != "" {
			d.etag = e
		}
	case code == http.StatusRequestedRangeNotSatisfiable && d.written > 0:
		if d.total >= 0 && d.written == d.total {
			return 0, nil
		}
		if err := d.reset(); err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("%s: %w: range refused, restarting", what, errCutDownload)
	case isRefreshStatus(code) && d.refreshes < d.c.cfg.LinkRefreshes:
		return code, nil
	default:
		return 0, &DownloadError{Report: d.rep.ID, Link: d.idx, URL: redactURL(u), StatusCode: code,
			RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), d.c.cfg.Now())}
	}

	body := &progressReader{r: resp.Body, watchdog: watchdog, stall: d.c.cfg.StallTimeout}
	n, err := io.Copy(d.f, body)
	d.written += n
	d.c.meter.downloaded(n)
	if n > 0 {
		r.progressed()
	}
	switch {
	case err != nil && body.err == nil:
		return 0, fmt.Errorf("writing download to %s: %w", d.f.Name(), err)
	case err != nil:
		return 0, d.c.transportError(parent, ctx, what, err)
	case d.total >= 0 && d.written < d.total:
		return 0, fmt.Errorf("%s: %w: %d of %d bytes", what, errCutDownload, d.written, d.total)
	case d.total >= 0 && d.written > d.total:
		if err := d.reset(); err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("%s: %w: got more bytes than announced, restarting", what, errCutDownload)
	}
	return 0, nil
}

// reset empties the temp file so the download starts over.
func (d *download) reset() error {
	d.written, d.total, d.etag = 0, -1, ""
	if err := d.f.Truncate(0); err != nil {
		return fmt.Errorf("restarting download: %w", err)
	}
	if _, err := d.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("restarting download: %w", err)
	}
	return nil
}

// refresh replaces the report's links by fresh ones from the API. A report
// that is gone (404), or whose links are no longer all finished or are not
// the same number, cannot be read on: the error wraps ErrResubmit.
func (d *download) refresh(ctx context.Context) error {
	fresh, err := d.c.get(ctx, d.log, d.rep.ID)
	if errors.Is(err, ErrReportNotFound) {
		return &ResubmitError{ReportID: d.rep.ID, Reason: fmt.Sprintf("not found (404) while reading link %d", d.idx)}
	}
	if err != nil {
		return fmt.Errorf("fetching fresh links: %w", err)
	}
	if fresh.state() != stateReady || len(fresh.Links) != len(d.rep.Links) {
		return &ResubmitError{ReportID: d.rep.ID, Reason: fmt.Sprintf("changed while reading link %d: now %s with %d links, was %d links",
			d.idx, describe(fresh), len(fresh.Links), len(d.rep.Links))}
	}
	d.rep.Links = fresh.Links
	return nil
}

// progressReader re-arms the stall watchdog whenever bytes arrive and keeps
// the read error apart from write errors.
type progressReader struct {
	r        io.Reader
	watchdog *time.Timer
	stall    time.Duration
	err      error
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.watchdog.Reset(p.stall)
	}
	if err != nil && err != io.EOF {
		p.err = err
	}
	return n, err
}

// parseContentRange reads "bytes <start>-<end>/<total|*>".
func parseContentRange(h string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(h), "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, size, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	first, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(strings.TrimSpace(first), 10, 64)
	if err != nil || start < 0 {
		return 0, 0, false
	}
	total = -1
	if size = strings.TrimSpace(size); size != "*" {
		if total, err = strconv.ParseInt(size, 10, 64); err != nil {
			return 0, 0, false
		}
	}
	return start, total, true
}

func strongETag(e string) string {
	if e == "" || strings.HasPrefix(e, "W/") {
		return ""
	}
	return e
}
