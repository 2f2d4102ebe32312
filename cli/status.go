package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/connect"
	"github.com/freshstream/freshchat-kafka/instance"
	"github.com/freshstream/freshchat-kafka/status"
)

const statusSynopsis = "status [--config FILE] [--json] [--timeout DURATION]"

// statusCommand shows, per configured event, the committed checkpoint and
// who holds the transactional identity. It needs Kafka, not the token.
func statusCommand(ctx context.Context, args []string, s Streams) error {
	fs := commandFlags("status", statusSynopsis, `Shows, for every unit of work (an event of an account), the position
committed in the checkpoint topic (read_committed): the window, whether it
is done or how many of its rows are committed, the freshness (now minus the
instant up to which every row is committed), the report in flight, the
window's counts and the running instance that owns the unit; then the
running instances of the connector's group. Needs the Kafka brokers, not the
Freshchat token.

Exit codes: 0 shown, 1 Kafka could not be read, 2 bad usage or configuration.`, s)
	path := fs.String("config", "", "YAML configuration file (every setting also has an environment variable)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for Kafka")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *timeout <= 0 {
		return usageError{fmt.Errorf("--timeout must be positive, got %s", *timeout)}
	}
	cfg, err := config.Load(config.LoadOptions{Path: *path, RequireBrokers: true})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	watch := connect.NewSecurityWatch(cfg.Kafka.SASL, nil)
	cl, adm, err := connect.Admin(cfg.Kafka, watch)
	if err != nil {
		return err
	}
	defer cl.Close()

	positions, err := connect.LoadPositions(ctx, cfg.Kafka, watch)
	if err != nil {
		return watch.Explain(err)
	}
	holders, holdersErr := instance.Holders(ctx, adm, cfg.Kafka.TransactionalID)
	holdersErr = watch.Explain(holdersErr)
	rep := status.New(cfg, positions, holders, holdersErr, time.Now().UTC())
	if *asJSON {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := rep.WriteTable(s.Out); err != nil {
		return err
	}
	if holdersErr != nil {
		return fmt.Errorf("who holds the transactional identity is unknown: %w", holdersErr)
	}
	return nil
}
