package e2e_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/cli"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

// accountHarness is a harness whose connector extracts two accounts, acme
// (the harness's simulator) and globex (a second one with its own token),
// configured in the environment form of accounts.
type accountHarness struct {
	*harness
	globex *freshchattest.Server
}

const globexToken = "globex-token-0123456789abcdef"

func newAccountHarness(t *testing.T, sim freshchattest.Options, events []string, settings map[string]string) *accountHarness {
	t.Helper()
	all := map[string]string{"FRESHCHAT_API_URL": "", "FRESHCHAT_API_TOKEN": ""}
	for k, v := range settings {
		all[k] = v
	}
	h := newHarness(t, sim, events, all)
	gopts := sim
	gopts.Token, gopts.TempDir, gopts.RowsPerHour = globexToken, t.TempDir(), sim.RowsPerHour/2
	globex := freshchattest.NewServer(gopts)
	t.Cleanup(globex.Close)
	h.env = append(h.env,
		"FRESHCHAT_ACCOUNTS=acme,globex",
		"FRESHCHAT_ACCOUNT_ACME_API_URL="+h.sim.URL(),
		"FRESHCHAT_ACCOUNT_ACME_API_TOKEN="+simToken,
		"FRESHCHAT_ACCOUNT_GLOBEX_API_URL="+globex.URL(),
		"FRESHCHAT_ACCOUNT_GLOBEX_API_TOKEN="+globexToken,
	)
	return &accountHarness{harness: h, globex: globex}
}

// units are every unit key of the harness.
func (h *accountHarness) units() []string {
	var out []string
	for _, a := range []string{"acme", "globex"} {
		for _, ev := range h.events {
			out = append(out, a+"/"+ev)
		}
	}
	slices.Sort(out)
	return out
}

// accountTopic is the topic of an event of an account under the default
// template of accounts.
func accountTopic(account, event string) string {
	return "freshchat." + account + "." + strings.ToLower(event)
}

// owners runs connector status --json and returns each unit's owning
// instance ("" for none).
func (h *accountHarness) owners(t *testing.T, name string) map[string]string {
	t.Helper()
	st := h.startAs(name, name, "status", "--json")
	require.Equal(t, cli.ExitOK, h.wait(st), st.log(t))
	out := st.log(t)
	var rep struct {
		Events []struct {
			Unit  string `json:"unit"`
			Owner *struct {
				InstanceID string `json:"instance_id"`
			} `json:"owner"`
		} `json:"events"`
	}
	require.NoError(t, json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &rep), out)
	owners := map[string]string{}
	for _, e := range rep.Events {
		owners[e.Unit] = ""
		if e.Owner != nil {
			owners[e.Unit] = e.Owner.InstanceID
		}
	}
	return owners
}

// TestThreeInstancesTwoAccountsSurviveAKill is the trial: three
// instances against two accounts and one broker; one is SIGKILLed in the
// middle of the backfill and started again later. Every row of every unit
// lands exactly once on its account's topic, the survivors say which units
// they took over and from where, and status shows the owners.
func TestThreeInstancesTwoAccountsSurviveAKill(t *testing.T) {
	events := []string{"Message-Sent", "Conversation-Created", "CSAT-Score"}
	to := rangeEnd()
	from := to.Add(-4 * time.Hour)
	h := newAccountHarness(t, freshchattest.Options{
		RowsPerHour: 6000,
		// Reports take a few polls: the kill lands while units wait for one.
		Faults: freshchattest.Faults{PendingPolls: 3, LinksPerReport: 2},
	}, events, map[string]string{
		"FRESHCHAT_WINDOW": "15m",
		// 1,500 rows a report at 6,000 an hour: adaptive windows stay 15
		// minutes long, so the backfill lasts long enough to kill b in it.
		"FRESHCHAT_TARGET_REPORT_ROWS": "1500",
		"KAFKA_TRANSACTIONAL_ID":       "e2e-group",
		"FRESHCHAT_CONCURRENCY":        "2",
	})
	args := runArgs(from, to)
	a, b, c := h.start("a", args...), h.start("b", args...), h.start("c", args...)
	for _, x := range []*connector{a, b, c} {
		require.Eventually(t, func() bool { return strings.Contains(x.log(t), "units assigned to this instance") },
			time.Minute, 50*time.Millisecond, "%s got units", x.name)
	}
	h.waitForCheckpoints(len(h.units()), a)

	before := h.owners(t, "status-before")
	t.Logf("owners before the kill: %v", before)
	require.ElementsMatch(t, h.units(), keys(before))
	var ofB []string
	for u, o := range before {
		assert.Contains(t, []string{"a", "b", "c"}, o, "unit %s has an owner", u)
		if o == "b" {
			ofB = append(ofB, u)
		}
	}
	require.NotEmpty(t, ofB, "b owns units")

	require.True(t, b.kill(t), "b was still running when killed")
	t.Logf("b killed with units %v", ofB)
	// Within the session timeout (6 s here) the survivors take b's units
	// over, each saying from which position.
	takeover := regexp.MustCompile(`msg="unit taken over" account=(\S+) event=(\S+) from=`)
	require.Eventually(t, func() bool {
		taken := 0
		for _, u := range ofB {
			for _, x := range []*connector{a, c} {
				if log := x.log(t); strings.Contains(log, "units assigned to this instance") {
					for _, m := range takeover.FindAllStringSubmatch(log, -1) {
						if m[1]+"/"+m[2] == u {
							taken++
						}
					}
				}
			}
		}
		return taken >= len(ofB)
	}, time.Minute, 100*time.Millisecond, "b's units %v taken over by a and c", ofB)

	// b comes back under its instance ID and takes its share again.
	b2 := h.startAs("b-again", "b", args...)
	require.Eventually(t, func() bool { return strings.Contains(b2.log(t), "units assigned to this instance") },
		time.Minute, 50*time.Millisecond, "the restarted b got units")
	// Instances stay in the group until every unit is done, so status
	// shows the owners again, b among them. A status read while the group
	// still rebalances around b (cooperative: two rounds) shows no owners
	// yet, so it is read until it settles.
	var after map[string]string
	reads := 0
	assert.Eventually(t, func() bool {
		reads++
		after = h.owners(t, fmt.Sprintf("status-after-%d", reads))
		return slices.Contains(values(after), "b")
	}, 30*time.Second, 200*time.Millisecond, "b owns units again")
	t.Logf("owners after the restart (read %d times): %v", reads, after)
	for _, x := range []*connector{a, b2, c} {
		require.Equal(t, cli.ExitOK, h.wait(x), "exit code of %s", x.name)
	}
	for u, o := range h.owners(t, "status-end") {
		assert.Empty(t, o, "unit %s has no owner once every instance is gone", u)
	}

	for _, ev := range events {
		h.assertExactlyOnceIn(h.sim, accountTopic("acme", ev), ev, from, to)
		h.assertExactlyOnceIn(h.globex, accountTopic("globex", ev), ev, from, to)
	}
	last := map[string]bool{}
	for _, p := range h.checkpoints() {
		last[p.Key()] = p.Done && p.WindowEnd.Equal(to)
	}
	for _, u := range h.units() {
		assert.True(t, last[u], "unit %s finished at %s", u, to)
	}
}

// TestMismatchedInstanceIsRefused starts a second instance whose events
// differ from the running one's: it is refused with the difference named,
// exit 2, and the first goes on.
func TestMismatchedInstanceIsRefused(t *testing.T) {
	events := []string{"Message-Sent", "CSAT-Score"}
	to := rangeEnd()
	from := to.Add(-2 * time.Hour)
	h := newHarness(t, freshchattest.Options{RowsPerHour: 3000, Faults: freshchattest.Faults{PendingPolls: 20}}, events, map[string]string{
		"FRESHCHAT_WINDOW":       "30m",
		"KAFKA_TRANSACTIONAL_ID": "e2e-mismatch",
	})
	a := h.start("a", runArgs(from, to)...)
	require.Eventually(t, func() bool { return strings.Contains(a.log(t), "units assigned to this instance") },
		time.Minute, 50*time.Millisecond)

	odd := h.start("odd", append(runArgs(from, to), "--events", "Message-Sent,Agent-Activity")...)
	require.Equal(t, cli.ExitUsage, h.wait(odd), odd.log(t))
	log := odd.log(t)
	assert.Contains(t, log, "refused this instance")
	assert.Contains(t, log, "units only here: Agent-Activity; units only there: CSAT-Score")
	assert.NotContains(t, h.topics(), topic("Agent-Activity"), "the refused instance created nothing")

	h.sim.SetFaults(freshchattest.Faults{})
	require.Equal(t, cli.ExitOK, h.wait(a), "the running instance goes on")
	for _, ev := range events {
		h.assertExactlyOnce(ev, from, to)
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func values(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// topics lists the cluster's topics.
func (h *harness) topics() []string {
	h.t.Helper()
	cl, err := kgo.NewClient(h.kafka...)
	require.NoError(h.t, err)
	defer cl.Close()
	tds, err := kadm.NewClient(cl).ListTopics(h.ctx)
	require.NoError(h.t, err)
	return tds.Names()
}

// TestInstancesGivenTheSameRelativeRangeRunOne starts three instances with
// the same relative range (--from -5h --to -1h), which each resolves at its
// own instant: they run one range, the group's, and every unit ends at its
// end with every row once.
func TestInstancesGivenTheSameRelativeRangeRunOne(t *testing.T) {
	events := []string{"Message-Sent", "CSAT-Score", "Conversation-Created"}
	h := newHarness(t, freshchattest.Options{RowsPerHour: 3000, Faults: freshchattest.Faults{PendingPolls: 6}}, events, map[string]string{
		"FRESHCHAT_WINDOW": "15m",
		// 750 rows a report at 3,000 an hour: adaptive windows stay 15
		// minutes long, so the range lasts until the last instance joins.
		"FRESHCHAT_TARGET_REPORT_ROWS": "750",
		"KAFKA_TRANSACTIONAL_ID":       "e2e-relative",
	})
	var cs []*connector
	for _, id := range []string{"a", "b", "c"} {
		// Each resolves -5h later than the one before, and takes units
		// over in the middle of the range.
		c := h.start(id, "run", "--from", "-5h", "--to", "-1h")
		h.waitForCheckpoints(len(h.checkpoints())+len(events), c)
		cs = append(cs, c)
	}
	assert.Contains(t, cs[1].log(t)+cs[2].log(t), "running the group's bounded range")
	for _, c := range cs {
		require.Equal(t, cli.ExitOK, h.wait(c), "exit code of %s", c.name)
	}
	last := map[string]checkpoint.Position{}
	for _, p := range h.checkpoints() {
		last[p.Key()] = p
	}
	require.Len(t, last, len(events))
	first := last[events[0]]
	for _, ev := range events {
		p := last[ev]
		assert.True(t, p.Done && p.WindowEnd.Equal(first.WindowEnd), "%s ends at the group's end: %+v", ev, p)
		assert.True(t, p.Covered().Equal(first.Covered()), "%s starts at the group's start: %+v", ev, p)
	}
	for _, ev := range events {
		h.assertExactlyOnce(ev, first.Covered(), first.WindowEnd)
	}
}
