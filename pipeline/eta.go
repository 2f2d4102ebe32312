package pipeline

import (
	"log/slog"
	"time"

	"github.com/freshstream/freshchat-kafka/source"
)

// DefaultReportLatency is the report latency (submit to completed) assumed
// for estimates until reports were observed: Freshchat takes seconds to
// many minutes per report.
const DefaultReportLatency = 2 * time.Minute

// Pace is what bounds a backfill besides the connector's own speed: the
// API budgets of the Freshchat client, the poll schedule, how many
// reports an event submits ahead and how many events read at once.
type Pace struct {
	Budgets      source.Budgets
	ReportsAhead int
	Concurrency  int
	// Latency is the report latency assumed for an event none of whose
	// reports was observed (0: DefaultReportLatency).
	Latency time.Duration
}

// Backlog is what one event has left to extract.
type Backlog struct {
	Event string
	// Windows left, the one in progress included.
	Windows int
	// Submitted counts those whose report is submitted already.
	Submitted int
	// Latency is the event's report latency (0: the pace's), Read how long
	// reading one window's report takes once it is ready.
	Latency, Read time.Duration
}

// Submits is how many reports the backlog still submits.
func (b Backlog) Submits() int { return max(b.Windows-b.Submitted, 0) }

// Requests estimates the API requests the backlog takes: a submit per
// report still to submit and the polls that wait for each report.
func (b Backlog) Requests(p Pace) int {
	if b.Windows == 0 {
		return 0
	}
	lat, read := b.timings(p)
	// A report submitted ahead is polled only when its turn comes: it has
	// had the reading of the windows before it to complete.
	waited := max(lat-time.Duration(p.ReportsAhead)*b.cycle(p, lat, read), 0)
	polls := source.PollsWithin(waited, p.Budgets.PollInterval, p.Budgets.PollMaxInterval)
	return b.Submits() + b.Windows*polls
}

func (b Backlog) timings(p Pace) (latency, read time.Duration) {
	latency = b.Latency
	if latency <= 0 {
		latency = p.Latency
	}
	if latency <= 0 {
		latency = DefaultReportLatency
	}
	return latency, b.Read
}

// cycle is the time between two windows of the event in steady state:
// reading one window, or, when reports take longer to generate than the
// reports in flight (the one in progress and those ahead) can hide, the
// share of a report's latency and read that falls to one window.
func (b Backlog) cycle(p Pace, latency, read time.Duration) time.Duration {
	inFlight := time.Duration(max(p.ReportsAhead, 0) + 1)
	return max(read, (latency+read)/inFlight)
}

// EstimateBackfill estimates how long each event's backlog takes to
// extract, in the order given, and how long they all take.
//
// Each event walks its windows in order: its first report takes its
// latency, then a window follows every cycle (see Backlog.cycle). The
// submit budget is shared fairly: an event's last submit comes once every
// event has submitted as many reports as it has left (or all of theirs),
// and its last window is read a latency and a read later. The request
// budget (per minute and per day) is shared the same way, and at most
// Pace.Concurrency events read at once.
func EstimateBackfill(p Pace, bs []Backlog) (each []time.Duration, total time.Duration) {
	each = make([]time.Duration, len(bs))
	submits := make([]int, len(bs))
	requests := make([]int, len(bs))
	var reading time.Duration
	allRequests := 0
	for i, b := range bs {
		submits[i], requests[i] = b.Submits(), b.Requests(p)
		allRequests += requests[i]
		_, read := b.timings(p)
		reading += time.Duration(b.Windows) * read
	}
	for i, b := range bs {
		if b.Windows == 0 {
			continue
		}
		lat, read := b.timings(p)
		// The first window waits for its report's latency unless it is
		// submitted already (then part of it has passed).
		first := lat
		if b.Submitted > 0 {
			first = lat / 2
		}
		chain := first + read + time.Duration(b.Windows-1)*b.cycle(p, lat, read)
		eta := chain
		if every := p.Budgets.SubmitEvery; every > 0 && submits[i] > 0 {
			eta = max(eta, fairShare(submits, i, every)+lat+read)
		}
		eta = max(eta, requestTime(p.Budgets.Requests, fairShareCount(requests, i)))
		each[i] = eta
		total = max(total, eta)
	}
	if total > 0 {
		total = max(total, requestTime(p.Budgets.Requests, allRequests))
		if p.Concurrency > 0 {
			total = max(total, reading/time.Duration(p.Concurrency))
		}
	}
	return each, total
}

// fairShareCount is how many of all the counts are done once count i is,
// when every count goes down one at a time in turn: the sum over j of
// min(count j, count i).
func fairShareCount(counts []int, i int) int {
	n := 0
	for _, c := range counts {
		n += min(c, counts[i])
	}
	return n
}

// fairShare is how long count i takes at one unit every interval, shared
// in turn with the others.
func fairShare(counts []int, i int, interval time.Duration) time.Duration {
	return time.Duration(fairShareCount(counts, i)) * interval
}

// requestTime is how long n API requests take under budget b.
func requestTime(b source.BudgetConfig, n int) time.Duration {
	if n <= 0 {
		return 0
	}
	var d time.Duration
	if b.PerMinute > 0 {
		d = time.Duration(n-1) * time.Minute / time.Duration(b.PerMinute)
	}
	if b.PerDay > 0 {
		d = max(d, time.Duration((n-1)/b.PerDay)*24*time.Hour)
	}
	return d
}

// estimate sets each event's WindowsLeft, ReportsAhead and ETA from the
// backfill estimate: the windows left from its cursor to target at its
// density, its observed report latency and read time, the API budgets of
// its account (units of one source share them).
func (p *Pipeline) estimate(ps []Progress, target time.Time) []Progress {
	target = target.Truncate(time.Millisecond)
	byKey := make(map[string]*eventRunner, len(p.runners))
	for _, r := range p.runners {
		byKey[r.key] = r
	}
	type group struct {
		idx      []int
		backlogs []Backlog
	}
	groups := map[*source.Client]*group{}
	var order []*source.Client
	var known time.Duration
	seen := 0
	for i := range ps {
		r := byKey[ps[i].Event]
		if r == nil || r.src == nil {
			continue
		}
		b := Backlog{Event: r.key}
		b.Latency, b.Read = r.stats.timings()
		if b.Latency > 0 {
			known += b.Latency
			seen++
		}
		// Live, an event less than min_window behind follows live windows:
		// no backfill is left.
		live := r.planner.To.IsZero() && target.Sub(ps[i].Cursor) < r.planner.MinWindow
		if cur := ps[i].Cursor; !cur.IsZero() && cur.Before(target) && !live {
			b.Windows = r.queue.count(cur, target)
			all, _ := r.queue.inFlight()
			b.Submitted = min(all, b.Windows)
		}
		g := groups[r.src]
		if g == nil {
			g = &group{}
			groups[r.src] = g
			order = append(order, r.src)
		}
		g.idx, g.backlogs = append(g.idx, i), append(g.backlogs, b)
	}
	var latency time.Duration
	if seen > 0 {
		latency = known / time.Duration(seen) // events not observed yet are assumed alike
	}
	for _, src := range order {
		g := groups[src]
		pace := Pace{Budgets: src.Budgets(), ReportsAhead: p.opts.ReportsAhead, Concurrency: p.opts.Concurrency, Latency: latency}
		each, _ := EstimateBackfill(pace, g.backlogs)
		for j, i := range g.idx {
			ps[i].WindowsLeft = int64(g.backlogs[j].Windows)
			_, ps[i].ReportsAhead = byKey[ps[i].Event].queue.inFlight()
			ps[i].ETA = blend(each[j], ps[i].Windows, g.backlogs[j].Windows, p.opts.Now().Sub(byKey[ps[i].Event].stats.started()))
		}
	}
	return ps
}

// blend weighs the estimate against the pace the event kept so far (done
// windows in elapsed), by the share of its windows done: early on the
// model of latencies and budgets leads, and towards the end what was
// observed, which also holds what the model leaves out (the connector's
// own work on a busy machine). The ETA thus converges on the real finish.
func blend(model time.Duration, done int64, left int, elapsed time.Duration) time.Duration {
	if done < 2 || left == 0 || elapsed <= 0 {
		return model
	}
	observed := time.Duration(float64(elapsed) * float64(left) / float64(done))
	f := float64(done) / float64(done+int64(left))
	return time.Duration((1-f)*float64(model) + f*float64(observed))
}

// logBackfill logs the whole backfill's estimate, after the events' own
// progress lines: the windows left, the reports submitted ahead, and the
// time left, which is the longest of the events'.
func logBackfill(log *slog.Logger, ps []Progress) {
	var left int64
	var ahead int
	var eta time.Duration
	for _, p := range ps {
		left, ahead, eta = left+p.WindowsLeft, ahead+p.ReportsAhead, max(eta, p.ETA)
	}
	if left == 0 {
		return
	}
	log.Info("backfill progress", "events", len(ps), "windows_left", left, "reports_ahead", ahead,
		"eta", eta.Round(time.Second).String())
}
