package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Prepare returns a COMPLETED report (every link downloadable) for event and
// w.
//
// If resumeID is not empty it first GETs that report, so that a restart
// resumes the in-flight report instead of submitting anew: a completed one is
// returned at once, a pending one is polled, and a report that is gone (404)
// or FAILED is replaced by a new submit.
//
// After every successful submit Prepare calls onSubmit(ctx, id) before it
// polls (the caller commits a checkpoint there, so that a restart resumes
// this id); an error from onSubmit aborts Prepare. onSubmit may be nil.
//
// Polls wait PollInterval, then 1.5 times longer each time, up to
// PollMaxInterval. A report that FAILED, vanished (404), or is still not
// ready PendingTimeout after its submit (or its resumption) is submitted
// again. Once MaxSubmits submits are spent the error wraps
// [ErrSubmitsExhausted] and names the event, the window and the last status.
// Other errors (API errors, spent transient retries, ctx) are returned as
// they are: see [Retryable].
func (c *Client) Prepare(ctx context.Context, event string, w Window, resumeID string, onSubmit func(ctx context.Context, id string) error) (*Report, error) {
	log := c.log.With("event", event, "window", w.String())
	if strings.TrimSpace(event) == "" {
		return nil, errors.New("freshchat prepare: event name is empty")
	}
	if err := w.Validate(); err != nil {
		return nil, fmt.Errorf("freshchat prepare %s: %w", event, err)
	}

	id, lastID, lastStatus := resumeID, "", ""
	submits := 0
	for {
		if id == "" {
			if submits >= c.cfg.MaxSubmits {
				return nil, fmt.Errorf("%w: event %s, window %s: gave up after %s; last report %s: %s",
					ErrSubmitsExhausted, event, w, plural(submits, "submit"), lastID, lastStatus)
			}
			var err error
			if id, err = c.submit(ctx, log, event, w); err != nil {
				return nil, err
			}
			submits++
			if onSubmit != nil {
				if err := onSubmit(ctx, id); err != nil {
					return nil, fmt.Errorf("freshchat report %s for event %s, window %s submitted, but recording it failed: %w", id, event, w, err)
				}
			}
		} else {
			log.Info("resuming freshchat report", "report", id)
		}

		rep, status, err := c.poll(ctx, log.With("report", id), id, submits > 0)
		if err != nil {
			return nil, err
		}
		if rep != nil {
			rep.Event, rep.Window = event, w
			return rep, nil
		}
		log.Warn("freshchat report did not complete, submitting again", "report", id, "status", status,
			"submits", submits, "max_submits", c.cfg.MaxSubmits)
		id, lastID, lastStatus = "", id, status
	}
}

// poll GETs report id until it is ready (returned), or it failed, vanished
// or stayed pending past PendingTimeout (nil report and a status describing
// why). The first GET waits PollInterval if delayFirst (a fresh submit),
// else it happens at once (a resumed report); each later wait is 1.5 times
// the previous one, up to PollMaxInterval.
func (c *Client) poll(ctx context.Context, log *slog.Logger, id string, delayFirst bool) (*Report, string, error) {
	started := c.cfg.Now()
	interval := c.cfg.PollInterval
	grow := func() { interval = min(time.Duration(float64(interval)*1.5), c.cfg.PollMaxInterval) }
	if delayFirst {
		if err := wait(ctx, interval); err != nil {
			return nil, "", err
		}
		grow()
	}
	for {
		rep, err := c.get(ctx, log, id)
		switch {
		case errors.Is(err, ErrReportNotFound):
			return nil, "not found (404)", nil
		case err != nil:
			return nil, "", err
		}
		switch rep.state() {
		case stateReady:
			log.Info("freshchat report completed", "links", len(rep.Links))
			return rep, rep.Status, nil
		case stateFailed:
			return nil, describe(rep), nil
		}
		if waited := c.cfg.Now().Sub(started); waited >= c.cfg.PendingTimeout {
			return nil, fmt.Sprintf("%s after %s", describe(rep), waited.Round(time.Millisecond)), nil
		}
		log.Debug("freshchat report not ready", "status", describe(rep), "next_poll", interval)
		if err := wait(ctx, interval); err != nil {
			return nil, "", err
		}
		grow()
	}
}

// describe is a report's status for messages, with unfinished link statuses.
func describe(r *Report) string {
	s := r.Status
	if s == "" {
		s = "no status"
	}
	var links []string
	for i, l := range r.Links {
		switch {
		case l.Status != "" && l.Status != StatusCompleted && l.Status != "SUCCESS":
			links = append(links, fmt.Sprintf("link %d %s", i, l.Status))
		case l.Href == "":
			links = append(links, fmt.Sprintf("link %d without href", i))
		}
	}
	if len(links) > 0 {
		s += " (" + strings.Join(links, ", ") + ")"
	}
	return s
}
