// Package status reports where each unit of work stands: its committed
// position, freshness, in-flight report and owning instance, and the
// running instances of the connector's group. It builds the report from
// what the checkpoint topic and the group say (connector status) or from
// what a running connector knows (its GET /status), and renders it.
package status

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/instance"
	"github.com/freshstream/freshchat-kafka/termview"
)

// Report is the status of every configured unit (an event of an
// account): what connector status prints, as a table or as JSON, and what
// the metrics server's GET /status answers.
type Report struct {
	At              time.Time         `json:"at"`
	CheckpointTopic string            `json:"checkpoint_topic"`
	TransactionalID string            `json:"transactional_id"`
	Events          []Event           `json:"events"`
	Holders         []instance.Holder `json:"holders"`
	HoldersError    string            `json:"holders_error,omitempty"`
	// API is the Freshchat API's readiness; only the metrics server's
	// /status, which runs with the connector, knows it.
	API *API `json:"api,omitempty"`
}

// API is what the running connector knows of the Freshchat API.
type API struct {
	Ready bool `json:"ready"`
	// Problem says why it is not ready (see metrics.APIProblem).
	Problem string `json:"problem,omitempty"`
}

// Event is one unit's committed position and what follows from it.
type Event struct {
	// Unit is the unit key: the event for the default account,
	// account/event otherwise.
	Unit    string `json:"unit"`
	Account string `json:"account"`
	Event   string `json:"event"`
	Topic   string `json:"topic"`
	// Owner is the running instance the group assigns the unit to; nil
	// when none does (no instance runs, or the group is rebalancing).
	Owner *Owner `json:"owner,omitempty"`
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

// Owner names the instance that owns a unit.
type Owner struct {
	InstanceID string `json:"instance_id"`
	Host       string `json:"host"`
	MemberID   string `json:"member_id"`
}

func (o *Owner) String() string {
	if o == nil {
		return "-"
	}
	return o.InstanceID + "@" + o.Host
}

// New is the report at now of cfg's units from their committed positions
// (by unit key) and the running instances of the group (holders), or the
// error that kept them unknown.
func New(cfg *config.Config, positions map[string]checkpoint.Position, holders []instance.Holder, holdersErr error, now time.Time) Report {
	rep := Report{
		At:              now,
		CheckpointTopic: cfg.Kafka.CheckpointTopic,
		TransactionalID: cfg.Kafka.TransactionalID,
		Events:          make([]Event, 0, len(cfg.Events)),
		Holders:         holders,
	}
	if rep.Holders == nil {
		rep.Holders = []instance.Holder{}
	}
	if holdersErr != nil {
		rep.HoldersError = holdersErr.Error()
	}
	owners := map[string]*Owner{}
	for _, h := range holders {
		for _, u := range h.Units {
			owners[u] = &Owner{InstanceID: h.InstanceID, Host: h.Host, MemberID: h.MemberID}
		}
	}
	for _, a := range cfg.AllAccounts() {
		for _, ev := range a.Events {
			key := checkpoint.UnitKey(a.Name, ev)
			es := Event{Unit: key, Account: a.Name, Event: ev, Topic: a.Topic(ev), Next: a.Start, Owner: owners[key]}
			es.fill(positions, now)
			rep.Events = append(rep.Events, es)
		}
	}
	return rep
}

// fill sets what follows from the unit's committed position, if any.
func (es *Event) fill(positions map[string]checkpoint.Position, now time.Time) {
	p, ok := positions[es.Unit]
	if !ok {
		return
	}
	es.Checkpoint = &p
	es.Next = p.Next()
	upTo := completeUpTo(p)
	fresh := now.Sub(upTo).Seconds()
	es.CompleteUpTo, es.FreshnessSeconds = &upTo, &fresh
	if !p.Done {
		es.InFlightReportID = p.ReportID
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

// WriteTable writes r for people: a table of the units, then the running
// instances and the units each owns.
func (r Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "Checkpoints in %s (read_committed) at %s\n\n", r.CheckpointTopic, termview.Time(r.At))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "EVENT\tEXTRACTED FROM\tCOMMITTED POSITION\tFRESHNESS\tIN-FLIGHT REPORT\tROWS\tPRODUCED\tDEAD-LETTERED\tCOMMITTED AT\tOWNER")
	for _, e := range r.Events {
		if e.Checkpoint == nil {
			fmt.Fprintf(tw, "%s\t-\tnone yet: starts at %s\t-\t-\t-\t-\t-\t-\t%s\n", e.Unit, termview.Time(e.Next), e.Owner)
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", e.Unit, termview.Time(p.Covered()), DescribePosition(*p),
			fmtAge(time.Duration(*e.FreshnessSeconds*float64(time.Second))), report,
			p.Rows, p.Produced, p.DeadLettered, termview.Time(p.CommittedAt), e.Owner)
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
		fmt.Fprintf(w, "Transactional identity %s: held by %s\n", r.TransactionalID, DescribeHolders(r.Holders))
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

// DescribePosition says where p stands; it reads like "[2026-03-01T00:00:00Z, 2026-03-02T00:00:00Z)
// done" or "... 1200 rows committed".
func DescribePosition(p checkpoint.Position) string {
	window := fmt.Sprintf("[%s, %s)", termview.Time(p.WindowStart), termview.Time(p.WindowEnd))
	if p.Done {
		return window + " done"
	}
	return fmt.Sprintf("%s %d rows committed", window, p.Rows)
}

// DescribeHolders lists the holders ms on one line.
func DescribeHolders(ms []instance.Holder) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return strings.Join(parts, "; ")
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
