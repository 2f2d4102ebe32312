// Package preflight checks that a configuration can run: the Freshchat API
// and token of each account, that the Kafka brokers answer and support
// transactions, the topics, that the checkpoint topic is compacted, and the
// schema registry with each event's schema. Run writes one line per check
// as it is decided: passed, failed with the cause and what to do, or not
// checked and why. WaitForAPI is the check a run makes at start, before it
// touches Kafka: it waits for each account's API to answer and accept its
// token.
package preflight

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/source"
)

// Marks of a check line.
const (
	markPass = "✓"
	markFail = "✗"
	markSkip = "-"
)

// Options are what a run needs besides the configuration: how long to wait
// and how to build the Freshchat client the connector itself would use.
type Options struct {
	// Timeout is how long each check waits for an answer; it must be
	// positive.
	Timeout time.Duration
	// Freshchat builds account a's client from cfg, as the connector does
	// at start. The cfg it is given is a copy that makes one attempt per
	// request, within Timeout.
	Freshchat func(cfg *config.Config, a config.Account) (*source.Client, error)
}

// Result counts the checks of a run. Not checked ones count in neither.
type Result struct {
	Total, Failed int
}

// Run checks cfg, a configuration that loaded (and so is valid), and what
// it points at, writing one line per check to w as it is decided:
// "✓ name  what passed", "✗ name  why it failed and what to do", or
// "- name  why it was not checked", with detail lines indented under some.
// It checks every account's Freshchat API and token, then Kafka, then the
// schema registry, and goes on past failures.
func Run(ctx context.Context, w io.Writer, cfg *config.Config, o Options) Result {
	c := &checker{out: w, o: o}
	c.pass("configuration", "valid")
	for _, warning := range cfg.Warnings() {
		c.detail("warning: %s", warning)
	}
	for _, a := range cfg.AllAccounts() {
		c.freshchat(ctx, cfg, a)
	}
	c.kafka(ctx, cfg)
	c.registry(ctx, cfg)
	return c.res
}

// checker prints check lines as they are decided and counts them.
type checker struct {
	out io.Writer
	o   Options
	res Result
}

func (c *checker) line(mark, name, format string, args ...any) {
	c.res.Total++
	if mark == markFail {
		c.res.Failed++
	}
	fmt.Fprintf(c.out, "%s %-20s %s\n", mark, name, fmt.Sprintf(format, args...))
}

func (c *checker) pass(name, format string, args ...any) { c.line(markPass, name, format, args...) }
func (c *checker) fail(name, format string, args ...any) { c.line(markFail, name, format, args...) }

func (c *checker) skip(name, format string, args ...any) {
	fmt.Fprintf(c.out, "%s %-20s %s\n", markSkip, name, fmt.Sprintf(format, args...))
}

// detail prints an indented line under the last check.
func (c *checker) detail(format string, args ...any) {
	fmt.Fprintf(c.out, "    %s\n", fmt.Sprintf(format, args...))
}

func (c *checker) within(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.o.Timeout)
}
