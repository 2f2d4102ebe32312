package source

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

var (
	// ErrReportNotFound is wrapped by [Client.Get] when the API answers 404:
	// the report id is unknown or the report has expired.
	ErrReportNotFound = errors.New("freshchat report not found")
	// ErrSubmitsExhausted is wrapped by [Client.Prepare] when a window's
	// report failed, vanished or stayed pending through MaxSubmits submits.
	ErrSubmitsExhausted = errors.New("freshchat report never completed")
	// ErrResubmit is wrapped by the errors of [Client.Await] and [Rows]
	// that mean the report must be submitted again: it FAILED, vanished
	// (404 on its GET or its links), stayed pending past PendingTimeout, or
	// its links turned unfinished again while it was read. See
	// [ResubmitError].
	ErrResubmit = errors.New("freshchat report must be submitted again")
	// errStalled marks a request abandoned after StallTimeout without progress.
	errStalled = errors.New("no progress within the stall timeout (freshchat.request_timeout, FRESHCHAT_REQUEST_TIMEOUT: raise it for an API or object store that takes longer to answer)")
	// errCutDownload marks a download body shorter than announced.
	errCutDownload = errors.New("download cut short")
)

// ResubmitError says why a report must be submitted again.
type ResubmitError struct {
	ReportID string
	// Reason is the report's last state, e.g. "FAILED", "not found (404)"
	// or "PENDING after 30m0s".
	Reason string
}

func (e *ResubmitError) Error() string {
	return fmt.Sprintf("freshchat report %s must be submitted again: %s", e.ReportID, e.Reason)
}

// Is makes errors.Is(err, ErrResubmit) true.
func (e *ResubmitError) Is(target error) bool { return target == ErrResubmit }

func (e *ResubmitError) retryable() bool { return false }

// APIError is a non-2xx answer of the Freshchat API. Its text never contains
// the API token.
type APIError struct {
	// Op is the request, e.g. "POST /reports/raw" or "GET /reports/raw/<id>"
	// (path relative to the base URL).
	Op string
	// StatusCode is the HTTP status code.
	StatusCode int
	// Code, Status and Message come from the error body
	// {"code": 401, "status": "UNAUTHORIZED", "message": "..."}; Message
	// holds the start of a body that is not such JSON.
	Code    int
	Status  string
	Message string
	// ErrorCode is the "error_code" of the API's other error shape
	// {"error_code": 5, "message": "No matching event name"}, or 0.
	ErrorCode int
	// RetryAfter is the wait the server asked for (Retry-After), or 0.
	RetryAfter time.Duration
}

// Error reads like "freshchat API POST /reports/raw: 401 UNAUTHORIZED:
// <message> (check the API token: ...)".
func (e *APIError) Error() string {
	status := e.Status
	if status == "" {
		status = http.StatusText(e.StatusCode)
	}
	s := fmt.Sprintf("freshchat API %s: %d %s", e.Op, e.StatusCode, status)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.ErrorCode != 0 {
		s += fmt.Sprintf(" (error_code %d)", e.ErrorCode)
	}
	if h := e.hint(); h != "" {
		s += " (" + h + ")"
	}
	return s
}

func (e *APIError) hint() string {
	switch c := e.StatusCode; {
	case c == http.StatusBadRequest:
		return "request refused: check the event name and the window; start must be no earlier than 15 months ago and end at most a month after start"
	case c == http.StatusUnauthorized:
		return "check the API token: it is missing, wrong, expired or revoked"
	case c == http.StatusForbidden:
		return "the API token lacks permission for raw reports, or the account's plan does not include them"
	case c == http.StatusNotFound && strings.HasPrefix(e.Op, http.MethodPost):
		return "check the base URL: it must be the account's API base, e.g. https://<domain>.freshchat.com/v2"
	case c == http.StatusNotFound:
		return "the report is unknown or has expired"
	case c == http.StatusTooManyRequests:
		return "rate limited: the account's request budget is spent"
	case c >= 500:
		return "server error"
	}
	return ""
}

func (e *APIError) retryable() bool { return retryableStatus(e.StatusCode) }

func (e *APIError) retryAfter() time.Duration { return e.RetryAfter }

// DownloadError is a non-2xx answer of the object store serving a report
// link. URL is the link without its query (the pre-signed signature). It
// comes wrapped in the text "downloading link <i> of freshchat report <id>".
type DownloadError struct {
	Report     string // report id
	Link       int    // index of the link in the report
	URL        string
	StatusCode int
	RetryAfter time.Duration
}

func (e *DownloadError) Error() string {
	s := fmt.Sprintf("object store answered HTTP %d %s for %s", e.StatusCode, http.StatusText(e.StatusCode), e.URL)
	switch {
	case isRefreshStatus(e.StatusCode):
		s += " (the link was refused even after fetching fresh links; the report may have expired)"
	case e.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		s += " (the server refused to resume the download)"
	}
	return s
}

func (e *DownloadError) retryable() bool { return retryableStatus(e.StatusCode) }

func (e *DownloadError) retryAfter() time.Duration { return e.RetryAfter }

func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500
}

// isRefreshStatus reports whether a download answer means the pre-signed
// link is no longer valid (expired: 403 on S3 and Azure, 400 on some stores).
func isRefreshStatus(code int) bool {
	return code == http.StatusForbidden || code == http.StatusUnauthorized ||
		code == http.StatusBadRequest || code == http.StatusNotFound
}

// Retryable reports whether err, returned by this package, is transient:
// trying the same operation again later may succeed. True for HTTP 429, 408
// and 5xx answers, dropped or stalled connections and cut downloads (also
// once this package's own retries are spent). False for nil, cancellation,
// API 400/401/403/404 ([ErrReportNotFound]), [ErrSubmitsExhausted], TLS
// certificate problems, malformed answers, and report files that cannot be
// decoded (a corrupt zip or gzip, a CSV syntax error).
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var st interface{ retryable() bool }
	if errors.As(err, &st) {
		return st.retryable()
	}
	if errors.Is(err, ErrReportNotFound) || errors.Is(err, ErrSubmitsExhausted) ||
		errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, errStalled) || errors.Is(err, errCutDownload) {
		return true
	}
	var (
		verify      *tls.CertificateVerificationError
		unknownCA   x509.UnknownAuthorityError
		hostname    x509.HostnameError
		invalidCert x509.CertificateInvalidError
	)
	if errors.As(err, &verify) || errors.As(err, &unknownCA) || errors.As(err, &hostname) || errors.As(err, &invalidCert) {
		return false
	}
	var ue *url.Error
	if errors.Is(err, context.DeadlineExceeded) {
		// The caller's deadline, unless an HTTP client timeout says so.
		return errors.As(err, &ue)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &ue) || errors.As(err, &oe)
}

// scrubURLError rewrites the URL inside a *url.Error (which the HTTP client
// puts in its error text) without its query, so pre-signed signatures never
// reach an error or a log.
func scrubURLError(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	return &url.Error{Op: ue.Op, URL: redactHref(ue.URL), Err: ue.Err}
}
