package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/metrics"
)

const healthcheckSynopsis = "healthcheck [--url URL] [--config FILE] [--timeout DURATION]"

// healthcheckCommand asks a running connector's metrics server whether it
// is ready: a probe for container runtimes that can only run a command
// (docker compose's healthcheck in the distroless image, which has no shell
// or HTTP client).
func healthcheckCommand(ctx context.Context, args []string, s Streams) error {
	fs := commandFlags("healthcheck", healthcheckSynopsis, `Asks the metrics server of a connector running on this machine (or in this
container) whether it is ready: GET /readyz on metrics.addr (METRICS_ADDR,
default :9464; a wildcard or empty host is asked on 127.0.0.1), or on --url.
Prints the answer. Reads no setting but metrics.addr, and needs neither
Kafka nor the token.

For docker compose:
  healthcheck:
    test: ["CMD", "/connector", "healthcheck"]

Exit codes: 0 ready (200), 1 not ready (the reason is printed) or no answer,
2 bad usage or configuration (such as metrics.addr off without --url).`, s)
	rawURL := fs.String("url", "", "URL to GET instead of /readyz on metrics.addr, such as http://127.0.0.1:9464/healthz")
	path := fs.String("config", "", "YAML configuration file, for metrics.addr")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *timeout <= 0 {
		return usageError{fmt.Errorf("--timeout must be positive, got %s", *timeout)}
	}
	target := *rawURL
	if target == "" {
		addr, err := config.MetricsAddr(config.LoadOptions{Path: *path})
		if err != nil {
			return err
		}
		if addr == "" {
			return usageError{errors.New("metrics.addr (METRICS_ADDR) is off, so there is no /readyz to ask: turn the metrics server on, or give --url")}
		}
		target = metrics.ReadyzURL(addr)
		if _, err := url.Parse(target); err != nil { // a host no URL holds: say it as net/http would
			return usageError{fmt.Errorf("--url: %w", err)}
		}
	} else if u, err := url.Parse(target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageError{fmt.Errorf("--url %q: want an http:// or https:// URL such as http://127.0.0.1:9464/readyz", target)}
	}

	answer, err := metrics.ProbeReady(ctx, target, *timeout)
	if err != nil {
		return err
	}
	fmt.Fprintln(s.Out, answer)
	return nil
}
