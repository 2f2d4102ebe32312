// Package cli is the connector's command line: it parses commands and
// flags, wires the packages together and turns outcomes into exit codes.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/instance"
	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/sink"
	"github.com/freshstream/freshchat-kafka/termview"
)

// Exit codes of the connector.
const (
	ExitOK     = 0 // done: a bounded run completed, or a clean shutdown on a signal
	ExitError  = 1 // the run failed; the message says why
	ExitUsage  = 2 // bad command line or configuration, or a range the checkpoints cannot honour; nothing was extracted
	ExitFenced = 3 // fenced: another process took this instance's place (its group.instance_id, or its transactional ID)
)

// Streams are where a command writes.
type Streams struct {
	Out io.Writer // results and human views
	Err io.Writer // logs and errors
}

const usage = `connector moves Freshchat raw reports into Kafka, exactly once, as typed Avro.

Usage:
  connector run         [--config FILE] [--from TIME --to TIME] [--events A,B]
  connector check       [--config FILE] [--timeout DURATION]
  connector plan        [--config FILE] [--from TIME] [--to TIME] [--events A,B] [--latency D]
  connector status      [--config FILE] [--json] [--timeout DURATION]
  connector reset       --event E --to TIME [--config FILE] [--yes]
  connector schemas     [print|register|check] [--event E] [--config FILE]
  connector demo        [--data-dir DIR] [--days N]
  connector healthcheck [--url URL] [--config FILE] [--timeout DURATION]
  connector version
  connector help

Commands:
  run          extract every configured event into Kafka, sharing the units
               (account × event) with the other running instances; live
               (forever) or, with --from/--to, a bounded range that ends with
               exit code 0
  check        check the configuration, the Freshchat token, the brokers,
               transactions, topics and schema registry, one line each
  plan         what a backfill takes, per event and in total: windows,
               reports, API requests and the time under the budgets
               (writes nothing; reads the checkpoints when Kafka answers)
  status       each unit's committed checkpoint, freshness and owning
               instance, and the running instances of the group
  reset        move an event's checkpoint so that the next run starts at TIME
               (refused while a connector is running)
  schemas      print the events' Avro schemas, register them, or check them
               against the registry
  demo         the whole flow on this machine, with no Kafka, registry or
               Freshchat account: an embedded broker, registry and Freshchat
               simulator
  healthcheck  exit 0 when the running connector's /readyz says ready (a
               container healthcheck for images without a shell)
  version      the connector's version, commit and Go version (also --version)

Run "connector COMMAND --help" for a command's flags and exit codes.

Exit codes: 0 done, 1 failed (check: a check failed; reset: refused),
2 bad usage or configuration, 3 fenced: another process took this
instance's place (its group.instance_id or transactional ID).
`

// Main runs the command in args (without the program name) and returns the
// process exit code. ctx ends on SIGINT/SIGTERM.
func Main(ctx context.Context, args []string, s Streams) int {
	if len(args) == 0 {
		fmt.Fprint(s.Err, usage)
		return ExitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "run":
		return exitCode(s, runCommand(ctx, rest, s))
	case "demo":
		return exitCode(s, demoCommand(ctx, rest, s))
	case "check":
		return exitCode(s, checkCommand(ctx, rest, s))
	case "plan":
		return exitCode(s, planCommand(ctx, rest, s))
	case "status":
		return exitCode(s, statusCommand(ctx, rest, s))
	case "reset":
		return exitCode(s, resetCommand(ctx, rest, s, termview.AskOn(os.Stdin, s.Out)))
	case "schemas":
		return exitCode(s, schemasCommand(ctx, rest, s))
	case "healthcheck":
		return exitCode(s, healthcheckCommand(ctx, rest, s))
	case "version", "--version", "-version":
		return exitCode(s, versionCommand(rest, s))
	case "help", "-h", "--help", "-help":
		fmt.Fprint(s.Out, usage)
		return ExitOK
	default:
		fmt.Fprintf(s.Err, "connector: unknown command %q\n\n%s", cmd, usage)
		return ExitUsage
	}
}

// usageError is a problem with the command line or configuration.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func exitCode(s Streams, err error) int {
	var ue usageError
	var ce *config.Error
	var re *pipeline.RangeError
	var me *instance.MismatchError
	var cfe *pipeline.ConflictError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp), errors.Is(err, context.Canceled):
		return ExitOK
	case errors.As(err, &ce):
		fmt.Fprintf(s.Err, "connector: the configuration has %d problem(s):\n", len(ce.Problems))
		for _, p := range ce.Problems {
			fmt.Fprintf(s.Err, "  - %s\n", p)
		}
		return ExitUsage
	case errors.As(err, &ue), errors.As(err, &re), errors.As(err, &me), errors.As(err, &cfe):
		fmt.Fprintf(s.Err, "connector: %v\n", err)
		return ExitUsage
	case errors.Is(err, instance.ErrInstanceIDInUse):
		fmt.Fprintf(s.Err, "connector: stopped: %v\n", err)
		return ExitFenced
	case sink.IsFenced(err):
		fmt.Fprintf(s.Err, "connector: stopped: %v\n", err)
		fmt.Fprintln(s.Err, "connector: another instance with the same transactional ID is running; this one wrote nothing more. Stop one of them, or give each its own kafka.transactional_id.")
		return ExitFenced
	default:
		fmt.Fprintf(s.Err, "connector: %v\n", err)
		return ExitError
	}
}

// parseFlags parses args into fs: a bad flag or a stray argument is a
// usage error (exit 2); -h is flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	}
	return nil
}
