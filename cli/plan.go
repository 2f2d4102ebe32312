package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/connect"
	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/plan"
)

const planSynopsis = "plan [--config FILE] [--from TIME] [--to TIME] [--events A,B] [--latency DURATION] [--rows-per-day N] [--timeout DURATION]"

// planCommand prints what a backfill will take: per event and in total,
// the windows and reports, the API requests and the time under the
// configured budgets. It writes nothing anywhere.
func planCommand(ctx context.Context, args []string, s Streams) error {
	fs := commandFlags("plan", planSynopsis, `Prints, per event and in total, what a backfill from --from (or each event's
checkpoint, or start) to --to (or now − settle) takes: the windows and the
reports to submit, the API requests, and the estimated time under the
configured budgets (freshchat.submits_per_minute, requests_per_minute and
requests_per_day) with reports of the latency given. An event with a
checkpoint is planned from where it stands, at the row density of its last
window; the checkpoints are read from Kafka when kafka.brokers is set and
the brokers answer, and the plan is made from the configuration otherwise.
Without a density (--rows-per-day, or a checkpoint), windows after an
event's first are assumed as long as max_window allows. Nothing is written:
not to Kafka, not to Freshchat.

Exit codes: 0 printed, 2 bad usage or configuration.`, s)
	path := fs.String("config", "", "YAML configuration file (every setting also has an environment variable)")
	from := fs.String("from", "", "plan from this instant (RFC 3339, 2006-01-02, or relative like -455d); events with a checkpoint are planned from it")
	to := fs.String("to", "", "plan up to this instant (default now − settle)")
	events := fs.String("events", "", "comma-separated events to plan (default: the configured list)")
	latency := fs.Duration("latency", pipeline.DefaultReportLatency, "assumed time from a report's submit to its completion")
	rowsPerDay := fs.Float64("rows-per-day", 0, "assumed rows per day of every event without a checkpoint to tell (0: unknown)")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to try reading the checkpoints from Kafka")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *latency <= 0 || *timeout <= 0 || *rowsPerDay < 0 {
		return usageError{fmt.Errorf("--latency and --timeout must be positive and --rows-per-day not negative")}
	}
	cfg, err := config.Load(config.LoadOptions{Path: *path, Overrides: config.Overrides{From: *from, To: *to, Events: *events}})
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	positions, origin := planPositions(ctx, cfg, *timeout, s.Err)
	p := plan.Build(cfg, positions, now, *latency, *rowsPerDay)
	p.Checkpoints = origin
	return p.Print(s.Out)
}

// planPositions reads the committed positions when brokers are configured
// and answer within timeout; otherwise it says why it plans without them.
// origin describes where the positions came from.
func planPositions(ctx context.Context, cfg *config.Config, timeout time.Duration, errs io.Writer) (positions map[string]checkpoint.Position, origin string) {
	if len(cfg.Kafka.Brokers) == 0 {
		return nil, "none read: kafka.brokers is not set, so every event is planned from the configuration"
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	watch := connect.NewSecurityWatch(cfg.Kafka.SASL, nil)
	positions, err := connect.LoadPositions(ctx, cfg.Kafka, watch)
	if err != nil {
		fmt.Fprintf(errs, "connector plan: %v\n", watch.Explain(err))
		return nil, "none read (see above): every event is planned from the configuration"
	}
	return positions, fmt.Sprintf("read from %s (%d)", cfg.Kafka.CheckpointTopic, len(positions))
}
