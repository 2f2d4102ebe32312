package pipeline

import (
	"fmt"
	"time"

	"github.com/freshstream/freshchat-kafka/checkpoint"
)

// retentionMonths is how long Freshchat keeps raw reports.
const retentionMonths = 15

// checkResume checks every event's committed position against the run o
// asks for, before anything is extracted:
//
//   - Live mode continues each event from its checkpoint, so the checkpoint
//     must still be within the reports Freshchat keeps.
//   - A bounded run [From, Planner.To) continues each event from its
//     checkpoint too, never skipping a row: the checkpoint must not be
//     before From, and the rows committed so far must reach back to From
//     (Position.Covered). An event already committed to To or beyond has
//     nothing left to extract. Without From, every checkpoint will do.
//
// Events without a checkpoint start at Start and always pass.
func checkResume(o Options, units []*eventRunner, positions map[string]checkpoint.Position, now time.Time) error {
	var problems []string
	bounded := !o.Planner.To.IsZero()
	if bounded && o.From.IsZero() {
		return nil
	}
	from := o.From.UTC().Truncate(time.Millisecond)
	for _, r := range units {
		ev := r.key
		pos, ok := positions[ev]
		if !ok || pos.IsZero() {
			continue
		}
		next, covered := pos.Next(), pos.Covered()
		switch {
		case !bounded:
			if earliest := now.AddDate(0, -retentionMonths, 0); next.Before(earliest) {
				skipTo := earliest.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
				problems = append(problems, fmt.Sprintf("%s resumes at %s, but Freshchat keeps raw reports for %d months (earliest now %s): "+
					"the rows before that can no longer be extracted; acknowledge the gap with: connector reset --event %s --to %s",
					ev, fmtTime(next), retentionMonths, fmtTime(earliest), ev, fmtTime(skipTo)))
			}
		case next.Before(from):
			problems = append(problems, fmt.Sprintf("%s is committed up to %s, before --from %s: a bounded run continues each event from its checkpoint and never skips rows. "+
				"Run with --from %s to extract the rows in between, or skip them with: connector reset --event %s --to %s",
				ev, fmtTime(next), fmtTime(from), fmtTime(next), ev, fmtTime(from)))
		case covered.After(from):
			problems = append(problems, fmt.Sprintf("%s was extracted from %s only (committed up to %s), so the rows from --from %s to %s were never produced. "+
				"To produce them, rewind with: connector reset --event %s --to %s (the rows from %s to %s are then produced again)",
				ev, fmtTime(covered), fmtTime(next), fmtTime(from), fmtTime(covered), ev, fmtTime(from), fmtTime(covered), fmtTime(next)))
		}
	}
	if len(problems) > 0 {
		return &RangeError{Problems: problems}
	}
	return nil
}

// fmtTime formats t as the command line accepts it.
func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.999Z07:00") }
