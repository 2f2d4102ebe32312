package source

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Defaults applied by [NewClient] to zero fields of [ClientConfig]. They
// are also the connector's defaults: package config declares its settings'
// defaults from them, so the two never disagree.
const (
	DefaultPollInterval    = 2 * time.Second
	DefaultPollMaxInterval = 30 * time.Second
	DefaultPendingTimeout  = 30 * time.Minute
	DefaultMaxSubmits      = 5
	DefaultEmptySettle     = 2 * time.Minute
	DefaultStallTimeout    = 60 * time.Second
	DefaultRetryBase       = 500 * time.Millisecond
	DefaultRetryMax        = 30 * time.Second
	DefaultRetryAttempts   = 10
	// DefaultLinkRefreshes bounds how often one download asks the API for
	// fresh links after the object store refused an expired one.
	DefaultLinkRefreshes = 3
	// DefaultHistoryMargin is how far after the API's 15-month limit a
	// trimmed window starts (see Submission.Trim).
	DefaultHistoryMargin = 2 * time.Minute
)

// ClientConfig configures a [Client]. Zero values take the defaults above.
//
// Token is a secret: String, GoString and LogValue leave it out, and
// encoding/json skips it.
type ClientConfig struct {
	// BaseURL is the account's API base including its version prefix, e.g.
	// https://acme.freshchat.com/v2 or https://api.eu.freshchat.com/v2.
	// Requests go to BaseURL + "/reports/raw". Required; http or https.
	BaseURL *url.URL
	// Token is the API token sent as "Authorization: Bearer <token>" to the
	// API only, never to download links. Required.
	Token string `json:"-"`
	// HTTPClient is used for API requests and downloads. Default: a client
	// with dial, TLS and response-header timeouts and no overall timeout
	// (downloads may be large).
	HTTPClient *http.Client
	// Logger receives the client's log records. Default: discard.
	Logger *slog.Logger
	// PollInterval is the delay before the first poll of a submitted report;
	// each further delay is 1.5 times the previous one, up to PollMaxInterval.
	PollInterval    time.Duration
	PollMaxInterval time.Duration
	// PendingTimeout: a report still not COMPLETED this long after it was
	// submitted (or resumed) is submitted again.
	PendingTimeout time.Duration
	// MaxSubmits bounds the submits of one window (FAILED reports, pending
	// timeouts and vanished reports each cost one more submit).
	MaxSubmits int
	// EmptySettle is how long a report must keep answering COMPLETED
	// without any link before Await takes it as empty (see Await).
	EmptySettle time.Duration
	// StallTimeout: an API request without a complete answer, or a download
	// that receives no byte, for this long is abandoned and retried.
	StallTimeout time.Duration
	// LinkRefreshes bounds how often one download fetches fresh links after
	// the object store refused the link (expired pre-signed URL).
	LinkRefreshes int
	// Retry governs retries of transient failures.
	Retry RetryConfig
	// Budget paces and caps the client's API requests (zero: unlimited, what
	// tests and tools want; the connector's default, 60 a minute, is its
	// setting freshchat.requests_per_minute).
	Budget BudgetConfig
	// SubmitsPerMinute paces the client's submits, one every
	// minute/SubmitsPerMinute, on top of Budget: the most urgent submit
	// goes first (see SubmitReport). 0 means submits are paced by Budget
	// alone.
	SubmitsPerMinute int
	// HistoryMargin is how far after the API's 15-month limit a trimmed
	// window starts (see Submission.Trim): it covers the two clocks
	// disagreeing and a request's time in flight.
	HistoryMargin time.Duration
	// TempDir receives the temporary files downloads are spooled to.
	// Default: os.TempDir().
	TempDir string
	// Now is the clock used for timeouts and the request budget (waits are
	// timers: use testing/synctest to fake time). Default: time.Now.
	Now func() time.Time
}

// RetryConfig governs retries of one request (an API call, or one download
// link) after transient failures: HTTP 5xx and 408, dropped connections, cut
// downloads and stalls. Delays grow exponentially from Base, capped at Max,
// with full jitter (github.com/sethvargo/go-retry).
//
// HTTP 429 answers do not count against MaxAttempts: the client waits for
// Retry-After (whole seconds or an HTTP date; absent: the backoff delay) and
// tries again, up to MaxThrottled times.
type RetryConfig struct {
	Base         time.Duration
	Max          time.Duration
	MaxAttempts  int // attempts per request, the first one included
	MaxThrottled int // 429 answers tolerated per request
}

// String describes the configuration without the token.
func (c ClientConfig) String() string {
	base := "<nil>"
	if c.BaseURL != nil {
		base = redactURL(c.BaseURL)
	}
	return fmt.Sprintf("ClientConfig{BaseURL: %s, Token: %s, PollInterval: %s, PollMaxInterval: %s, PendingTimeout: %s, EmptySettle: %s, MaxSubmits: %d, StallTimeout: %s, LinkRefreshes: %d, Retry: %+v, Budget: %s, SubmitsPerMinute: %d, TempDir: %q}",
		base, "[REDACTED]", c.PollInterval, c.PollMaxInterval, c.PendingTimeout, c.EmptySettle, c.MaxSubmits, c.StallTimeout, c.LinkRefreshes, c.Retry, c.Budget, c.SubmitsPerMinute, c.TempDir)
}

// GoString is String: %#v must not print the token either.
func (c ClientConfig) GoString() string { return c.String() }

// LogValue logs the configuration without the token.
func (c ClientConfig) LogValue() slog.Value { return slog.StringValue(c.String()) }

// withDefaults returns c with every zero field set to its default.
func (c ClientConfig) withDefaults() ClientConfig {
	if c.HTTPClient == nil {
		c.HTTPClient = defaultHTTPClient()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.PollInterval = orDefault(c.PollInterval, DefaultPollInterval)
	c.PollMaxInterval = orDefault(c.PollMaxInterval, max(DefaultPollMaxInterval, c.PollInterval))
	c.PendingTimeout = orDefault(c.PendingTimeout, DefaultPendingTimeout)
	c.MaxSubmits = orDefault(c.MaxSubmits, DefaultMaxSubmits)
	c.EmptySettle = orDefault(c.EmptySettle, DefaultEmptySettle)
	c.StallTimeout = orDefault(c.StallTimeout, DefaultStallTimeout)
	c.LinkRefreshes = orDefault(c.LinkRefreshes, DefaultLinkRefreshes)
	c.HistoryMargin = orDefault(c.HistoryMargin, DefaultHistoryMargin)
	c.Retry.Base = orDefault(c.Retry.Base, DefaultRetryBase)
	c.Retry.Max = orDefault(c.Retry.Max, max(DefaultRetryMax, c.Retry.Base))
	c.Retry.MaxAttempts = orDefault(c.Retry.MaxAttempts, DefaultRetryAttempts)
	if c.TempDir == "" {
		c.TempDir = os.TempDir()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// validate reports every problem of a configuration with defaults applied.
func (c ClientConfig) validate() error {
	var problems []string
	switch {
	case c.BaseURL == nil:
		problems = append(problems, "BaseURL is required")
	case c.BaseURL.Scheme != "http" && c.BaseURL.Scheme != "https":
		problems = append(problems, fmt.Sprintf("BaseURL %s: scheme must be http or https", redactURL(c.BaseURL)))
	case c.BaseURL.Host == "":
		problems = append(problems, fmt.Sprintf("BaseURL %s: host is missing", redactURL(c.BaseURL)))
	}
	if strings.TrimSpace(c.Token) == "" {
		problems = append(problems, "Token is required")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"PollInterval", c.PollInterval}, {"PollMaxInterval", c.PollMaxInterval},
		{"PendingTimeout", c.PendingTimeout}, {"StallTimeout", c.StallTimeout}, {"EmptySettle", c.EmptySettle},
		{"Retry.Base", c.Retry.Base}, {"Retry.Max", c.Retry.Max}, {"HistoryMargin", c.HistoryMargin},
	} {
		if d.v < 0 {
			problems = append(problems, fmt.Sprintf("%s must not be negative", d.name))
		}
	}
	if c.PollMaxInterval < c.PollInterval {
		problems = append(problems, "PollMaxInterval must not be below PollInterval")
	}
	if c.Retry.Max < c.Retry.Base {
		problems = append(problems, "Retry.Max must not be below Retry.Base")
	}
	for _, n := range []struct {
		name string
		v    int
	}{
		{"MaxSubmits", c.MaxSubmits}, {"LinkRefreshes", c.LinkRefreshes},
		{"Retry.MaxAttempts", c.Retry.MaxAttempts}, {"Retry.MaxThrottled", c.Retry.MaxThrottled},
		{"Budget.PerMinute", c.Budget.PerMinute}, {"Budget.PerDay", c.Budget.PerDay},
		{"SubmitsPerMinute", c.SubmitsPerMinute},
	} {
		if n.v < 0 {
			problems = append(problems, fmt.Sprintf("%s must not be negative", n.name))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("freshchat client config: %s", strings.Join(problems, "; "))
	}
	return nil
}

func orDefault[T time.Duration | int](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

func defaultHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: time.Minute,
		ExpectContinueTimeout: time.Second,
	}}
}

// Client talks to the Freshchat raw reports API. It is safe for concurrent
// use. Its printed form never shows the token.
type Client struct {
	cfg   ClientConfig  // Token cleared: the token lives in token only
	token func() string // a func prints as an address, never as the token
	base  *url.URL      // copy of cfg.BaseURL without query or fragment
	log   *slog.Logger
	lim   *limiter // admits every API request: budget and 429 pauses
	subs  *submitQueue
	meter *meter
}

// NewClient validates cfg, applies defaults and returns a client. The error
// lists every problem found.
func NewClient(cfg ClientConfig) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	base := *cfg.BaseURL
	base.RawQuery, base.ForceQuery, base.Fragment, base.RawFragment = "", false, "", ""
	tok := strings.TrimSpace(cfg.Token)
	cfg.Token = ""
	m := newMeter()
	return &Client{
		cfg: cfg, token: func() string { return tok }, base: &base, log: cfg.Logger,
		lim: newLimiter(cfg.Budget, cfg.Now, cfg.Logger, m), meter: m,
		subs: newSubmitQueue(cfg.SubmitsPerMinute, cfg.Now),
	}, nil
}

// String describes the client without the token.
func (c *Client) String() string { return "freshchat client " + redactURL(c.base) }

// GoString is String: %#v must not print the token either.
func (c *Client) GoString() string { return c.String() }

// redact removes the token from s, in case a server echoes it back.
func (c *Client) redact(s string) string {
	return strings.ReplaceAll(s, c.token(), "[REDACTED]")
}

// redactURL formats u without user info, query and fragment: pre-signed
// download links carry their signature in the query.
func redactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	v := *u
	v.User = nil
	v.RawQuery, v.ForceQuery, v.Fragment, v.RawFragment = "", false, "", ""
	return v.String()
}

// redactHref is redactURL for a link that may not parse.
func redactHref(href string) string {
	if u, err := url.Parse(href); err == nil {
		return redactURL(u)
	}
	if i := strings.IndexAny(href, "?#"); i >= 0 {
		return href[:i]
	}
	return href
}
