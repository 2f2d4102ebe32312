package source

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// emptyPolls is how many answers "COMPLETED without links" Await needs, on
// top of EmptySettle having passed, before it takes a report as empty.
const emptyPolls = 3

// Await polls report id of event and w until it can be read, and returns
// it: the job is COMPLETED, it has at least one link, and every link is
// finished and has an href.
//
// A report that FAILED, vanished (404) or is still not ready PendingTimeout
// after Await began is not waited for any longer: the error wraps
// [ErrResubmit] (a [*ResubmitError] saying why), and the caller decides
// whether to submit again. Any job status Await does not know counts as
// pending. Other errors (API errors, spent transient retries, ctx) are
// returned as they are: see [Retryable].
//
// A COMPLETED job without any link is ambiguous: its files may not be
// attached yet, or its window may hold no rows. Await polls it on and takes
// it as empty (a report with no links and no rows) only once it has
// answered so at least three times, spread over at least EmptySettle; an
// answer with links in between starts the count again. A report whose
// files take longer than EmptySettle to be attached would be taken as
// empty: EmptySettle is the bound of that risk (see the README).
//
// Polls wait PollInterval, then 1.5 times longer each time, up to
// PollMaxInterval. The first GET waits PollInterval when fresh is set (a
// report just submitted), else it happens at once (a report resumed).
func (c *Client) Await(ctx context.Context, event string, w Window, id string, fresh bool) (*Report, error) {
	log := c.log.With("event", event, "window", w.String(), "report", id)
	started := c.cfg.Now()
	interval := c.cfg.PollInterval
	grow := func() { interval = min(time.Duration(float64(interval)*1.5), c.cfg.PollMaxInterval) }
	if fresh {
		if err := wait(ctx, interval); err != nil {
			return nil, err
		}
		grow()
	} else {
		log.Info("resuming freshchat report")
	}
	var noLinksSince time.Time
	noLinks := 0
	for {
		rep, err := c.get(ctx, log, id)
		switch {
		case errors.Is(err, ErrReportNotFound):
			return nil, &ResubmitError{ReportID: id, Reason: "not found (404)"}
		case err != nil:
			return nil, err
		}
		rep.Event, rep.Window = event, w
		now := c.cfg.Now()
		switch rep.state() {
		case stateReady:
			log.Info("freshchat report completed", "links", len(rep.Links))
			return rep, nil
		case stateFailed:
			return nil, &ResubmitError{ReportID: id, Reason: describe(rep)}
		case stateNoLinks:
			if noLinks == 0 {
				noLinksSince = now
			}
			noLinks++
			if noLinks >= emptyPolls && now.Sub(noLinksSince) >= c.cfg.EmptySettle {
				log.Warn("freshchat report completed without any link through the settle time: taken as an empty window",
					"answers", noLinks, "settle", c.cfg.EmptySettle.String())
				return rep, nil
			}
			log.Debug("freshchat report completed without links yet: polling again before taking it as empty",
				"answers", noLinks, "settle", c.cfg.EmptySettle.String())
		default:
			noLinks = 0
		}
		if waited := now.Sub(started); waited >= c.cfg.PendingTimeout {
			return nil, &ResubmitError{ReportID: id, Reason: fmt.Sprintf("%s after %s", describe(rep), waited.Round(time.Millisecond))}
		}
		log.Debug("freshchat report not ready", "status", describe(rep), "next_poll", interval)
		if err := wait(ctx, interval); err != nil {
			return nil, err
		}
		grow()
	}
}

// Prepare returns a readable report for event and w: it submits one (or,
// when resumeID is not empty, first awaits that report) and awaits it,
// submitting again whenever Await says so, at most MaxSubmits times. Then
// the error wraps [ErrSubmitsExhausted] and names the event, the window and
// the last reason.
//
// Prepare records nothing: a caller that must resume an in-flight report
// after a restart calls Submit and Await itself and records the report ID
// in between, as the pipeline does.
func (c *Client) Prepare(ctx context.Context, event string, w Window, resumeID string) (*Report, error) {
	log := c.log.With("event", event, "window", w.String())
	if strings.TrimSpace(event) == "" {
		return nil, errors.New("freshchat prepare: event name is empty")
	}
	if err := w.Validate(); err != nil {
		return nil, fmt.Errorf("freshchat prepare %s: %w", event, err)
	}
	id, submits := resumeID, 0
	var last *ResubmitError
	for {
		fresh := false
		if id == "" {
			if submits >= c.cfg.MaxSubmits {
				return nil, c.Exhausted(event, w, submits, last)
			}
			var err error
			if id, err = c.Submit(ctx, event, w); err != nil {
				return nil, err
			}
			submits, fresh = submits+1, true
		}
		rep, err := c.Await(ctx, event, w, id, fresh)
		if !errors.As(err, &last) {
			return rep, err
		}
		log.Warn("freshchat report did not complete, submitting again", "report", id, "reason", last.Reason,
			"submits", submits, "max_submits", c.cfg.MaxSubmits)
		id = ""
	}
}

// MaxSubmits is how many reports may be submitted for one window.
func (c *Client) MaxSubmits() int { return c.cfg.MaxSubmits }

// ShareBudget makes the client use the fraction f (0 < f <= 1, rounded up
// to whole requests) of its configured request budget, and the same
// fraction of its submit budget (not rounded: one submit a minute shared
// by three is one every three minutes): the part of an
// account's work, and so of its budget, that this instance runs when
// several share the account. Safe to call at any time; requests already
// waiting take the new pace from their next slot.
func (c *Client) ShareBudget(f float64) {
	c.lim.share(f)
	c.subs.share(f)
}

// Budget is the request budget the client paces itself to now: the
// configured one, or the share ShareBudget gave it.
func (c *Client) Budget() BudgetConfig {
	c.lim.mu.Lock()
	defer c.lim.mu.Unlock()
	return c.lim.budget
}

// Exhausted is the error for a window whose submits are spent: it wraps
// [ErrSubmitsExhausted] and names the event, the window, the submits and
// the last reason to submit again (last may be nil).
func (c *Client) Exhausted(event string, w Window, submits int, last *ResubmitError) error {
	reason := "unknown"
	if last != nil {
		reason = fmt.Sprintf("report %s: %s", last.ReportID, last.Reason)
	}
	return fmt.Errorf("%w: event %s, window %s: gave up after %s (at most freshchat.max_submits = %d per window); last %s",
		ErrSubmitsExhausted, event, w, plural(submits, "submit"), c.cfg.MaxSubmits, reason)
}

// describe is a report's status for messages, with unfinished link statuses.
func describe(r *Report) string {
	s := r.Status
	if s == "" {
		s = "no status"
	}
	if s == StatusCompleted && len(r.Links) == 0 {
		return s + " (no links yet)"
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
