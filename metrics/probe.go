package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ReadyzURL is the /readyz URL of a [Server] listening on addr
// (host:port); an empty or wildcard host is reached on the loopback.
func ReadyzURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = "", addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return (&url.URL{Scheme: "http", Host: net.JoinHostPort(host, port), Path: "/readyz"}).String()
}

// ProbeReady asks the server at target (its /readyz, see [ReadyzURL], or
// any other URL) whether it is ready, as a container healthcheck does: GET
// target, waiting at most timeout for the answer, never through an HTTP
// proxy from the environment, since the server is local. On 200 OK it
// returns the answer's text. Otherwise it returns an error that starts
// "not ready: " and says why: the status and the answer (the server's
// reason), net/http's error when no answer came, or that none came within
// timeout. The error wraps ctx's when ctx ended first.
func ProbeReady(ctx context.Context, target string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return "", fmt.Errorf("not ready: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return "", fmt.Errorf("not ready: GET %s: no answer within %s", target, timeout)
		}
		return "", fmt.Errorf("not ready: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return "", fmt.Errorf("not ready: GET %s: %s, then reading the answer failed: %w", target, resp.Status, err)
	}
	answer := strings.TrimSpace(string(body))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("not ready: GET %s: %s: %s", target, resp.Status, answer)
	}
	return answer, nil
}
