package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/freshstream/freshchat-kafka/source"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

// Requests counts API requests.
type Requests struct {
	Submits       int   // POST /v2/reports/raw
	Gets          int   // GET /v2/reports/raw/{id}
	Downloads     int   // GET /files/...
	DownloadBytes int64 // body bytes the downloads sent
}

// RequestsOf returns the simulator's request counters since it started.
func RequestsOf(sim *freshchattest.Server) Requests {
	st := sim.Stats()
	return Requests{Submits: st.Submits, Gets: st.Gets, Downloads: st.Downloads, DownloadBytes: st.DownloadBytes}
}

// Total is every request.
func (r Requests) Total() int { return r.Submits + r.Gets + r.Downloads }

// Sub returns the requests made since before.
func (r Requests) Sub(before Requests) Requests {
	return Requests{
		Submits:       r.Submits - before.Submits,
		Gets:          r.Gets - before.Gets,
		Downloads:     r.Downloads - before.Downloads,
		DownloadBytes: r.DownloadBytes - before.DownloadBytes,
	}
}

// Report is a generated report.
type Report struct {
	ID    string
	Links int
	Bytes int64         // size of its files, summed over links
	Took  time.Duration // submit to last byte: the simulator generating the files
}

// Generate has the simulator sim generate the report of event for the
// half-open window [from, to): it submits and awaits it with the
// connector's own client, then downloads every link once so that the
// simulator generates its file.
//
// The simulator generates a link's file on its first download, but every
// submit makes a new job with new links, so a connector that submits its
// own report would wait for a fresh file to be generated (in the bench
// process, several seconds per million rows) inside its measured wall
// time. Generating a report is Freshchat's work, not the connector's: sim
// must run with freshchattest.Options.ReuseReports, which answers a submit
// that repeats an earlier one with that earlier, completed job. Every
// later run then polls and downloads the same, already generated, report
// through the simulator's real API.
func Generate(ctx context.Context, sim *freshchattest.Server, token, event string, from, to time.Time) (Report, error) {
	began := time.Now()
	base, err := url.Parse(sim.URL())
	if err != nil {
		return Report{}, err
	}
	c, err := source.NewClient(source.ClientConfig{BaseURL: base, Token: token, PollInterval: time.Millisecond, TempDir: os.TempDir()})
	if err != nil {
		return Report{}, err
	}
	rep, err := c.Prepare(ctx, event, source.Window{Start: from, End: to}, "")
	if err != nil {
		return Report{}, fmt.Errorf("generating the %s report: %w", event, err)
	}
	out := Report{ID: rep.ID, Links: len(rep.Links)}
	for i, l := range rep.Links {
		n, err := fetch(ctx, l.Href)
		if err != nil {
			return Report{}, fmt.Errorf("downloading link %d of report %s: %w", i, rep.ID, err)
		}
		out.Bytes += n
	}
	out.Took = time.Since(began)
	return out, nil
}

// fetch downloads href, a pre-signed link, and returns its size.
func fetch(ctx context.Context, href string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, href, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", req.URL.Path, resp.Status)
	}
	return io.Copy(io.Discard, resp.Body)
}
