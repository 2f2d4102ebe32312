package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Overrides are the raw values of the command-line flags; "" means the flag
// was not given. They take precedence over every other source.
type Overrides struct {
	// From and To bound the run (--from, --to): RFC3339, a date, "now" or a
	// past offset such as -7d. From alone runs up to now.
	From, To string
	// Events replaces the events setting (--events), comma-separated.
	Events string
}

// LoadOptions says where Load finds the configuration and what it requires.
type LoadOptions struct {
	// Path of the YAML file; "" means no file.
	Path string
	// Env looks up environment variables; nil means os.LookupEnv.
	Env func(string) (string, bool)
	// Environ lists the environment as key=value, to find variables of
	// accounts that are not listed (FRESHCHAT_ACCOUNT_<NAME>_<KEY>); nil
	// means os.Environ when Env is nil, else no such check.
	Environ func() []string
	// Hostname is the default of group.instance_id; nil means os.Hostname.
	Hostname func() (string, error)
	// Now is the clock relative times are resolved against; nil means time.Now.
	Now       func() time.Time
	Overrides Overrides
	// RequireBrokers makes an empty kafka.brokers a problem.
	RequireBrokers bool
	// RequireAPI makes a missing freshchat.api_url or API token a problem,
	// or with accounts, an account without its API URL or token.
	RequireAPI bool
}

// Error lists every problem Load found, one per line.
type Error struct {
	Problems []string
}

func (e *Error) Error() string { return strings.Join(e.Problems, "\n") }

// rawValue is a setting's text and where it came from.
type rawValue struct {
	value, source string
}

type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// Load reads the configuration from the defaults, the YAML file, the
// environment and the overrides, in increasing precedence, and validates it.
// On failure it returns a nil Config and an *Error listing every problem.
func Load(opts LoadOptions) (*Config, error) {
	env, environ := opts.Env, opts.Environ
	if env == nil {
		env = os.LookupEnv
		if environ == nil {
			environ = os.Environ
		}
	}
	now := time.Now().UTC()
	if opts.Now != nil {
		now = opts.Now().UTC()
	}

	var p problems
	raw := map[string]rawValue{}
	fileOK := true
	var file fileLayer
	if opts.Path != "" {
		file, fileOK = readYAML(opts.Path, &p)
		merge(raw, file.values, "the config file", &p)
	}
	layer := map[string]rawValue{}
	for _, s := range settings {
		if v, ok := env(s.Env); ok && strings.TrimSpace(v) != "" {
			layer[s.Key] = rawValue{strings.TrimSpace(v), "the environment"}
		}
	}
	merge(raw, layer, "the environment", &p)
	accounts, accountsGiven := accountsFromEnv(file.accounts, file.hasAccounts, env, environ, &p)
	overrideEvents := strings.TrimSpace(opts.Overrides.Events) != ""
	if overrideEvents {
		merge(raw, map[string]rawValue{"events": {strings.TrimSpace(opts.Overrides.Events), "--events"}}, "the flags", &p)
	}

	cfg := Defaults(now)
	failed := map[string]bool{}
	for _, s := range settings {
		rv, ok := raw[s.Key]
		if !ok {
			continue
		}
		if err := s.parse(&cfg, rv.value, now); err != nil {
			failed[s.Key] = true
			p.add("%s: bad value %s from %s: %v", s.name(), s.display(rv.value), rv.source, err)
		}
	}
	if _, ok := raw["group.instance_id"]; !ok {
		instanceFromHost(&cfg, opts.Hostname, failed, &p)
	}
	awsFromEnvironment(&cfg, env, failed, &p)
	buildAccounts(&cfg, accounts, accountsGiven, raw, overrideEvents, now, failed, &p)
	if fileOK {
		checkRequired(&cfg, opts, accountsGiven, failed, &p)
	}
	checkTogether(&cfg, accountsGiven, failed, &p)
	cfg.Bounded = loadRange(opts.Overrides, now, &p)

	if len(p) > 0 {
		return nil, &Error{Problems: p}
	}
	return &cfg, nil
}

// merge copies a layer over dst. A layer that sets any setting of a group
// replaces the whole group, so that an API token from the environment wins
// over a token file named in the YAML file.
func merge(dst, layer map[string]rawValue, where string, p *problems) {
	set := map[string][]string{}
	for _, s := range settings {
		if _, ok := layer[s.Key]; ok && s.group != "" {
			set[s.group] = append(set[s.group], s.name())
		}
	}
	for group, names := range set {
		if len(names) > 1 {
			p.add("%s are both set in %s: set only one", strings.Join(names, " and "), where)
		}
		for _, s := range settings {
			if s.group == group {
				delete(dst, s.Key)
			}
		}
	}
	for k, v := range layer {
		dst[k] = v
	}
}

// instanceFromHost defaults group.instance_id to the host name.
func instanceFromHost(c *Config, hostname func() (string, error), failed map[string]bool, p *problems) {
	if hostname == nil {
		hostname = os.Hostname
	}
	s := lookup("group.instance_id")
	h, err := hostname()
	switch {
	case err == nil && h == "":
		err = errors.New("it is empty")
	case err == nil:
		err = s.parse(c, h, time.Time{})
	}
	if err != nil {
		failed[s.Key] = true
		p.add("%s: the default, the host name %q, cannot be used: %v: set an ID unique to this instance, such as the pod name",
			s.name(), h, err)
	}
}

// checkRequired reports required settings that are not set. With accounts,
// the API URL and token are the accounts'.
func checkRequired(c *Config, opts LoadOptions, accounts bool, failed map[string]bool, p *problems) {
	if opts.RequireAPI && accounts {
		checkAccountsRequired(c, failed, p)
	}
	if opts.RequireAPI && !accounts {
		if c.Freshchat.APIURL == nil && !failed["freshchat.api_url"] {
			p.add("%s: required: set it to the account's API URL, such as https://<domain>.freshchat.com/v2",
				lookup("freshchat.api_url").name())
		}
		if c.Freshchat.APIToken == "" && !failed["freshchat.api_token"] && !failed["freshchat.api_token_file"] {
			p.add("freshchat.api_token: required: set %s, or %s to a file holding the token (config keys freshchat.api_token, freshchat.api_token_file)",
				lookup("freshchat.api_token").Env, lookup("freshchat.api_token_file").Env)
		}
	}
	if opts.RequireBrokers && len(c.Kafka.Brokers) == 0 && !failed["kafka.brokers"] {
		p.add("%s: required: list the Kafka brokers as host:port, comma-separated", lookup("kafka.brokers").name())
	}
}

// checkTogether reports settings that are valid alone but not together.
// Settings that failed to parse are left out, to report each mistake once.
// accounts tells whether the accounts were listed.
func checkTogether(c *Config, accounts bool, failed map[string]bool, p *problems) {
	notLonger := func(shortKey string, short time.Duration, longKey string, long time.Duration) {
		if failed[shortKey] || failed[longKey] || short <= long {
			return
		}
		p.add("%s: %s is longer than %s %s", lookup(shortKey).name(), short, lookup(longKey).name(), long)
	}
	notLonger("freshchat.poll_interval", c.Freshchat.PollInterval, "freshchat.poll_max_interval", c.Freshchat.PollMaxInterval)
	notLonger("freshchat.retry_base", c.Freshchat.RetryBase, "freshchat.retry_max", c.Freshchat.RetryMax)
	notLonger("min_window", c.MinWindow, "window", c.Window)
	for _, a := range c.Accounts {
		// An account's window that is the top-level one was checked above.
		if accounts && a.Window != c.Window && !failed["min_window"] && !failed[accountLabel(a.Name)+".window"] && c.MinWindow > a.Window {
			p.add("%s: %s is longer than %s %s", lookup("min_window").name(), c.MinWindow, accountKeyName(a.Name, "window"), a.Window)
		}
	}
	if c.Metrics.StuckAfter > 0 && !failed["metrics.stuck_after"] && !failed["freshchat.pending_timeout"] && c.Metrics.StuckAfter <= c.Freshchat.PendingTimeout {
		p.add("%s: %s is not longer than %s %s: a report still pending would count as stuck", lookup("metrics.stuck_after").name(), c.Metrics.StuckAfter, lookup("freshchat.pending_timeout").name(), c.Freshchat.PendingTimeout)
	}

	checkTopics(c, accounts, failed, p)
	checkOverrides(c, accounts, failed, p)
	checkSecurity(c, failed, p)
}

// checkTopics reports topics that are invalid or shared: the topic of an
// event the connector does not know (its name is not checked by the
// template), a topic of two accounts, and a checkpoint or dead-letter topic
// that is also an event's. accounts tells whether the accounts were listed;
// without, problems name the top-level settings as before accounts existed.
func checkTopics(c *Config, accounts bool, failed map[string]bool, p *problems) {
	dlq, checkpoints := !failed["dead_letter.topic"], !failed["kafka.checkpoint_topic"]
	if dlq && checkpoints && c.DeadLetter.Topic == c.Kafka.CheckpointTopic {
		p.add("%s: %q is also the checkpoint topic (%s)", lookup("dead_letter.topic").name(), c.DeadLetter.Topic, lookup("kafka.checkpoint_topic").name())
	}
	type use struct{ account, event string }
	owner := map[string]use{} // topic -> its first account and event
	clashed := map[[2]string]bool{}
	for _, a := range c.Accounts {
		label := accountLabel(a.Name)
		templateKey, eventsKey := "kafka.topic_template", "events"
		if accounts {
			templateKey, eventsKey = label+".topic_template", label+".events"
		}
		if failed[templateKey] {
			continue
		}
		events, unknown := AllEvents, unknownEvents(a.Events)
		if !failed[eventsKey] {
			events = append(slices.Clone(AllEvents), unknown...)
		}
		for _, e := range events {
			err := checkTopic(a.Topic(e))
			if err == nil || !accounts && isKnownEvent(e) {
				continue // a known event's topic was checked with the template
			}
			if !accounts {
				p.add("%s: for event %s: %v", lookup("events").name(), e, err)
				continue
			}
			// The template was checked with the name "default": the
			// account's own name may make it too long.
			p.add("%s: for event %s: %v", accountKeyName(a.Name, "topic_template"), e, err)
			break
		}
		for _, e := range events {
			t := a.Topic(e)
			prev, dup := owner[t]
			if !dup {
				owner[t] = use{a.Name, e}
				continue
			}
			if pair := [2]string{prev.account, a.Name}; prev.account != a.Name && !clashed[pair] {
				clashed[pair] = true
				what := "event " + e
				if !strings.EqualFold(prev.event, e) {
					what = fmt.Sprintf("events %s and %s", prev.event, e)
				}
				p.add("%s and %s would both write %s to topic %q: give them distinct topic templates, with {account} in "+
					"topic_template (or in kafka.topic_template)", accountLabel(prev.account), label, what, t)
			}
		}
	}
	of := func(u use) string {
		if !accounts {
			return ""
		}
		return " of " + accountLabel(u.account)
	}
	if u, ok := owner[c.Kafka.CheckpointTopic]; ok && checkpoints {
		p.add("%s: %q is also the topic of event %s%s", lookup("kafka.checkpoint_topic").name(), c.Kafka.CheckpointTopic, u.event, of(u))
	}
	if u, ok := owner[c.DeadLetter.Topic]; ok && dlq {
		p.add("%s: %q is also the topic of event %s%s", lookup("dead_letter.topic").name(), c.DeadLetter.Topic, u.event, of(u))
	}
}

// checkOverrides reports a dead-letter override for an event that is neither
// known nor extracted by any account: most likely a misspelt event name.
func checkOverrides(c *Config, accounts bool, failed map[string]bool, p *problems) {
	if failed["dead_letter.overrides"] {
		return
	}
	var extracted []string
	for _, a := range c.Accounts {
		eventsKey := "events"
		if accounts {
			eventsKey = accountLabel(a.Name) + ".events"
		}
		if failed[eventsKey] {
			return
		}
		extracted = append(extracted, a.Events...)
	}
	var stray []string
	for e := range c.DeadLetter.Overrides {
		if isKnownEvent(e) || slices.ContainsFunc(extracted, func(x string) bool { return strings.EqualFold(x, e) }) {
			continue
		}
		stray = append(stray, e)
	}
	if len(stray) > 0 {
		slices.Sort(stray)
		p.add("%s: override for %s, which is neither a known event nor listed in events (a misspelt name?)",
			lookup("dead_letter.overrides").name(), strings.Join(stray, ", "))
	}
}

// loadRange parses the --from and --to flags; nil means live mode.
func loadRange(o Overrides, now time.Time, p *problems) *Range {
	from, to := strings.TrimSpace(o.From), strings.TrimSpace(o.To)
	if from == "" && to == "" {
		return nil
	}
	parse := func(flag, v string) (time.Time, bool) {
		t, err := parseTime(v, now)
		if err == nil {
			err = checkPast(t, now)
		}
		if err != nil {
			p.add("%s %q: %v", flag, v, err)
			return time.Time{}, false
		}
		return t, true
	}
	r := Range{To: now}
	fromOK, toOK := true, true
	if from != "" {
		r.From, fromOK = parse("--from", from)
	}
	if to != "" {
		r.To, toOK = parse("--to", to)
	}
	if !fromOK || !toOK {
		return nil
	}
	if from != "" && !r.From.Before(r.To) {
		p.add("--from %s must be before --to %s", r.From.Format(time.RFC3339), r.To.Format(time.RFC3339))
		return nil
	}
	return &r
}

// lookup returns the setting with the given key; the key must exist.
func lookup(key string) Setting {
	s, ok := findSetting(key)
	if !ok {
		panic("config: no setting " + key)
	}
	return s
}

// fileLayer is what the YAML file sets.
type fileLayer struct {
	values   map[string]rawValue // by setting
	accounts []rawAccount        // the accounts listed, without those that have no name
	// hasAccounts tells that accounts is set, even to something invalid;
	// an empty list counts as not set.
	hasAccounts bool
}

// readYAML reads the YAML file into raw values keyed by setting and the
// accounts it lists. ok is false when the file could not be read or parsed
// at all.
func readYAML(path string, p *problems) (file fileLayer, ok bool) {
	layer := map[string]rawValue{}
	file.values = layer
	data, err := os.ReadFile(path)
	if err != nil {
		p.add("config file: %v", err)
		return file, false
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	switch err := dec.Decode(&doc); {
	case errors.Is(err, io.EOF):
		return file, true
	case err != nil:
		p.add("%s: invalid YAML: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
		return file, false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		p.add("%s: only one YAML document is allowed", path)
		return file, false
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if isNull(root) {
		return file, true
	}
	if root.Kind != yaml.MappingNode {
		p.add("%s line %d: the top level must be a mapping of settings", path, root.Line)
		return file, false
	}
	walkYAML(path, root, "", &file, p)
	return file, true
}

// walkYAML collects the settings of a mapping whose keys lie under prefix,
// reporting unknown and duplicate keys.
func walkYAML(path string, m *yaml.Node, prefix string, file *fileLayer, p *problems) {
	layer := file.values
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], deref(m.Content[i+1])
		key := k.Value
		if prefix != "" {
			key = prefix + "." + k.Value
		}
		where := fmt.Sprintf("%s line %d", path, k.Line)
		if first, dup := seen[k.Value]; dup {
			p.add("%s: duplicate key %q (first at line %d)", where, key, first)
			continue
		}
		seen[k.Value] = k.Line
		s, isSetting := findSetting(key)
		switch {
		case key == "accounts":
			file.accounts, file.hasAccounts = readAccountsYAML(path, k, v, p)
		case isSetting:
			if isNull(v) {
				continue
			}
			val, ok := yamlValue(v, s.list, s.mapping)
			if !ok {
				want := "a single value"
				switch {
				case s.mapping:
					want = "a single value, a list of values or a mapping of single values"
				case s.list:
					want = "a single value or a list of values"
				}
				p.add("%s: %s must be %s", where, key, want)
				continue
			}
			if val = strings.TrimSpace(val); val != "" {
				layer[s.Key] = rawValue{val, fmt.Sprintf("%s line %d", path, v.Line)}
			}
		case len(children(key)) > 0:
			if isNull(v) {
				continue
			}
			if v.Kind != yaml.MappingNode {
				p.add("%s: %s must be a mapping with the keys %s", where, key, strings.Join(children(key), ", "))
				continue
			}
			walkYAML(path, v, key, file, p)
		default:
			known := children(prefix)
			if prefix == "" {
				known = slices.Insert(known, 1, "accounts")
			}
			p.add("%s: unknown key %q (known keys%s: %s)", where, key, under(prefix), strings.Join(known, ", "))
		}
	}
}

func under(prefix string) string {
	if prefix == "" {
		return ""
	}
	return " under " + prefix
}

// yamlValue returns the text of a scalar, of a list of scalars joined with
// commas when list is true, or of a mapping of scalars as key=value pairs
// joined with commas when mapping is true.
func yamlValue(v *yaml.Node, list, mapping bool) (string, bool) {
	switch {
	case v.Kind == yaml.ScalarNode:
		return v.Value, true
	case v.Kind == yaml.MappingNode && mapping:
		items := make([]string, 0, len(v.Content)/2)
		for i := 0; i+1 < len(v.Content); i += 2 {
			k, val := deref(v.Content[i]), deref(v.Content[i+1])
			if k.Kind != yaml.ScalarNode || val.Kind != yaml.ScalarNode {
				return "", false
			}
			items = append(items, k.Value+"="+val.Value)
		}
		return strings.Join(items, ","), true
	case v.Kind == yaml.SequenceNode && list:
		items := make([]string, 0, len(v.Content))
		for _, it := range v.Content {
			it = deref(it)
			if it.Kind != yaml.ScalarNode {
				return "", false
			}
			items = append(items, it.Value)
		}
		return strings.Join(items, ","), true
	}
	return "", false
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func findSetting(key string) (Setting, bool) {
	for _, s := range settings {
		if s.Key == key {
			return s, true
		}
	}
	return Setting{}, false
}

// children returns the names directly under a section ("" is the top level),
// in declaration order.
func children(section string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range settings {
		rest, ok := s.Key, section == ""
		if !ok {
			rest, ok = strings.CutPrefix(s.Key, section+".")
		}
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(rest, ".")
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out
}

// MetricsAddr returns metrics.addr as Load would read it from the same
// file and environment ("" when the server is off), reading and checking no
// other setting: a probe of the metrics server (connector healthcheck) must
// not fail because of a setting that the running connector has already
// taken, such as a token file being rewritten.
func MetricsAddr(opts LoadOptions) (string, error) {
	env := opts.Env
	if env == nil {
		env = os.LookupEnv
	}
	s := lookup("metrics.addr")
	var p problems
	rv, ok := rawValue{s.Default, "the default"}, true
	if opts.Path != "" {
		file, fileOK := readYAML(opts.Path, &p)
		if v, set := file.values[s.Key]; set {
			rv = v
		}
		ok = fileOK
	}
	if v, set := env(s.Env); set && strings.TrimSpace(v) != "" {
		rv = rawValue{strings.TrimSpace(v), "the environment"}
	}
	var c Config
	if ok {
		if err := s.parse(&c, rv.value, time.Now()); err != nil {
			p.add("%s: bad value %s from %s: %v", s.name(), s.display(rv.value), rv.source, err)
		}
	}
	if len(p) > 0 {
		return "", &Error{Problems: p}
	}
	return c.Metrics.Addr, nil
}
