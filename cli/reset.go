package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/connect"
	"github.com/freshstream/freshchat-kafka/instance"
	"github.com/freshstream/freshchat-kafka/sink"
	"github.com/freshstream/freshchat-kafka/status"
	"github.com/freshstream/freshchat-kafka/termview"
)

const resetSynopsis = "reset --event E --to TIME [--config FILE] [--yes]"

// errNoTerminal means a confirmation was needed but stdin is not a terminal.
var errNoTerminal = errors.New("standard input is not a terminal")

// confirmFunc asks question and reports whether the operator agreed. It
// returns errNoTerminal when nobody can be asked.
type confirmFunc func(question string) (bool, error)

// stdinConfirm asks on out and reads the answer from in, which must be a
// terminal.
func stdinConfirm(in *os.File, out io.Writer) confirmFunc {
	return func(question string) (bool, error) {
		fi, err := in.Stat()
		if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
			return false, errNoTerminal
		}
		return askYes(in, out, question)
	}
}

// askYes writes question and reads one line: y or yes agrees; anything
// else, or no line at all, does not.
func askYes(in io.Reader, out io.Writer, question string) (bool, error) {
	fmt.Fprintf(out, "%s [y/N] ", question)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	if errors.Is(err, io.EOF) && line == "" {
		fmt.Fprintln(out)
		return false, errNoTerminal
	}
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes", nil
}

// resetCommand moves an event's checkpoint so that the next run starts at
// the given time, refusing while a connector holds the identity.
func resetCommand(ctx context.Context, args []string, s Streams, confirm confirmFunc) error {
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
	now := time.Now().UTC()
	cfg, target, err := loadResetConfig(*path, *to, now)
	if err != nil {
		return err
	}
	acct, evName, err := resolveUnit(cfg, *event)
	if err != nil {
		return err
	}
	ev := checkpoint.UnitKey(acct.Name, evName) // the unit's checkpoint key
	logger := newLogger(cfg.Log, s.Err)
	watch := connect.NewSecurityWatch(cfg.Kafka.SASL, nil)
	cl, adm, err := kafkaAdmin(cfg, watch)
	if err != nil {
		return err
	}
	defer cl.Close()

	holders, err := instance.Holders(ctx, adm, cfg.Kafka.TransactionalID)
	if err != nil {
		return fmt.Errorf("cannot tell whether a connector is running, so nothing was reset: %w", watch.Explain(err))
	}
	if len(holders) > 0 {
		fmt.Fprintf(s.Out, "A connector with transactional ID prefix %s is running: %s\n", cfg.Kafka.TransactionalID, status.DescribeHolders(holders))
		return fmt.Errorf("refusing to reset %s while a connector holds transactional identity %s (resetting would fence it): stop every instance first; a connector that was killed is dropped from group %s within group.session_timeout (%s)",
			ev, cfg.Kafka.TransactionalID, cfg.Kafka.TransactionalID, cfg.Group.SessionTimeout)
	}

	positions, err := loadPositions(ctx, cfg, watch)
	if err != nil {
		return watch.Explain(err)
	}
	old, had := positions[ev]
	txnID := cfg.Kafka.TransactionalID + "-" + ev
	fmt.Fprintf(s.Out, "Event %s (topic %s, transactional ID %s)\n", ev, acct.Topic(evName), txnID)
	fmt.Fprintf(s.Out, "  old: %s\n", describeResume(old, had, acct.Start))
	fmt.Fprintf(s.Out, "  new: [%s, %s) done: the next run starts at %s\n", termview.Time(target), termview.Time(target), termview.Time(target))
	from := acct.Start
	if had {
		from = old.Next()
	}
	switch {
	case target.Before(from):
		fmt.Fprintf(s.Out, "  rewind: rows created from %s to %s will be produced again; consumers see them twice\n", termview.Time(target), termview.Time(from))
	case target.After(from):
		fmt.Fprintf(s.Out, "  fast-forward: rows created from %s to %s will never be produced\n", termview.Time(from), termview.Time(target))
	}

	if !*yes {
		ok, err := confirm(fmt.Sprintf("Reset %s to %s?", ev, termview.Time(target)))
		if errors.Is(err, errNoTerminal) {
			return usageError{errors.New("reset needs confirmation and there is no terminal to ask: pass --yes to reset without asking")}
		}
		if err != nil {
			return fmt.Errorf("reading the confirmation: %w", err)
		}
		if !ok {
			return errors.New("reset cancelled: nothing was written")
		}
	}

	store := checkpoint.NewStore(cfg.Kafka.CheckpointTopic, logger, connect.KafkaOptions(cfg.Kafka, watch)...)
	store.SetTopicConfig(cfg.Kafka.TopicConfig)
	if err := store.Ensure(ctx, adm, cfg.Kafka.ReplicationFactor); err != nil {
		return watch.Explain(err)
	}
	reset := checkpoint.ResetTo(evName, target, old, had, time.Now())
	if acct.Name != checkpoint.DefaultAccount {
		reset.Account = acct.Name
	}
	rec, err := store.Record(reset)
	if err != nil {
		return err
	}
	if err := commitCheckpoint(ctx, cfg, txnID, logger, rec, watch); err != nil {
		return watch.Explain(err)
	}

	positions, err = loadPositions(ctx, cfg, watch)
	if err != nil {
		return fmt.Errorf("the reset was committed, but reading it back failed: %w", watch.Explain(err))
	}
	got := positions[ev]
	fmt.Fprintf(s.Out, "Reset %s: was %s; now %s\n", ev, describeResume(old, had, acct.Start), describeResume(got, true, acct.Start))
	return nil
}

// commitCheckpoint writes rec in a transaction of the producer txnID.
func commitCheckpoint(ctx context.Context, cfg *config.Config, txnID string, logger *slog.Logger, rec *kgo.Record, watch *connect.SecurityWatch) error {
	w, err := sink.NewWriter(ctx, sink.WriterConfig{
		TransactionalID:    txnID,
		TransactionTimeout: cfg.Kafka.TransactionTimeout,
		Logger:             logger,
	}, connect.KafkaOptions(cfg.Kafka, watch)...)
	if err != nil {
		return err
	}
	defer w.Close(context.WithoutCancel(ctx))
	if err := w.Begin(); err != nil {
		return err
	}
	if err := w.Commit(ctx, rec); err != nil {
		return fmt.Errorf("committing the checkpoint: %w", err)
	}
	return nil
}

// describeResume says where an event stands and where its next run starts.
func describeResume(p checkpoint.Position, had bool, start time.Time) string {
	if !had {
		return fmt.Sprintf("no checkpoint: the next run starts at the configured start %s", termview.Time(start))
	}
	return fmt.Sprintf("%s: the next run starts at %s", status.DescribePosition(p), termview.Time(p.Next()))
}

// loadResetConfig loads the configuration (brokers required, no token) and
// parses to as --from would be: RFC 3339, a date or a past offset, at most
// 15 months ago and not in the future. Problems name --to.
func loadResetConfig(path, to string, now time.Time) (*config.Config, time.Time, error) {
	from := strings.TrimSpace(to)
	isNow := strings.EqualFold(from, "now")
	if isNow {
		from = "" // "now" is a valid target, but not a valid start of a range ending now
	}
	cfg, err := config.Load(config.LoadOptions{
		Path:           path,
		Now:            func() time.Time { return now },
		Overrides:      config.Overrides{From: from},
		RequireBrokers: true,
	})
	var ce *config.Error
	if errors.As(err, &ce) {
		problems := make([]string, len(ce.Problems))
		for i, p := range ce.Problems {
			problems[i] = strings.ReplaceAll(p, "--from", "--to")
		}
		return nil, time.Time{}, &config.Error{Problems: problems}
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	target := now
	if !isNow {
		target = cfg.Bounded.From
	}
	cfg.Bounded = nil
	return cfg, target.Truncate(time.Millisecond), nil
}
