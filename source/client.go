package source

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Report job statuses. Any other status means "not ready yet".
const (
	StatusPending   = "PENDING"
	StatusCompleted = "COMPLETED"
	StatusFailed    = "FAILED"
)

// maxAPIBody bounds how much of an API answer is read.
const maxAPIBody = 4 << 20

// Report is a raw report job as answered by GET /reports/raw/{id}.
type Report struct {
	ID string
	// Status is the job status, upper-cased: PENDING, COMPLETED, FAILED or
	// any other value (not ready yet).
	Status string
	// Links are the download links in the API's order; a long window has
	// several, each for a sub-period. Both the "links" array and the legacy
	// single "link" object are read into this slice.
	Links []Link
	// Event and Window are set by Prepare (empty from Get); Open uses them
	// as log fields.
	Event  string
	Window Window
}

// Link is one download of a report. Href is a pre-signed URL: a secret
// until it expires, so String leaves out its query.
type Link struct {
	From, To string // sub-period, as sent by the API
	Status   string // per-link status, upper-cased (COMPLETED, SUCCESS, IN_PROGRESS, ...)
	Href     string
}

// String describes the link without the query of its href.
func (l Link) String() string {
	return fmt.Sprintf("{%s..%s %s %s}", l.From, l.To, l.Status, redactHref(l.Href))
}

type reportState int

const (
	statePending reportState = iota
	stateReady
	stateFailed
	// stateNoLinks is a COMPLETED job without any link: its files may not
	// be attached yet, or the window may be empty (see Client.Await).
	stateNoLinks
)

// state says whether r can be downloaded: the job is COMPLETED, it has at
// least one link, and every link is finished (status empty, COMPLETED or
// SUCCESS) and has an href. A FAILED job, or a completed job with a FAILED
// or ERROR link, has failed. Any other job status is pending.
func (r *Report) state() reportState {
	switch r.Status {
	case StatusFailed:
		return stateFailed
	case StatusCompleted:
	default:
		return statePending
	}
	if len(r.Links) == 0 {
		return stateNoLinks
	}
	st := stateReady
	for _, l := range r.Links {
		switch l.Status {
		case "", StatusCompleted, "SUCCESS":
			if l.Href == "" {
				st = statePending
			}
		case StatusFailed, "ERROR":
			return stateFailed
		default:
			st = statePending
		}
	}
	return st
}

type submitRequest struct {
	Start  string `json:"start"`
	End    string `json:"end"`
	Event  string `json:"event"`
	Format string `json:"format"`
}

// Submit asks the API to extract the report of event for w, as
// [Client.SubmitReport] does for Submission{Event: event, Window: w}, and
// returns the report's id.
func (c *Client) Submit(ctx context.Context, event string, w Window) (id string, err error) {
	got, err := c.SubmitReport(ctx, Submission{Event: event, Window: w})
	return got.ID, err
}

// Get fetches a report job: GET {base}/reports/raw/{id}. A 404 answer is
// returned as an error wrapping both [ErrReportNotFound] and the [*APIError].
func (c *Client) Get(ctx context.Context, id string) (*Report, error) {
	return c.get(ctx, c.log.With("report", id), id)
}

func (c *Client) get(ctx context.Context, log *slog.Logger, id string) (*Report, error) {
	if id == "" || id == "." || id == ".." {
		return nil, fmt.Errorf("freshchat get report: invalid id %q", id)
	}
	op := "GET /reports/raw/" + id
	data, err := c.call(ctx, log, EndpointGet, op, http.MethodGet, c.base.JoinPath("reports", "raw", url.PathEscape(id)), nil)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound {
			return nil, fmt.Errorf("%w: %w", ErrReportNotFound, err)
		}
		return nil, err
	}
	var doc reportDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("freshchat API %s: malformed answer %s: %w", op, c.snippet(data), err)
	}
	r := doc.report(id)
	log.Debug("freshchat report status", "status", r.Status, "links", len(r.Links))
	return r, nil
}

type reportDoc struct {
	ID     string    `json:"id"`
	Status string    `json:"status"`
	Links  []linkDoc `json:"links"`
	Link   *linkDoc  `json:"link"` // legacy shape
}

// linkDoc reads both {"from", "to", "status", "link": {"rel", "href"}} and
// a bare {"rel", "href"}.
type linkDoc struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Status string `json:"status"`
	Rel    string `json:"rel"`
	Href   string `json:"href"`
	Link   *struct {
		Rel  string `json:"rel"`
		Href string `json:"href"`
	} `json:"link"`
}

func (d reportDoc) report(id string) *Report {
	r := &Report{ID: d.ID, Status: strings.ToUpper(strings.TrimSpace(d.Status)), Links: []Link{}}
	if r.ID == "" {
		r.ID = id
	}
	docs := d.Links
	if len(docs) == 0 && d.Link != nil {
		docs = []linkDoc{*d.Link}
	}
	for _, ld := range docs {
		rel, href := ld.Rel, ld.Href
		if ld.Link != nil {
			rel, href = ld.Link.Rel, ld.Link.Href
		}
		if isSelfLink(rel, href, r.ID) {
			continue
		}
		r.Links = append(r.Links, Link{
			From:   ld.From,
			To:     ld.To,
			Status: strings.ToUpper(strings.TrimSpace(ld.Status)),
			Href:   strings.TrimSpace(href),
		})
	}
	return r
}

// isSelfLink recognises the reference to the report job itself that the
// submit answer (and possibly a pending job) carries: {"rel": "extracts",
// "href": "/reports/raw/<id>"}. It is not a download.
func isSelfLink(rel, href, id string) bool {
	if rel == "extracts" || rel == "self" {
		return true
	}
	u, err := url.Parse(href)
	return err == nil && id != "" && strings.HasSuffix(u.Path, "/reports/raw/"+id)
}

// call runs one API request with retries and returns the 2xx body. Every
// attempt first waits for the client's limiter (budget, 429 pauses); the
// stall timeout starts only once the request is sent.
func (c *Client) call(ctx context.Context, log *slog.Logger, endpoint, op, method string, u *url.URL, body []byte) ([]byte, error) {
	return c.callWith(ctx, log, endpoint, op, method, u, func() ([]byte, error) { return body, nil })
}

// callWith is call with a body built for each attempt, once the limiter
// admitted it: a submit's window may depend on the time it is sent. An
// error from body ends the call.
func (c *Client) callWith(ctx context.Context, log *slog.Logger, endpoint, op, method string, u *url.URL, body func() ([]byte, error)) ([]byte, error) {
	var data []byte
	err := c.newRetrier(log, op, c.lim).do(ctx, func(ctx context.Context) error {
		if err := c.lim.wait(ctx); err != nil {
			return fmt.Errorf("freshchat API %s: %w", op, err)
		}
		b, err := body()
		if err != nil {
			return err
		}
		data, err = c.callOnce(ctx, endpoint, op, method, u, b)
		return err
	})
	return data, err
}

func (c *Client) callOnce(parent context.Context, endpoint, op, method string, u *url.URL, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeoutCause(parent, c.cfg.StallTimeout, errStalled)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("freshchat API %s: %w", op, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "freshchat-kafka")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		c.meter.request(endpoint, 0)
		err = c.transportError(parent, ctx, "freshchat API "+op, err)
		c.answered(parent, 0, err)
		return nil, err
	}
	defer resp.Body.Close()
	c.meter.request(endpoint, resp.StatusCode)
	data, readErr := io.ReadAll(io.LimitReader(resp.Body, maxAPIBody))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ae := c.apiError(op, resp, data)
		c.answered(parent, resp.StatusCode, ae)
		return nil, ae
	}
	if readErr != nil {
		err := c.transportError(parent, ctx, "freshchat API "+op, readErr)
		c.answered(parent, 0, err)
		return nil, err
	}
	c.answered(parent, resp.StatusCode, nil)
	return data, nil
}

// answered records an API attempt's outcome in the client's APIHealth,
// unless the caller cancelled it: a stop is no news about the API.
func (c *Client) answered(parent context.Context, code int, err error) {
	if parent.Err() != nil {
		return
	}
	c.meter.apiAnswer(c.cfg.Now(), code, err)
}

// transportError words a failure to get an answer. The caller's own
// cancellation stays recognisable; an attempt abandoned by the stall
// watchdog becomes errStalled.
func (c *Client) transportError(parent, attempt context.Context, what string, err error) error {
	if perr := context.Cause(parent); perr != nil {
		return fmt.Errorf("%s: %w", what, perr)
	}
	if errors.Is(context.Cause(attempt), errStalled) {
		return fmt.Errorf("%s: %w", what, errStalled)
	}
	return fmt.Errorf("%s: %w", what, scrubURLError(err))
}

func (c *Client) apiError(op string, resp *http.Response, data []byte) *APIError {
	e := &APIError{Op: op, StatusCode: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), c.cfg.Now())}
	// Two shapes are seen: {"code": 404, "status": "NOT_FOUND", "message":
	// "..."} and {"error_code": 5, "message": "No matching event name"}.
	var body struct {
		Code      int    `json:"code"`
		ErrorCode int    `json:"error_code"`
		Status    string `json:"status"`
		Message   string `json:"message"`
	}
	if json.Unmarshal(data, &body) == nil && (body.Message != "" || body.Status != "") {
		e.Code, e.Status, e.Message = body.Code, oneLine(c.redact(body.Status), 100), oneLine(c.redact(body.Message), 500)
		e.ErrorCode = body.ErrorCode
	} else {
		e.Message = c.snippet(data)
	}
	return e
}

// snippet is the start of an answer body, on one line, without the token.
func (c *Client) snippet(data []byte) string {
	return oneLine(c.redact(string(data)), 200)
}

func oneLine(s string, limit int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
