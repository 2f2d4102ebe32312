package freshchattest

import (
	"hash/fnv"
	"strconv"
	"time"
)

// Every cell is a pure function of (event, created_at ms): rowCtx.reset
// derives a seed from both and each column draws from that seed.

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func stringSeed(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return mix(h.Sum64())
}

// uuid formats two random words as a version-4 UUID.
func uuid(hi, lo uint64) string {
	hi = hi&^0xf000 | 0x4000     // version 4
	lo = lo&^(0xc<<60) | 0x8<<60 // RFC 4122 variant
	var b [36]byte
	const hex = "0123456789abcdef"
	put := func(at int, v uint64, n int) {
		for i := n - 1; i >= 0; i-- {
			b[at+i] = hex[v&0xf]
			v >>= 4
		}
	}
	put(0, hi>>32, 8)
	b[8] = '-'
	put(9, hi>>16, 4)
	b[13] = '-'
	put(14, hi, 4)
	b[18] = '-'
	put(19, lo>>48, 4)
	b[23] = '-'
	put(24, lo, 12)
	return string(b[:])
}

type entity struct{ id, name string }

type agent struct {
	id, name, email string
	group           *entity
}

var (
	firstNames = []string{"Ana", "Bruno", "Chloé", "Dmitri", "Emma", "Farah", "Gustavo", "Hiroshi",
		"Ingrid", "Jamal", "Katarzyna", "Liam", "Mei", "Noah", "Olga", "Priya", "Quentin", "Rosa",
		"Søren", "Tomás", "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zoë"}
	lastNames = []string{"Silva", "Okafor", "Nguyễn", "Kowalski", "Müller", "García", "Tanaka",
		"Haddad", "Johansson", "O'Neill", "Rossi", "Dubois", "Petrov", "Chen", "Schmidt", "Patel"}
	// hostileNames are served in every ~7th row's name cells: each holds a
	// comma, double quotes, an embedded newline and non-ASCII UTF-8.
	hostileNames = []string{
		"José \"Pepe\", Müller\n日本 🚀",
		"Zoë \"Z\" O'Brien, Jr.\nΚαλημέρα 👋",
		"李小龙, \"Bruce\"\nŁódź ✓",
		"\"Ærøskøbing\", Ünal\n  Привет, мир 🎉",
	}
	groupNames   = []string{"Billing", "Sales", "Tier 1 Support", "Tier 2 Support", "Onboarding", "Returns & Refunds", "VIP", "Technical, Escalations"}
	channelNames = []string{"Billing", "Sales", "Support", "Feedback", "Product Help", "Order Status", "Account", "Partnerships", "Shipping", "Général"}
	subTypes     = []string{"intelliAssign", "rule", "api", "dsat", "channel"}
	reopenCauses = []string{"AGENT_REOPEN", "USER_MESSAGE", "CUSTOMER_DISSATISFACTION", "BOT", "FREDDY_BOT"}
	botNames     = []string{"Freddy", "Order Bot", "FAQ Bot"}
	csatComments = []string{"Great help, thanks!", "Took too long.", "The agent said \"try again\" twice", "Perfect", "Not resolved; still waiting", "Très bien 👍"}
	agentStates  = []string{"ONLINE", "AWAY", "OFFLINE", "BUSY"}
	stateReasons = []string{"lunch", "meeting", "training", "end of shift"}
	iaStates     = []string{"ACTIVE", "PAUSED", "INACTIVE"}
	assignTypes  = []string{"INTELLIASSIGN", "RULE", "MANUAL", "API"}

	labelCategories = []struct {
		entity
		subs []entity
	}{
		{pooled("label", 0, "Billing"), []entity{pooled("sublabel", 0, "Refund"), pooled("sublabel", 1, "Invoice"), pooled("sublabel", 2, "Payment failed")}},
		{pooled("label", 1, "Technical"), []entity{pooled("sublabel", 3, "Login"), pooled("sublabel", 4, "Bug report")}},
		{pooled("label", 2, "Sales"), []entity{pooled("sublabel", 5, "Pricing"), pooled("sublabel", 6, "Demo request"), pooled("sublabel", 7, "Upgrade")}},
		{pooled("label", 3, "Other"), []entity{pooled("sublabel", 8, "Spam"), pooled("sublabel", 9, "Feedback, general")}},
	}

	groups      = pool("group", groupNames)
	channels    = pool("channel", channelNames)
	bots        = pool("bot", botNames)
	csatIDs     = pool("csat", []string{"default", "post-resolution"})
	agents      = buildAgents(24)
	systemActor = entity{id: "system", name: "System"}
)

func pooled(kind string, i int, name string) entity {
	s := stringSeed(kind + strconv.Itoa(i))
	return entity{id: uuid(s, mix(s)), name: name}
}

func pool(kind string, names []string) []entity {
	out := make([]entity, len(names))
	for i, n := range names {
		out[i] = pooled(kind, i, n)
	}
	return out
}

func buildAgents(n int) []agent {
	out := make([]agent, n)
	for i := range out {
		e := pooled("agent", i, personName(stringSeed("agent-name"+strconv.Itoa(i))))
		out[i] = agent{
			id:    e.id,
			name:  e.name,
			email: "agent" + strconv.Itoa(i+1) + "@example.com",
			group: &groups[i%len(groups)],
		}
	}
	return out
}

func personName(r uint64) string {
	return firstNames[r%uint64(len(firstNames))] + " " + lastNames[(r>>20)%uint64(len(lastNames))]
}

func pick[T any](r uint64, from []T) T { return from[r%uint64(len(from))] }

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// Column draw keys: each column draws from its own stream of the row seed.
const (
	kHostile = iota + 1
	kHostileName
	kAgent
	kUnassigned
	kGroup
	kNoGroup
	kChannel
	kActorType
	kReopened
	kConv
	kConvAge
	kActorAgent
	kUser
	kUserName
	kBot
	kSubType
	kReopenCause
	kInteraction
	kOffline
	kResolveBot
	kBelongs
	kLabel
	kSubLabel
	kCSATID
	kHasResponse
	kComment
	kIssueResolved
	kCSATReopen
	kCSATValue
	kFirstResponse
	kBusinessHours
	kValue
	kFraction
	kState
	kReason
	kDuration
	kIAState
	kAssignType
	kPrevGroup
	kAssignedCount
	kHandled
	kAvgResponse
	kFirstResponseVendor
	kConvStatus
	kMessage
	kAttachment
	kAttachmentID
	kAttachmentName
	kDrift
)

// rowCtx holds the draws shared by several columns of one row, so related
// cells agree (agent_id with agent_name, conversation_id with
// interaction_raw_id, ...).
type rowCtx struct {
	d         *eventDef
	ms        int64
	seed      uint64
	hostile   string // non-empty: the name served in this row's name cells
	agent     *agent // nil: not assigned
	group     *entity
	channel   *entity
	actorType string
	reopened  bool
	convNum   uint64
}

func (c *rowCtx) rnd(k uint64) uint64 { return mix(c.seed + k*0x9E3779B97F4A7C15) }

func (c *rowCtx) reset(d *eventDef, ms int64) {
	c.d, c.ms = d, ms
	c.seed = mix(d.seed ^ mix(uint64(ms)))
	c.hostile = ""
	if c.rnd(kHostile)%7 == 0 {
		c.hostile = pick(c.rnd(kHostileName), hostileNames)
	}
	c.agent = &agents[c.rnd(kAgent)%uint64(len(agents))]
	if d.agentOptional && c.rnd(kUnassigned)%8 == 0 {
		c.agent = nil
	}
	switch {
	case c.agent == nil && d.groupFollowsAgent:
		c.group = nil
	case d.groupOptional && c.rnd(kNoGroup)%10 == 0:
		c.group = nil
	case c.agent != nil && c.rnd(kGroup)%4 != 0:
		c.group = c.agent.group
	default:
		c.group = &groups[c.rnd(kGroup)%uint64(len(groups))]
	}
	c.channel = &channels[c.rnd(kChannel)%uint64(len(channels))]
	c.actorType = ""
	if len(d.actorTypes) > 0 {
		c.actorType = pick(c.rnd(kActorType), d.actorTypes)
	}
	c.reopened = c.rnd(kReopened)%6 == 0
	c.convNum = 100_000_000 + c.rnd(kConv)%900_000_000
}

func (c *rowCtx) name(plain string) string {
	if c.hostile != "" {
		return c.hostile
	}
	return plain
}

func (c *rowCtx) userName() string { return c.name(personName(c.rnd(kUserName))) }
func (c *rowCtx) userID() string   { return uuid(c.rnd(kUser), c.rnd(kUser+1000)) }

func (c *rowCtx) actor() (id, name string) {
	switch c.actorType {
	case "AGENT":
		a := c.agent
		if a == nil {
			a = &agents[c.rnd(kActorAgent)%uint64(len(agents))]
		}
		return a.id, c.name(a.name)
	case "USER", "user":
		return c.userID(), c.userName()
	case "BOT":
		b := pick(c.rnd(kBot), bots)
		return b.id, b.name
	case "SYSTEM":
		return systemActor.id, systemActor.name
	}
	return "", ""
}

func (c *rowCtx) firstResponse() uint64 { return c.rnd(kFirstResponse) % 86_400 }
func (c *rowCtx) csatValue() uint64     { return c.rnd(kCSATValue) % 6 }
func (c *rowCtx) hasResponse() bool     { return c.rnd(kHasResponse)%3 != 0 }

func (c *rowCtx) agentState() string { return pick(c.rnd(kState), agentStates) }

type cellFunc func(c *rowCtx) string

func u(v uint64) string { return strconv.FormatUint(v, 10) }

var cellFuncs = map[string]cellFunc{
	"created_at": func(c *rowCtx) string { return time.UnixMilli(c.ms).UTC().Format(isoLayout) },

	"channel_id": func(c *rowCtx) string { return c.channel.id },
	"channel_name": func(c *rowCtx) string {
		if c.d.hostileChannel {
			return c.name(c.channel.name)
		}
		return c.channel.name
	},
	"group_id": func(c *rowCtx) string {
		if c.group == nil {
			return ""
		}
		return c.group.id
	},
	"group_name": func(c *rowCtx) string {
		if c.group == nil {
			return ""
		}
		return c.group.name
	},
	"agent_id": func(c *rowCtx) string {
		if c.agent == nil {
			return ""
		}
		return c.agent.id
	},
	"agent_name": func(c *rowCtx) string {
		if c.agent == nil {
			return ""
		}
		return c.name(c.agent.name)
	},
	"agent_email": func(c *rowCtx) string {
		if c.agent == nil {
			return ""
		}
		return c.agent.email
	},

	"reopened": func(c *rowCtx) string { return boolStr(c.reopened) },
	"reopen_cause": func(c *rowCtx) string {
		if !c.reopened {
			return ""
		}
		return pick(c.rnd(kReopenCause), reopenCauses)
	},
	"is_conv_offline": func(c *rowCtx) string { return boolStr(c.rnd(kOffline)%5 == 0) },

	"actor_type": func(c *rowCtx) string { return c.actorType },
	"actor_sub_type": func(c *rowCtx) string {
		if c.actorType != "SYSTEM" {
			return ""
		}
		return pick(c.rnd(kSubType), subTypes)
	},
	"actor_id":   func(c *rowCtx) string { id, _ := c.actor(); return id },
	"actor_name": func(c *rowCtx) string { _, n := c.actor(); return n },
	"actor_belongs_to_group": func(c *rowCtx) string {
		return boolStr(c.group != nil && c.rnd(kBelongs)%4 != 0)
	},

	"interaction_id": func(c *rowCtx) string { return uuid(c.rnd(kInteraction), c.rnd(kInteraction+1000)) },
	"interaction_raw_id": func(c *rowCtx) string {
		created := c.ms - int64(c.rnd(kConvAge)%uint64(7*24*hourMillis))
		return u(c.convNum) + "-" + strconv.FormatInt(created, 10)
	},
	"conversation_id": func(c *rowCtx) string { return uuid(mix(c.convNum), mix(c.convNum+1)) },
	"conv_url": func(c *rowCtx) string {
		return "https://simulated.freshchat.com/a/884923/inbox/2/0/conversation/" + u(c.convNum)
	},

	"resolve_type": func(c *rowCtx) string {
		switch c.actorType {
		case "AGENT":
			return "AGENT_RESOLVE"
		case "SYSTEM":
			return "AUTO_RESOLVE"
		}
		if c.rnd(kResolveBot)%2 == 0 {
			return "BOTS_RESOLVE"
		}
		return "FREDDY_BOT_RESOLVE"
	},
	"labelled_by_type": func(c *rowCtx) string {
		if c.actorType == "SYSTEM" {
			return "AUTO_RESOLVE"
		}
		return "AGENT"
	},
	"label_category_id":   func(c *rowCtx) string { return pick(c.rnd(kLabel), labelCategories).id },
	"label_category_name": func(c *rowCtx) string { return pick(c.rnd(kLabel), labelCategories).name },
	"label_sub_category_id": func(c *rowCtx) string {
		return pick(c.rnd(kSubLabel), pick(c.rnd(kLabel), labelCategories).subs).id
	},
	"label_sub_category_name": func(c *rowCtx) string {
		return pick(c.rnd(kSubLabel), pick(c.rnd(kLabel), labelCategories).subs).name
	},
	"user_name": func(c *rowCtx) string { return c.userName() },

	"csat_id":                  func(c *rowCtx) string { return pick(c.rnd(kCSATID), csatIDs).id },
	"csat_submitter_user_name": func(c *rowCtx) string { return c.userName() },
	"csat_submitter_user_id":   func(c *rowCtx) string { return c.userID() },
	"has_response":             func(c *rowCtx) string { return boolStr(c.hasResponse()) },
	"csat_response": func(c *rowCtx) string {
		if !c.hasResponse() {
			return ""
		}
		return c.name(pick(c.rnd(kComment), csatComments))
	},
	"issue_resolved": func(c *rowCtx) string { return boolStr(c.rnd(kIssueResolved)%4 != 0) },
	"csat_reopen": func(c *rowCtx) string {
		return boolStr(c.csatValue() <= 1 && c.rnd(kCSATReopen)%2 == 0)
	},
	"value": func(c *rowCtx) string { return u(c.csatValue()) },

	"total_first_response_time_in_seconds": func(c *rowCtx) string { return u(c.firstResponse()) },
	"value_in_seconds": func(c *rowCtx) string {
		switch {
		case c.d.fractionalValue:
			v := u(c.rnd(kValue) % 172_800)
			switch c.rnd(kFraction) % 4 {
			case 0:
				return v + ".5"
			case 1:
				return v + ".25"
			}
			return v
		case c.d.name == "First-Response-Time":
			t := c.firstResponse()
			return u(t - c.rnd(kBusinessHours)%(t+1))
		}
		return u(c.rnd(kValue) % 7_200)
	},

	"status": func(c *rowCtx) string { return c.agentState() },
	"status_reason": func(c *rowCtx) string {
		if c.agentState() == "ONLINE" {
			return ""
		}
		return pick(c.rnd(kReason), stateReasons)
	},
	"duration_in_seconds":  func(c *rowCtx) string { return u(c.rnd(kDuration) % 28_800) },
	"intelliassign_status": func(c *rowCtx) string { return pick(c.rnd(kIAState), iaStates) },
	"assignment_type":      func(c *rowCtx) string { return pick(c.rnd(kAssignType), assignTypes) },
	"previous_group_id": func(c *rowCtx) string {
		if c.rnd(kPrevGroup)%3 == 0 {
			return ""
		}
		return pick(c.rnd(kPrevGroup)>>8, groups).id
	},
	"assigned_count": func(c *rowCtx) string { return u(c.rnd(kAssignedCount) % 25) },
}
