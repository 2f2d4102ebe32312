package bench

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/internal/kread"
	"github.com/freshstream/freshchat-kafka/pipeline"
	"github.com/freshstream/freshchat-kafka/schemas"
	"github.com/freshstream/freshchat-kafka/sink"
	"github.com/freshstream/freshchat-kafka/source"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

// Backfill is a time-scaled benchmark of a long backfill: the connector's
// pipeline, in process, against the Freshchat simulator with a latency
// model (report generation that grows with its rows) and a submit budget,
// and a kfake broker.
//
// Time is scaled, not faked: every duration of the model (report latency,
// poll intervals, budgets, timeouts) is divided by Scale, so a backfill
// that takes hours of the API's time runs in seconds, and its simulated
// time is the real time it took times Scale. The connector's own work
// (reading, converting, committing) is scaled up the same way, which makes
// the simulated times an upper bound.
type Backfill struct {
	// Events to backfill, and how far back, in months, to now.
	Events []string
	Months int
	// RowsPerHour is the simulator's density, every event alike.
	RowsPerHour int
	// Scale is how many simulated seconds one real second is.
	Scale float64
	// SubmitsPerMinute and RequestsPerMinute are the account's budgets in
	// simulated time; the simulator refuses (429) submits beyond twice the
	// first, so that it sees whether the connector keeps to it.
	SubmitsPerMinute, RequestsPerMinute int
	// ReportLatency and ReportTimePerRow are the latency model, simulated:
	// a report takes ReportLatency plus ReportTimePerRow for each of its rows.
	ReportLatency, ReportTimePerRow time.Duration
	// Logger receives the connector's logs (default: discarded).
	Logger *slog.Logger
}

// BackfillPlan is how the connector walks the history.
type BackfillPlan struct {
	Name string
	// Planner's window, longest window and target rows (see
	// pipeline.Planner), and reports submitted ahead.
	Window, MaxWindow time.Duration
	TargetRows        int64
	ReportsAhead      int
}

var (
	// FixedPlan is the connector's plan before adaptive windows: a report
	// a day, one at a time.
	FixedPlan = BackfillPlan{Name: "fixed 24h, one at a time", Window: 24 * time.Hour}
	// AdaptivePlan is the default plan: windows up to a calendar month
	// sized for a million rows, the first a day, two reports ahead.
	AdaptivePlan = BackfillPlan{Name: "adaptive, 2 ahead", Window: 24 * time.Hour, MaxWindow: 31 * 24 * time.Hour,
		TargetRows: 1_000_000, ReportsAhead: 2}
)

// BackfillResult is what one run of a plan did.
type BackfillResult struct {
	Plan     string
	From, To time.Time
	// Submits and Gets are the API requests the simulator answered (429s
	// included); Throttled counts its 429s.
	Submits, Gets, Throttled int
	Windows                  int
	Rows                     int64
	// Real is the wall time the run took; Simulated is Real times Scale.
	Real, Simulated time.Duration
	// ETAs samples the backfill's estimated time left, as the connector
	// showed it, against the time actually left, both simulated.
	ETAs []ETASample `json:"-"`
}

// ETASample is the connector's whole-backfill estimate at one moment.
type ETASample struct {
	Elapsed, Estimated, Actual time.Duration
}

// Requests is every API request.
func (r BackfillResult) Requests() int { return r.Submits + r.Gets }

// Span is the backfill's range: Months back from the last whole hour, and
// no earlier than the first whole hour at least an hour inside the API's
// limit, so that the limit, which moves while the runs go, never reaches
// it (were it to, the rows it passed would be lost, as logged, and the
// exactly-once check would fail for them).
func (b Backfill) Span(now time.Time) (from, to time.Time) {
	to = now.UTC().Truncate(time.Hour).Add(-time.Hour)
	from = to.AddDate(0, -b.Months, 0)
	if earliest := source.Earliest(now).Add(2 * time.Hour).Truncate(time.Hour); from.Before(earliest) {
		from = earliest
	}
	return from, to
}

// scaled divides a simulated duration by the scale.
func (b Backfill) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) / b.Scale)
}

// perMinute multiplies a simulated rate by the scale.
func (b Backfill) perMinute(n int) int {
	return min(int(float64(n)*b.Scale), 1_000_000)
}

// Run backfills [from, to) of every event with plan, against a fresh
// simulator and broker, checks that every row landed exactly once, and
// returns what it took.
func (b Backfill) Run(ctx context.Context, plan BackfillPlan, from, to time.Time, tempDir string) (BackfillResult, error) {
	log := b.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	res := BackfillResult{Plan: plan.Name, From: from, To: to}
	sim := freshchattest.NewServer(freshchattest.Options{
		Token: "bench-token", RowsPerHour: b.RowsPerHour, TempDir: tempDir,
		Faults: freshchattest.Faults{
			ReportLatency: b.scaled(b.ReportLatency), ReportTimePerRow: b.scaled(b.ReportTimePerRow),
			SubmitsPerMinute: 2 * b.perMinute(b.SubmitsPerMinute),
		},
	})
	defer sim.Close()
	k, err := NewKafka()
	if err != nil {
		return res, err
	}
	defer k.Close()
	u, err := url.Parse(sim.URL())
	if err != nil {
		return res, err
	}
	src, err := source.NewClient(source.ClientConfig{
		BaseURL: u, Token: "bench-token", Logger: log,
		PollInterval: b.scaled(source.DefaultPollInterval), PollMaxInterval: b.scaled(source.DefaultPollMaxInterval),
		PendingTimeout: b.scaled(source.DefaultPendingTimeout), EmptySettle: b.scaled(source.DefaultEmptySettle),
		Retry:            source.RetryConfig{Base: b.scaled(source.DefaultRetryBase), Max: b.scaled(source.DefaultRetryMax)},
		Budget:           source.BudgetConfig{PerMinute: b.perMinute(b.RequestsPerMinute)},
		SubmitsPerMinute: b.perMinute(b.SubmitsPerMinute),
		TempDir:          tempDir,
	})
	if err != nil {
		return res, err
	}
	var mu sync.Mutex
	o := pipeline.Options{
		Events: b.Events, Start: from, From: from,
		Planner: pipeline.Planner{Window: plan.Window, MaxWindow: plan.MaxWindow, TargetRows: plan.TargetRows,
			MinWindow: time.Minute, To: to},
		ReportsAhead:       plan.ReportsAhead,
		Concurrency:        4,
		Limits:             pipeline.Limits{Rows: 10_000, Bytes: 16 << 20},
		Topic:              func(ev string) string { return "freshchat." + strings.ToLower(ev) },
		CheckpointTopic:    "freshchat.checkpoints",
		TransactionalID:    "bench-backfill",
		TransactionTimeout: time.Minute,
		Partitions:         1,
		ReplicationFactor:  1,
		Kafka:              k.Opts(),
		Source:             src,
		Logger:             log,
		ProgressInterval:   time.Hour,
		OnWindow: func(pipeline.WindowDone) {
			mu.Lock()
			res.Windows++
			mu.Unlock()
		},
	}
	p, err := pipeline.New(ctx, o)
	if err != nil {
		return res, err
	}
	defer p.Close(context.WithoutCancel(ctx))

	began := time.Now()
	var samples []ETASample
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				var eta time.Duration
				for _, pr := range p.Progress() {
					eta = max(eta, pr.ETA)
				}
				samples = append(samples, ETASample{Elapsed: time.Since(began), Estimated: eta})
			}
		}
	}()
	err = p.Run(ctx)
	res.Real = time.Since(began)
	close(stop)
	<-sampled
	if err != nil {
		return res, fmt.Errorf("%s: %w", plan.Name, err)
	}
	res.Simulated = time.Duration(float64(res.Real) * b.Scale)
	for _, s := range samples {
		res.ETAs = append(res.ETAs, ETASample{
			Elapsed:   time.Duration(float64(s.Elapsed) * b.Scale),
			Estimated: time.Duration(float64(s.Estimated) * b.Scale),
			Actual:    time.Duration(float64(res.Real-s.Elapsed) * b.Scale),
		})
	}
	st := sim.Stats()
	res.Submits, res.Gets, res.Throttled = st.Submits, st.Gets, st.Status[429]

	for _, ev := range b.Events {
		n, err := exactlyOnce(ctx, k.Opts(), o.Topic(ev), ev, from, to, sim.Count(ev, from, to))
		if err != nil {
			return res, fmt.Errorf("%s: %w", plan.Name, err)
		}
		res.Rows += int64(n)
	}
	return res, nil
}

// exactlyOnce checks that topic holds, as read_committed consumers see it,
// exactly want records of event, each with a distinct created_at in
// [from, to): the simulator serves one row per millisecond at most, so
// that is every row of the range once.
func exactlyOnce(ctx context.Context, opts []kgo.Opt, topic, event string, from, to time.Time, want int) (int, error) {
	s, err := schemas.Lookup(event)
	if err != nil {
		return 0, err
	}
	prefix := sink.SingleObjectPrefix(s.Fingerprint)
	seen := make(map[int64]bool, want)
	var bad error
	n := 0
	err = kread.Each(ctx, opts, topic, func(r *kgo.Record) {
		n++
		if bad != nil {
			return
		}
		if !bytes.HasPrefix(r.Value, prefix) {
			bad = fmt.Errorf("%s offset %d: not single-object framed", topic, r.Offset)
			return
		}
		var v struct {
			CreatedAt time.Time `avro:"created_at"`
		}
		if err := avro.Unmarshal(s.Avro, r.Value[len(prefix):], &v); err != nil {
			bad = fmt.Errorf("%s offset %d: %w", topic, r.Offset, err)
			return
		}
		ms := v.CreatedAt.UnixMilli()
		switch {
		case v.CreatedAt.Before(from) || !v.CreatedAt.Before(to):
			bad = fmt.Errorf("%s offset %d: created_at %s outside [%s, %s)", topic, r.Offset, v.CreatedAt, from, to)
		case seen[ms]:
			bad = fmt.Errorf("%s offset %d: the row created at %s is there twice", topic, r.Offset, v.CreatedAt.Format(time.RFC3339Nano))
		}
		seen[ms] = true
	})
	switch {
	case err != nil:
		return n, fmt.Errorf("reading %s: %w", topic, err)
	case bad != nil:
		return n, bad
	case n != want:
		return n, fmt.Errorf("%s holds %d rows of %s, the simulator %d: rows are missing", topic, n, event, want)
	}
	return n, nil
}
