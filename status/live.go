package status

import (
	"context"
	"errors"
	"time"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/instance"
	"github.com/freshstream/freshchat-kafka/metrics"
)

// holdersTimeout bounds how long /status waits for the group
// coordinator to list the holders.
const holdersTimeout = 5 * time.Second

// errNotJoined is /status's holders_error while this instance is not a
// member of its group: not yet, or it could not (the log says why).
var errNotJoined = errors.New("this instance has not joined the connector's group (yet); see its log")

// Live is the document connector status --json prints, for this
// instance at now, from what the process knows instead of from the
// checkpoint topic: each unit's newest position this process committed (or
// read at start; committed returns them), and the instances of the group
// with the units each owns. Each event also carries its state and last
// error, and the document the Freshchat API's readiness.
//
// The document is one moment: the group is asked first (it takes a round
// trip), then the states are read, then the positions. A unit records its
// commit before its new state, so a state shown is never newer than the
// position beside it.
func Live(ctx context.Context, cfg *config.Config, committed func() map[string]checkpoint.Position, member *instance.Member, m *metrics.Metrics, now time.Time) Report {
	holders, holdersErr := []instance.Holder(nil), errNotJoined
	if member != nil {
		hctx, cancel := context.WithTimeout(ctx, holdersTimeout)
		holders, holdersErr = member.Holders(hctx)
		cancel()
	}
	events := m.Events()
	positions := map[string]checkpoint.Position{}
	for ev, pos := range committed() {
		if !pos.IsZero() {
			positions[ev] = pos
		}
	}
	rep := New(cfg, positions, holders, holdersErr, now)
	for i := range rep.Events {
		if st, ok := events[rep.Events[i].Unit]; ok {
			rep.Events[i].State, rep.Events[i].LastError, rep.Events[i].LastErrorAt = st.State, st.LastError, st.LastErrorAt
		}
	}
	if problem, watched := m.APIProblem(); watched {
		rep.API = &API{Ready: problem == nil}
		if problem != nil {
			rep.API.Problem = problem.Error()
		}
	}
	return rep
}
