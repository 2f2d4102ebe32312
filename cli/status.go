package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/instance"
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
	watch := newSecurityWatch(cfg.Kafka.SASL, nil)
	cl, adm, err := kafkaAdmin(cfg, watch)
	if err != nil {
		return err
	}
	defer cl.Close()

	positions, err := loadPositions(ctx, cfg, watch)
	if err != nil {
		return watch.explain(err)
	}
	holders, holdersErr := instance.Holders(ctx, adm, cfg.Kafka.TransactionalID)
	holdersErr = watch.explain(holdersErr)
	rep := newStatusReport(cfg, positions, holders, holdersErr, time.Now().UTC())
	if *asJSON {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := rep.printTable(s.Out); err != nil {
		return err
	}
	if holdersErr != nil {
		return fmt.Errorf("who holds the transactional identity is unknown: %w", holdersErr)
	}
	return nil
}

// statusReport is the status of every configured event.
type statusReport struct {
	At              time.Time         `json:"at"`
	CheckpointTopic string            `json:"checkpoint_topic"`
	TransactionalID string            `json:"transactional_id"`
	Events          []eventStatus     `json:"events"`
	Holders         []instance.Holder `json:"holders"`
	HoldersError    string            `json:"holders_error,omitempty"`
	// API is the Freshchat API's readiness; only the metrics server's
	// /status, which runs with the connector, knows it.
	API *apiReadiness `json:"api,omitempty"`
}

// apiReadiness is what the running connector knows of the Freshchat API.
type apiReadiness struct {
	Ready bool `json:"ready"`
	// Problem says why it is not ready (see metrics.APIProblem).
	Problem string `json:"problem,omitempty"`
}

// eventStatus is one unit's committed position and what follows from it.
type eventStatus struct {
	// Unit is the unit key: the event for the default account,
	// account/event otherwise.
	Unit    string `json:"unit"`
	Account string `json:"account"`
	Event   string `json:"event"`
	Topic   string `json:"topic"`
	// Owner is the running instance the group assigns the unit to; nil
	// when none does (no instance runs, or the group is rebalancing).
	Owner *unitOwner `json:"owner,omitempty"`
	// Checkpoint is the committed position; nil when nothing was committed.
	Checkpoint *checkpoint.Position `json:"checkpoint"`
	// Next is where the next run starts: the checkpoint's, or the
	// configured start.
	Next time.Time `json:"next"`
	// CompleteUpTo is the instant before which every row is committed: the
	// end of the last completed window. Nil without a checkpoint.
	CompleteUpTo *time.Time `json:"complete_up_to"`
	// FreshnessSeconds is now minus CompleteUpTo.
	FreshnessSeconds *float64 `json:"freshness_seconds"`
	// InFlightReportID is the report of the window in progress.
	InFlightReportID string `json:"in_flight_report_id,omitempty"`
	// State (backfill, live, waiting, failed, done), LastError and
	// LastErrorAt are what the running connector knows of the event: only
	// the metrics server's /status has them (see metrics.EventStatus).
	State       string     `json:"state,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
}

// unitOwner names the instance that owns a unit.
type unitOwner struct {
	InstanceID string `json:"instance_id"`
	Host       string `json:"host"`
	MemberID   string `json:"member_id"`
}

func (o *unitOwner) String() string {
	if o == nil {
		return "-"
	}
	return o.InstanceID + "@" + o.Host
}

func newStatusReport(cfg *config.Config, positions map[string]checkpoint.Position, holders []instance.Holder, holdersErr error, now time.Time) statusReport {
	rep := statusReport{
		At:              now,
		CheckpointTopic: cfg.Kafka.CheckpointTopic,
		TransactionalID: cfg.Kafka.TransactionalID,
		Events:          make([]eventStatus, 0, len(cfg.Events)),
		Holders:         holders,
	}
	if rep.Holders == nil {
		rep.Holders = []instance.Holder{}
	}
	if holdersErr != nil {
		rep.HoldersError = holdersErr.Error()
	}
	owners := map[string]*unitOwner{}
	for _, h := range holders {
		for _, u := range h.Units {
			owners[u] = &unitOwner{InstanceID: h.InstanceID, Host: h.Host, MemberID: h.MemberID}
		}
	}
	for _, a := range accounts(cfg) {
		for _, ev := range a.Events {
			key := checkpoint.UnitKey(a.Name, ev)
			es := eventStatus{Unit: key, Account: a.Name, Event: ev, Topic: a.Topic(ev), Next: a.Start, Owner: owners[key]}
			es.fill(positions, now)
			rep.Events = append(rep.Events, es)
		}
	}
	return rep
}

// fill sets what follows from the unit's committed position, if any.
func (es *eventStatus) fill(positions map[string]checkpoint.Position, now time.Time) {
	{
		if p, ok := positions[es.Unit]; ok {
			es.Checkpoint = &p
			es.Next = p.Next()
			upTo := completeUpTo(p)
			fresh := now.Sub(upTo).Seconds()
			es.CompleteUpTo, es.FreshnessSeconds = &upTo, &fresh
			if !p.Done {
				es.InFlightReportID = p.ReportID
			}
		}
	}
}

// completeUpTo is the instant before which every row of p's event is
// committed: the end of the window when it is done, else its start.
func completeUpTo(p checkpoint.Position) time.Time {
	if p.Done {
		return p.WindowEnd
	}
	return p.WindowStart
}

func (r statusReport) printTable(w io.Writer) error {
	fmt.Fprintf(w, "Checkpoints in %s (read_committed) at %s\n\n", r.CheckpointTopic, fmtTime(r.At))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "EVENT\tEXTRACTED FROM\tCOMMITTED POSITION\tFRESHNESS\tIN-FLIGHT REPORT\tROWS\tPRODUCED\tDEAD-LETTERED\tCOMMITTED AT\tOWNER")
	for _, e := range r.Events {
		if e.Checkpoint == nil {
			fmt.Fprintf(tw, "%s\t-\tnone yet: starts at %s\t-\t-\t-\t-\t-\t-\t%s\n", e.Unit, fmtTime(e.Next), e.Owner)
			continue
		}
		p := e.Checkpoint
		report := e.InFlightReportID
		if report == "" {
			report = "-"
		}
		if n := submittedAhead(*p); n > 0 {
			report += fmt.Sprintf(" (+%d ahead)", n) // reports of the windows after it
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", e.Unit, fmtTime(p.Covered()), describePosition(*p),
			fmtAge(time.Duration(*e.FreshnessSeconds*float64(time.Second))), report,
			p.Rows, p.Produced, p.DeadLettered, fmtTime(p.CommittedAt), e.Owner)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	switch {
	case r.HoldersError != "":
		fmt.Fprintf(w, "Transactional identity %s: holders unknown: %s\n", r.TransactionalID, r.HoldersError)
	case len(r.Holders) == 0:
		fmt.Fprintf(w, "Transactional identity %s: not held (no running connector)\n", r.TransactionalID)
	default:
		fmt.Fprintf(w, "Transactional identity %s: held by %s\n", r.TransactionalID, describeHolders(r.Holders))
		for _, h := range r.Holders {
			units := "no units (standby)"
			switch len(h.Units) {
			case 0:
			case 1:
				units = "1 unit: " + h.Units[0]
			default:
				units = fmt.Sprintf("%d units: %s", len(h.Units), strings.Join(h.Units, ", "))
			}
			fmt.Fprintf(w, "  %s owns %s\n", h, units)
		}
	}
	return nil
}

// describePosition reads like "[2026-03-01T00:00:00Z, 2026-03-02T00:00:00Z)
// done" or "... 1200 rows committed".
func describePosition(p checkpoint.Position) string {
	window := fmt.Sprintf("[%s, %s)", fmtTime(p.WindowStart), fmtTime(p.WindowEnd))
	if p.Done {
		return window + " done"
	}
	return fmt.Sprintf("%s %d rows committed", window, p.Rows)
}

func describeHolders(ms []instance.Holder) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return strings.Join(parts, "; ")
}

// fmtTime is RFC 3339 in UTC with milliseconds when there are any.
func fmtTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.999Z07:00")
}

// fmtAge rounds a duration for people: 45s, 12m, 5h12m, 3d4h.
func fmtAge(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}

// kafkaAdmin connects an admin client with the process's Kafka options;
// watch may be nil.
func kafkaAdmin(cfg *config.Config, watch *securityWatch) (*kgo.Client, *kadm.Client, error) {
	cl, err := kgo.NewClient(kafkaOpts(cfg, watch)...)
	if err != nil {
		return nil, nil, fmt.Errorf("kafka client: %w", err)
	}
	return cl, kadm.NewClient(cl), nil
}

// loadPositions reads the committed positions from the checkpoint topic;
// watch may be nil.
func loadPositions(ctx context.Context, cfg *config.Config, watch *securityWatch) (map[string]checkpoint.Position, error) {
	positions, err := checkpoint.NewStore(cfg.Kafka.CheckpointTopic, nil, kafkaOpts(cfg, watch)...).Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the checkpoints: %w; check kafka.brokers (KAFKA_BROKERS=%s) and the brokers' health",
			err, strings.Join(cfg.Kafka.Brokers, ","))
	}
	return positions, nil
}

// submittedAhead counts the reports submitted ahead that p lists.
func submittedAhead(p checkpoint.Position) int {
	n := 0
	for _, a := range p.Ahead {
		if a.ReportID != "" {
			n++
		}
	}
	return n
}
