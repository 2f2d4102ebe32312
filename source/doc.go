// Package source reads Freshchat raw reports.
//
// A [Client] talks to the Freshchat raw reports API (POST and GET
// {base}/reports/raw): [Client.Prepare] submits a report for one event and one
// [Window] and polls it until it is COMPLETED, resuming an in-flight report
// after a restart; [Client.Open] then streams every CSV row of every download
// link of that report as [Row] values that carry their own resume position
// ([Row.Ordinal]).
//
// Transient failures (HTTP 429, 5xx, dropped connections, cut downloads) are
// retried with exponential backoff and jitter; configuration errors (400, 401,
// 403) are returned at once as [*APIError] with a hint. [Retryable] says
// whether any error returned by this package is worth trying again later.
//
// Every API request of a client goes through one limiter: it paces requests
// to the [BudgetConfig] (per minute, and an optional cap per 24 hours), and a
// 429 answer pauses every API request until its Retry-After has passed.
// Requests wait for the budget and for 429s rather than fail; downloads from
// the object store are not API requests and are not limited. [Client.Stats]
// exposes the client's counters, and the pace is logged once a minute.
//
// The API token is a secret: it is sent only in the Authorization header of
// API requests, never to download links, and never appears in an error, a log
// record or the printed form of any value of this package. Download links are
// pre-signed: they are logged and reported without their query string.
package source
