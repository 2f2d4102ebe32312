package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/reset"
	"github.com/freshstream/freshchat-kafka/termview"
)

const resetSynopsis = "reset --event E --to TIME [--config FILE] [--yes]"

// resetCommand moves an event's checkpoint so that the next run starts at
// the given time, refusing while a connector holds the identity.
func resetCommand(ctx context.Context, args []string, s Streams, confirm termview.Confirm) error {
	fs := commandFlags("reset", resetSynopsis, `Moves event E's checkpoint so that the next run starts at TIME: backwards
to extract a range again (its rows are produced again: consumers see them
twice), or forwards to skip one (its rows are never produced). It commits
the checkpoint record {window [TIME, TIME), done} in a transaction of the
event's own transactional producer (<kafka.transactional_id>-<event>),
which fences any producer of that ID: so it refuses while a running
connector holds the transactional identity. Without --yes it asks first.

Exit codes: 0 reset, 1 refused (a connector is running, or the answer was
no) or failed, 2 bad usage or configuration (also: no terminal to ask and
no --yes).`, s)
	path := fs.String("config", "", "YAML configuration file (every setting also has an environment variable)")
	event := fs.String("event", "", "the event whose checkpoint moves (required); account/event for an account other than default")
	to := fs.String("to", "", "where the next run starts: RFC 3339, 2006-01-02, or relative like -7d; at most 15 months ago, not in the future (required)")
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*event) == "" || strings.TrimSpace(*to) == "" {
		return usageError{errors.New("reset needs --event and --to")}
	}
	cfg, target, err := config.LoadReset(*path, *to, time.Now().UTC())
	if err != nil {
		return err
	}
	acct, evName, err := cfg.ResolveUnit(*event)
	if err != nil {
		return usageError{err}
	}
	plan, err := reset.Prepare(ctx, cfg, acct, evName, target, newLogger(cfg.Log, s.Err))
	if held, ok := errors.AsType[*reset.HeldError](err); ok {
		fmt.Fprintln(s.Out, held.Running())
	}
	if err != nil {
		return err
	}
	defer plan.Close()
	fmt.Fprint(s.Out, plan.Describe())

	if !*yes {
		ok, err := confirm(fmt.Sprintf("Reset %s to %s?", plan.Unit, termview.Time(target)))
		if errors.Is(err, termview.ErrNoTerminal) {
			return usageError{errors.New("reset needs confirmation and there is no terminal to ask: pass --yes to reset without asking")}
		}
		if err != nil {
			return fmt.Errorf("reading the confirmation: %w", err)
		}
		if !ok {
			return errors.New("reset cancelled: nothing was written")
		}
	}
	done, err := plan.Apply(ctx)
	if held, ok := errors.AsType[*reset.HeldError](err); ok {
		fmt.Fprintln(s.Out, held.Running()) // it started while the operator was asked
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(s.Out, done)
	return nil
}
