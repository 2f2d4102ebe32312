package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

const (
	day = 24 * time.Hour
	// maxWindow is the largest window: Freshchat refuses a report whose end
	// is more than a month after its start.
	maxWindow = 31 * day
	// retentionMonths is how far back Freshchat serves raw reports.
	retentionMonths = 15
	// eventPlaceholder is replaced by the lower-case event name in topics.
	eventPlaceholder = "{event}"
	maxTopicLen      = 249
	// maxRequestsPerMinute bounds freshchat.requests_per_minute.
	maxRequestsPerMinute = 1_000_000
)

var (
	errURLCredentials = errors.New("must not contain credentials")
	errNotDuration    = errors.New("not a duration (examples: 90s, 15m, 2h, 1d, 2w)")
	errNotTime        = errors.New("not a time (use RFC3339 like 2025-01-31T00:00:00Z, a date like 2025-01-31 (UTC midnight), a past offset like -72h, -7d or -2w, or now)")
)

// parseDuration parses a Go duration that may also use the units d (24h) and
// w (7d), such as 1d, 1d12h or -2w.
func parseDuration(s string) (time.Duration, error) {
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "0" {
		return 0, nil
	}
	if s == "" {
		return 0, errNotDuration
	}
	isNum := func(b byte) bool { return b >= '0' && b <= '9' || b == '.' }
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && isNum(s[i]) {
			i++
		}
		j := i
		for j < len(s) && !isNum(s[j]) {
			j++
		}
		num, unit := s[:i], s[i:j]
		s = s[j:]
		if num == "" || num == "." {
			return 0, errNotDuration
		}
		var d time.Duration
		switch unit {
		case "d", "w":
			f, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, errNotDuration
			}
			per := day
			if unit == "w" {
				per = 7 * day
			}
			v := f * float64(per)
			if v >= math.MaxInt64/2 {
				return 0, errors.New("duration too large")
			}
			d = time.Duration(v)
		default:
			var err error
			if d, err = time.ParseDuration(num + unit); err != nil {
				return 0, errNotDuration
			}
		}
		if total += d; total < 0 {
			return 0, errors.New("duration too large")
		}
	}
	if neg {
		total = -total
	}
	return total, nil
}

// formatDuration prints whole days as "31d (744h)" and anything else as Go does.
func formatDuration(d time.Duration) string {
	if d >= day && d%day == 0 {
		return fmt.Sprintf("%dd (%dh)", d/day, d/time.Hour)
	}
	return d.String()
}

// parseTime parses an RFC3339 time, a date (UTC midnight), "now", or a signed
// offset from now such as -72h, -7d or -2w. The result is in UTC.
func parseTime(s string, now time.Time) (time.Time, error) {
	if strings.EqualFold(s, "now") {
		return now, nil
	}
	if s != "" && (s[0] == '-' || s[0] == '+') {
		d, err := parseDuration(s)
		if err != nil {
			return time.Time{}, errNotTime
		}
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if _, err := parseDuration(s); err == nil {
		return time.Time{}, fmt.Errorf("a relative time needs a sign: -%s means %s ago", s, s)
	}
	return time.Time{}, errNotTime
}

// earliest returns the earliest time Freshchat serves raw reports for.
func earliest(now time.Time) time.Time { return now.AddDate(0, -retentionMonths, 0) }

// checkPast checks that t lies between the retention limit and now.
func checkPast(t, now time.Time) error {
	if min := earliest(now); t.Before(min) {
		return fmt.Errorf("%s is earlier than the earliest allowed %s (Freshchat keeps raw reports for %d months)",
			t.Format(time.RFC3339), min.Format(time.RFC3339), retentionMonths)
	}
	if t.After(now) {
		return fmt.Errorf("%s is in the future (now is %s)", t.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	return nil
}

// parseSize parses a byte count: a plain integer, or an integer with one of
// the units B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024).
func parseSize(s string) (int64, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	bad := errors.New("not a size (examples: 16777216, 16MiB, 8MB, 512KiB)")
	if i == 0 {
		return 0, bad
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, bad
	}
	units := map[string]int64{
		"": 1, "b": 1,
		"kb": 1e3, "mb": 1e6, "gb": 1e9,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30,
	}
	mult, ok := units[strings.ToLower(strings.TrimSpace(s[i:]))]
	if !ok {
		return 0, bad
	}
	if n > math.MaxInt64/mult {
		return 0, errors.New("size too large")
	}
	return n * mult, nil
}

// parseHTTPURL parses an absolute http or https URL with a host, without
// credentials, query or fragment, and strips a trailing slash from its path.
func parseHTTPURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, errors.New("not a URL")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, errors.New("must be an absolute URL starting with https:// (or http://)")
	}
	if u.Hostname() == "" {
		return nil, errors.New("has no host")
	}
	if u.User != nil {
		return nil, errURLCredentials
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, errors.New("must not have a query or fragment")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u, nil
}

// parseAPIURL is parseHTTPURL that also appends /v2 when there is no path.
func parseAPIURL(s string) (*url.URL, error) {
	u, err := parseHTTPURL(s)
	if err != nil {
		return nil, err
	}
	if u.Path == "" {
		u.Path, u.RawPath = "/v2", ""
	}
	return u, nil
}

// showURL prints a URL value for a problem, hiding any password in it and
// every value of its query (a token pasted as ?token=... is a secret too).
func showURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return strconv.Quote(maskQuery(u.Redacted()))
	}
	if strings.Contains(s, "@") {
		return redacted
	}
	return strconv.Quote(maskQuery(s))
}

// maskQuery replaces every value of the query of the URL s with xxxxx, as
// url.URL.Redacted does the password: ?token=abc&x=1 becomes
// ?token=xxxxx&x=xxxxx, and a bare ?abc becomes ?xxxxx. A fragment may
// carry a token as well (#access_token=...): it is masked whole.
func maskQuery(s string) string {
	const mask = "xxxxx"
	s, frag, hasFrag := strings.Cut(s, "#")
	base, query, hasQuery := strings.Cut(s, "?")
	if !hasQuery && !hasFrag {
		return s
	}
	var b strings.Builder
	b.WriteString(base)
	if hasQuery {
		b.WriteByte('?')
		for i, part := range strings.Split(query, "&") {
			if i > 0 {
				b.WriteByte('&')
			}
			key, value, hasValue := strings.Cut(part, "=")
			switch {
			case hasValue && value != "":
				b.WriteString(key + "=" + mask)
			case hasValue:
				b.WriteString(key + "=")
			case part != "":
				b.WriteString(mask) // a bare ?value
			}
		}
	}
	if hasFrag {
		b.WriteByte('#')
		if frag != "" {
			b.WriteString(mask)
		}
	}
	return b.String()
}

// splitList splits a comma-separated list, trimming items and dropping
// empty ones.
func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// parseBrokers parses a comma-separated list of host:port addresses,
// dropping duplicates.
func parseBrokers(s string) ([]string, error) {
	var out, bad []string
	seen := map[string]bool{}
	for _, b := range splitList(s) {
		host, port, err := net.SplitHostPort(b)
		n, perr := strconv.Atoi(port)
		if err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			bad = append(bad, strconv.Quote(b))
			continue
		}
		if !seen[b] {
			seen[b] = true
			out = append(out, b)
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("not host:port: %s", strings.Join(bad, ", "))
	}
	if len(out) == 0 {
		return nil, errors.New("no brokers listed")
	}
	return out, nil
}

// maxEventName is the longest event name accepted.
const maxEventName = 64

// isKnownEvent reports whether name is one of AllEvents, spelled canonically.
func isKnownEvent(name string) bool {
	for _, e := range AllEvents {
		if e == name {
			return true
		}
	}
	return false
}

// parseEventName returns the canonical spelling of a known event (matched
// case-insensitively), or name as written when it looks like an event name:
// 1 to 64 letters, digits, '-' or '_'.
func parseEventName(name string) (string, bool) {
	for _, e := range AllEvents {
		if strings.EqualFold(name, e) {
			return e, true
		}
	}
	if name == "" || len(name) > maxEventName {
		return "", false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return "", false
		}
	}
	return name, true
}

// errEventNames words the refusal of invalid event names.
func errEventNames(bad []string) error {
	word := "an invalid event name"
	if len(bad) > 1 {
		word = "invalid event names"
	}
	return fmt.Errorf("%s %s: an event name has 1 to %d letters, digits, '-' or '_'",
		word, strings.Join(bad, ", "), maxEventName)
}

// parseEvents parses a comma-separated list of event names: the known
// events, matched case-insensitively to AllEvents and spelled canonically;
// "all" for every known event; and any other valid event name (see
// parseEventName), kept as written. Names that differ only in case are one
// event (they share a topic): the first spelling is kept, as is the order of
// first mention.
func parseEvents(s string) ([]string, error) {
	var out, bad []string
	seen := map[string]bool{}
	add := func(e string) {
		if k := strings.ToLower(e); !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	for _, name := range splitList(s) {
		if strings.EqualFold(name, "all") {
			for _, e := range AllEvents {
				add(e)
			}
			continue
		}
		e, ok := parseEventName(name)
		if !ok {
			bad = append(bad, strconv.Quote(name))
			continue
		}
		add(e)
	}
	if len(bad) > 0 {
		return nil, errEventNames(bad)
	}
	if len(out) == 0 {
		return nil, errors.New("no events listed")
	}
	return out, nil
}

// parsePolicy parses a dead-letter policy, case-insensitively.
func parsePolicy(s string) (Policy, error) {
	switch p := Policy(strings.ToLower(strings.TrimSpace(s))); p {
	case PolicyDLQ, PolicyFail:
		return p, nil
	}
	return "", fmt.Errorf("policy %q: must be %s or %s", s, PolicyDLQ, PolicyFail)
}

// parseOverrides parses a comma-separated list of Event=policy pairs.
// Event names are read as in the events setting; an event given twice, or
// "all", is a problem.
func parseOverrides(s string) (map[string]Policy, error) {
	out := map[string]Policy{}
	first := map[string]string{} // lower-case name -> spelling of its first mention
	var problems, bad []string
	for _, item := range splitList(s) {
		name, pol, found := strings.Cut(item, "=")
		name = strings.TrimSpace(name)
		if !found {
			problems = append(problems, fmt.Sprintf("%q is not Event=policy", item))
			continue
		}
		if strings.EqualFold(name, "all") {
			problems = append(problems, "\"all\" is not an event here: dead_letter.policy sets the policy of every event")
			continue
		}
		e, ok := parseEventName(name)
		if !ok {
			bad = append(bad, strconv.Quote(name))
			continue
		}
		p, err := parsePolicy(pol)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", e, err))
			continue
		}
		if prev, dup := first[strings.ToLower(e)]; dup {
			problems = append(problems, fmt.Sprintf("event %s is given twice (first as %s)", e, prev))
			continue
		}
		first[strings.ToLower(e)] = e
		out[e] = p
	}
	if len(bad) > 0 {
		problems = append(problems, errEventNames(bad).Error())
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// checkTopic checks a Kafka topic name.
func checkTopic(name string) error {
	switch {
	case name == "":
		return errors.New("topic name is empty")
	case name == "." || name == "..":
		return fmt.Errorf("%q is not a valid topic name", name)
	case len(name) > maxTopicLen:
		return fmt.Errorf("topic name %q is longer than %d characters", name, maxTopicLen)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("topic name %q has %q: only letters, digits, '.', '_' and '-' are allowed", name, r)
		}
	}
	return nil
}

// checkTopicTemplate checks that a template contains {event} and yields a
// valid topic name for every event.
func checkTopicTemplate(tmpl string) error {
	if !strings.Contains(tmpl, eventPlaceholder) {
		return fmt.Errorf("must contain %s", eventPlaceholder)
	}
	k := Kafka{TopicTemplate: tmpl}
	for _, e := range AllEvents {
		if err := checkTopic(k.Topic(e)); err != nil {
			return fmt.Errorf("for event %s: %w", e, err)
		}
	}
	return nil
}

// Bounds of group.session_timeout: the brokers refuse a session timeout
// below their group.min.session.timeout.ms (6s by default).
const (
	minSessionTimeout = 6 * time.Second
	maxSessionTimeout = 5 * time.Minute
)

// maxInstanceID is the longest group instance ID Kafka accepts.
const maxInstanceID = 249

// checkInstanceID checks a group instance ID as the brokers do (Kafka's
// JoinGroupRequest.validateGroupInstanceId): 1 to 249 letters, digits, '.',
// '_' and '-', and neither "." nor "..".
func checkInstanceID(v string) error {
	switch {
	case v == "." || v == "..":
		return fmt.Errorf("%q is not a valid ID", v)
	case len(v) > maxInstanceID:
		return fmt.Errorf("must be at most %d characters", maxInstanceID)
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("has %q: only letters, digits, '.', '_' and '-' are allowed", r)
		}
	}
	return nil
}

// maxClientID bounds kafka.client_id: Kafka carries it as a string of at
// most 32767 bytes; a few hundred is plenty.
const maxClientID = 255

// checkClientID checks a Kafka client ID.
func checkClientID(v string) error {
	switch {
	case !utf8.ValidString(v):
		return errors.New("must be valid UTF-8")
	case strings.ContainsFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return errors.New("must not contain whitespace or control characters")
	case len(v) > maxClientID:
		return fmt.Errorf("must be at most %d bytes", maxClientID)
	}
	return nil
}

// topicConfigName is what a Kafka topic config name looks like
// (retention.ms, min.insync.replicas, message.timestamp.type, ...).
func isTopicConfigName(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	})
}

// parseTopicConfig parses comma-separated name=value topic configs. A part
// without "=" continues the previous value, so that list values such as
// cleanup.policy=delete,compact survive the comma-joined form the YAML
// mapping and the environment share. Names must look like Kafka config
// names, values must not be empty, and no name may be given twice.
func parseTopicConfig(s string) (map[string]string, error) {
	out := map[string]string{}
	var order []string
	var problems []string
	for _, item := range splitList(s) {
		name, value, found := strings.Cut(item, "=")
		if !found {
			if len(order) == 0 {
				problems = append(problems, fmt.Sprintf("%q is not name=value", item))
				continue
			}
			out[order[len(order)-1]] += "," + item
			continue
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		switch _, dup := out[name]; {
		case !isTopicConfigName(name):
			problems = append(problems, fmt.Sprintf("%q is not a topic config name (such as retention.ms)", name))
		case dup:
			problems = append(problems, fmt.Sprintf("%s is given twice", name))
		default:
			out[name] = value
			order = append(order, name)
		}
	}
	for _, name := range order {
		v := out[name]
		switch {
		case v == "":
			problems = append(problems, fmt.Sprintf("%s has an empty value", name))
		case strings.ContainsFunc(v, unicode.IsControl):
			problems = append(problems, fmt.Sprintf("%s: the value must not contain control characters", name))
		case name == "cleanup.policy" && slices.ContainsFunc(strings.Split(v, ","), func(p string) bool { return strings.EqualFold(p, "compact") }):
			problems = append(problems, "cleanup.policy=compact would keep only the last record of each key (interaction_id) and refuse records without one: the connector's topics must keep every record")
		}
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
