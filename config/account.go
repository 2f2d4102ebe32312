package config

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// DefaultAccount names the account that the top-level settings describe
// when no accounts are listed. It is checkpoint.DefaultAccount: its topics,
// checkpoint keys and transactional IDs are those of a connector from before
// accounts existed.
const DefaultAccount = "default"

// AccountsEnv is the environment variable that lists the accounts' names,
// comma-separated; AccountEnv names the variables of each account's keys.
const AccountsEnv = "FRESHCHAT_ACCOUNTS"

const (
	// accountPlaceholder is replaced by the account's name in topics.
	accountPlaceholder = "{account}"
	// namedAccountTemplate is the topic template of an account other than
	// DefaultAccount when kafka.topic_template has no {account}.
	namedAccountTemplate = "freshchat.{account}.{event}"
	accountEnvPrefix     = "FRESHCHAT_ACCOUNT_"
	maxAccountName       = 63
)

// Account is one Freshchat account whose events the connector extracts.
type Account struct {
	// Name is 1 to 63 lower-case letters, digits, '-' or '_', starting
	// with a letter or digit; it never contains "/".
	Name string
	// APIURL is the API base, as Freshchat.APIURL.
	APIURL *url.URL
	// APIToken is the account's bearer token.
	APIToken Secret
	// APITokenFile is the file the token was read from, or "".
	APITokenFile string
	// TopicTemplate contains "{event}" and may contain "{account}"; see
	// Topic.
	TopicTemplate string
	// Events to extract, spelled as in Config.Events.
	Events []string
	// Start is where extraction begins for an event without a checkpoint.
	Start time.Time
	// Window is the largest window requested in one report.
	Window time.Duration
	// RequestsPerMinute paces the account's API requests; 0 means unlimited.
	RequestsPerMinute int
	// RequestsPerDay caps the account's API requests in any 24 hours; 0
	// means no cap.
	RequestsPerDay int
}

// Topic returns the topic for an event of the account: the template with
// "{account}" replaced by the account's name and "{event}" by the event name
// in lower case (acme, Message-Sent -> freshchat.acme.message-sent).
func (a Account) Topic(event string) string {
	return expandTopic(a.TopicTemplate, a.Name, event)
}

func expandTopic(tmpl, account, event string) string {
	return strings.NewReplacer(accountPlaceholder, account, eventPlaceholder, strings.ToLower(event)).Replace(tmpl)
}

// SingleAccount returns the account the top-level settings describe, named
// DefaultAccount: what Load yields in Accounts when no accounts are listed.
// Code that builds a Config by hand (from Defaults) sets Accounts with it.
func (c Config) SingleAccount() Account {
	return Account{
		Name:              DefaultAccount,
		APIURL:            c.Freshchat.APIURL,
		APIToken:          c.Freshchat.APIToken,
		APITokenFile:      c.Freshchat.APITokenFile,
		TopicTemplate:     c.Kafka.TopicTemplate,
		Events:            slices.Clone(c.Events),
		Start:             c.Start,
		Window:            c.Window,
		RequestsPerMinute: c.Freshchat.RequestsPerMinute,
		RequestsPerDay:    c.Freshchat.RequestsPerDay,
	}
}

// AllAccounts returns the accounts to extract: Accounts, or SingleAccount
// alone when Accounts is empty (a Config built by hand from Defaults, such
// as the demo's, may leave it so).
func (c Config) AllAccounts() []Account {
	if len(c.Accounts) > 0 {
		return c.Accounts
	}
	return []Account{c.SingleAccount()}
}

// AccountSetting describes a key of an entry of accounts, for
// documentation: the reference's Accounts section is rendered from
// AccountReference.
type AccountSetting struct {
	// Key is the key in an account's entry, such as "api_url".
	Key string
	// Env is the environment variable, with <NAME> standing for the
	// account's name, such as "FRESHCHAT_ACCOUNT_<NAME>_API_URL" (see
	// AccountEnv); for the name, AccountsEnv.
	Env string
	// Setting is the top-level setting whose values the key takes, such as
	// "freshchat.api_url"; "" for the name.
	Setting string
	// Unset says what an account without the key gets.
	Unset string
	// Doc says what the key does.
	Doc string

	inherit bool // an unset key takes the top-level setting's value
}

// accountSettings declares the keys of an account's entry, once; name first.
var accountSettings = withAccountEnv([]AccountSetting{
	{
		Key: "name", Env: AccountsEnv, Unset: "required",
		Doc: "The account's name: 1 to 63 lower-case letters, digits, '-' or '_', starting with a letter or digit. " +
			"It is the {account} of topic templates and names the account in checkpoints and transactional IDs: " +
			"a renamed account starts over from start. " + AccountsEnv + " lists the names, comma-separated.",
	},
	{
		Key: "api_url", Setting: "freshchat.api_url", Unset: "required to run",
		Doc: "The account's API base URL, as freshchat.api_url.",
	},
	{
		Key: "api_token", Setting: "freshchat.api_token", Unset: "required to run (this or api_token_file)",
		Doc: "The account's API token (secret), as freshchat.api_token; keep it out of files. Set this or api_token_file, not both; " +
			"accounts never share a token.",
	},
	{
		Key: "api_token_file", Setting: "freshchat.api_token_file", Unset: "—",
		Doc: "File holding the account's API token, as freshchat.api_token_file.",
	},
	{
		Key: "topic_template", Setting: "kafka.topic_template",
		Unset: "kafka.topic_template for the account named default or when it contains {account}; else " + namedAccountTemplate,
		Doc: "Topic of each of the account's events, as kafka.topic_template; {account} is replaced by the account's name. " +
			"Two accounts never share a topic.",
	},
	{
		Key: "events", Setting: "events", Unset: "events", inherit: true,
		Doc: "Events of the account, as events. The --events flag replaces the events of every account.",
	},
	{
		Key: "start", Setting: "start", Unset: "start", inherit: true,
		Doc: "Where extraction begins for an event of the account without a checkpoint, as start.",
	},
	{
		Key: "window", Setting: "window", Unset: "window", inherit: true,
		Doc: "Largest window requested in one report of the account, as window.",
	},
	{
		Key: "requests_per_minute", Setting: "freshchat.requests_per_minute", Unset: "freshchat.requests_per_minute", inherit: true,
		Doc: "Most API requests per minute of the account, as freshchat.requests_per_minute: each account has its own budget.",
	},
	{
		Key: "requests_per_day", Setting: "freshchat.requests_per_day", Unset: "freshchat.requests_per_day", inherit: true,
		Doc: "Most API requests of the account in any 24 hours, as freshchat.requests_per_day.",
	},
})

// withAccountEnv fills in the variables of the keys other than the name.
func withAccountEnv(ss []AccountSetting) []AccountSetting {
	for i := range ss {
		if ss[i].Env == "" {
			ss[i].Env = AccountEnv("<NAME>", ss[i].Key)
		}
	}
	return ss
}

// AccountReference returns the keys of an account's entry, in documentation
// order, name first.
func AccountReference() []AccountSetting { return slices.Clone(accountSettings) }

// AccountEnv returns the environment variable of a key of the named
// account: FRESHCHAT_ACCOUNT_<NAME>_<KEY>, with the name in upper case and
// '-' written '_' (globex-eu, api_token: FRESHCHAT_ACCOUNT_GLOBEX_EU_API_TOKEN).
func AccountEnv(name, key string) string {
	return accountEnvPrefix + envName(name) + "_" + strings.ToUpper(key)
}

// envName is how an account's name is written in its variables.
func envName(name string) string { return strings.ToUpper(strings.ReplaceAll(name, "-", "_")) }

// checkAccountName checks an account's name: ^[a-z0-9][a-z0-9_-]{0,62}$.
func checkAccountName(name string) error {
	ok := name != "" && len(name) <= maxAccountName
	for i, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || i > 0 && (r == '-' || r == '_')) {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("a name has 1 to %d lower-case letters, digits, '-' or '_', and starts with a letter or digit", maxAccountName)
	}
	return nil
}

// rawAccount is an account as read: its name and its keys' values.
type rawAccount struct {
	name   string
	where  string              // where it is listed: "FILE line 3" or AccountsEnv
	line   int                 // its line in the file; 0 for AccountsEnv
	values map[string]rawValue // by key of the entry
}

// accountLabel is how problems name an account: accounts[acme].
func accountLabel(name string) string { return "accounts[" + name + "]" }

// accountKeyName is how problems name a key of an account.
func accountKeyName(name, key string) string {
	return accountLabel(name) + "." + key + " (env " + AccountEnv(name, key) + ")"
}

func findAccountSetting(key string) (AccountSetting, bool) {
	for _, s := range accountSettings {
		if s.Key == key {
			return s, true
		}
	}
	return AccountSetting{}, false
}

func accountKeys() []string {
	out := make([]string, len(accountSettings))
	for i, s := range accountSettings {
		out[i] = s.Key
	}
	return out
}

// readAccountsYAML reads the accounts list of the file. given is false when
// it is empty or has no value. Entries without a name are reported and
// dropped.
func readAccountsYAML(path string, k, v *yaml.Node, p *problems) (accts []rawAccount, given bool) {
	if isNull(v) || v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
		return nil, false
	}
	keys := strings.Join(accountKeys(), ", ")
	if v.Kind != yaml.SequenceNode {
		p.add("%s line %d: accounts must be a list with one mapping per account (keys %s)", path, k.Line, keys)
		return nil, true
	}
	for i, e := range v.Content {
		e = deref(e)
		at := fmt.Sprintf("%s line %d", path, e.Line)
		if e.Kind != yaml.MappingNode {
			p.add("%s: entry %d of accounts must be a mapping (keys %s)", at, i+1, keys)
			continue
		}
		ra := rawAccount{where: at, line: e.Line, values: map[string]rawValue{}}
		name := nameNode(e) // nil when the entry has no name
		if name != nil && name.Kind == yaml.ScalarNode && !isNull(name) {
			ra.name = strings.TrimSpace(name.Value)
		}
		label := fmt.Sprintf("entry %d of accounts", i+1)
		if ra.name != "" {
			label = accountLabel(ra.name)
		}
		seen := map[string]int{}
		layer := map[string]rawValue{}
		for j := 0; j+1 < len(e.Content); j += 2 {
			kn, vn := e.Content[j], deref(e.Content[j+1])
			where := fmt.Sprintf("%s line %d", path, kn.Line)
			if first, dup := seen[kn.Value]; dup {
				p.add("%s: duplicate key %q in %s (first at line %d)", where, kn.Value, label, first)
				continue
			}
			seen[kn.Value] = kn.Line
			s, known := findAccountSetting(kn.Value)
			switch {
			case !known:
				p.add("%s: unknown key %q in %s (known keys of an account: %s)", where, kn.Value, label, keys)
			case s.Key == "name":
				if vn.Kind != yaml.ScalarNode {
					p.add("%s: the name of %s must be a single value", where, label)
				}
			case isNull(vn):
			default:
				setting := lookup(s.Setting)
				val, ok := yamlValue(vn, setting.list, setting.mapping)
				if !ok {
					want := "a single value"
					if setting.list {
						want = "a single value or a list of values"
					}
					p.add("%s: %s.%s must be %s", where, label, s.Key, want)
					continue
				}
				if val = strings.TrimSpace(val); val != "" {
					layer[s.Key] = rawValue{val, fmt.Sprintf("%s line %d", path, vn.Line)}
				}
			}
		}
		switch {
		case name != nil && name.Kind != yaml.ScalarNode:
			continue // reported above
		case ra.name == "":
			p.add("%s: %s has no name: add name: with the account's name (%v)", at, label, checkAccountName(""))
			continue
		}
		mergeAccount(ra.values, layer, ra.name, "the config file", p)
		accts = append(accts, ra)
	}
	return accts, true
}

// nameNode returns the value of the first key name of an entry; nil when
// there is none.
func nameNode(entry *yaml.Node) *yaml.Node {
	for j := 0; j+1 < len(entry.Content); j += 2 {
		if entry.Content[j].Value == "name" {
			return deref(entry.Content[j+1])
		}
	}
	return nil
}

// mergeAccount copies a layer of an account's values over dst. As merge
// does for the top-level settings, a layer that sets the token or its file
// replaces both.
func mergeAccount(dst, layer map[string]rawValue, name, where string, p *problems) {
	_, token := layer["api_token"]
	_, file := layer["api_token_file"]
	if token && file {
		p.add("%s and %s are both set in %s: set only one",
			accountKeyName(name, "api_token"), accountKeyName(name, "api_token_file"), where)
	}
	if token || file {
		delete(dst, "api_token")
		delete(dst, "api_token_file")
	}
	for k, v := range layer {
		dst[k] = v
	}
}

// uniqueAccounts reports and drops accounts with invalid or repeated names,
// and names that give the same variables.
func uniqueAccounts(accts []rawAccount, p *problems) []rawAccount {
	var out []rawAccount
	first := map[string]rawAccount{} // by name
	byEnv := map[string]rawAccount{} // by the name's form in variables
	for _, a := range accts {
		if err := checkAccountName(a.name); err != nil {
			p.add("%s: %s: bad name %q: %v", a.where, accountLabel(a.name), a.name, err)
			continue
		}
		if f, dup := first[a.name]; dup {
			if f.line > 0 {
				p.add("%s: %s is listed twice (first at line %d): each account needs its own name", a.where, accountLabel(a.name), f.line)
			} else {
				p.add("%s lists %s twice: each account needs its own name", a.where, a.name)
			}
			continue
		}
		if f, dup := byEnv[envName(a.name)]; dup {
			p.add("%s: %s and %s would share the variables %s*: rename one", a.where, accountLabel(f.name), accountLabel(a.name),
				accountEnvPrefix+envName(a.name)+"_")
			continue
		}
		first[a.name], byEnv[envName(a.name)] = a, a
		out = append(out, a)
	}
	return out
}

// accountsFromEnv applies the environment to the accounts of the file:
// FRESHCHAT_ACCOUNTS replaces their list (an account of both keeps the
// file's values), and each account's variables override its keys. given
// reports whether accounts are listed at all, by the file (inFile) or the
// environment.
func accountsFromEnv(fromFile []rawAccount, inFile bool, env func(string) (string, bool), environ func() []string,
	p *problems) (accts []rawAccount, given bool) {
	accts = uniqueAccounts(fromFile, p)
	given = inFile
	if v, ok := env(AccountsEnv); ok && strings.TrimSpace(v) != "" {
		given = true
		var listed []rawAccount
		for _, name := range splitList(v) {
			a := rawAccount{name: name, where: AccountsEnv, values: map[string]rawValue{}}
			if i := slices.IndexFunc(accts, func(f rawAccount) bool { return f.name == name }); i >= 0 {
				for k, v := range accts[i].values {
					a.values[k] = v
				}
			}
			listed = append(listed, a)
		}
		accts = uniqueAccounts(listed, p)
		if len(listed) == 0 {
			p.add("%s lists no account name: list the names, comma-separated, or leave it empty", AccountsEnv)
		}
	}
	for _, a := range accts {
		layer := map[string]rawValue{}
		for _, s := range accountSettings[1:] {
			if v, ok := env(AccountEnv(a.name, s.Key)); ok && strings.TrimSpace(v) != "" {
				layer[s.Key] = rawValue{strings.TrimSpace(v), "the environment"}
			}
		}
		mergeAccount(a.values, layer, a.name, "the environment", p)
	}
	if environ != nil {
		strayAccountVariables(accts, environ(), p)
	}
	return accts, given
}

// strayAccountVariables reports FRESHCHAT_ACCOUNT_ variables that are no
// key of a listed account: a misspelt key, or an account not listed.
func strayAccountVariables(accts []rawAccount, environ []string, p *problems) {
	listed := map[string]bool{}
	names := make([]string, 0, len(accts))
	for _, a := range accts {
		listed[envName(a.name)] = true
		names = append(names, a.name)
	}
	// Longest key first, so that a name ending in a key's words cannot
	// hide a longer key.
	keys := slices.Clone(accountSettings[1:])
	slices.SortFunc(keys, func(a, b AccountSetting) int { return cmp.Compare(len(b.Key), len(a.Key)) })
	var vars []string
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, accountEnvPrefix) && strings.TrimSpace(v) != "" {
			vars = append(vars, k)
		}
	}
	slices.Sort(vars)
	for _, k := range slices.Compact(vars) {
		rest := strings.TrimPrefix(k, accountEnvPrefix)
		name := ""
		for _, s := range keys {
			if n, ok := strings.CutSuffix(rest, "_"+strings.ToUpper(s.Key)); ok && n != "" {
				name = n
				break
			}
		}
		switch {
		case name == "":
			envKeys := make([]string, 0, len(keys))
			for _, s := range accountSettings[1:] {
				envKeys = append(envKeys, strings.ToUpper(s.Key))
			}
			p.add("%s: not a variable of an account: they are %s<NAME>_<KEY>, KEY one of %s",
				k, accountEnvPrefix, strings.Join(envKeys, ", "))
		case listed[name]:
		case len(names) == 0:
			p.add("%s: no accounts are listed: list the account in %s or in accounts of the config file "+
				"(a single account is set with the freshchat settings, such as FRESHCHAT_API_URL)", k, AccountsEnv)
		default:
			p.add("%s: no listed account is named %s (the accounts are %s): list it in %s or in accounts of the config file, "+
				"or correct the name (upper case, '-' written '_')", k, name, strings.Join(names, ", "), AccountsEnv)
		}
	}
}

// accountTemplate is the topic template of an account that sets none.
func accountTemplate(name, topLevel string) string {
	if name == DefaultAccount || strings.Contains(topLevel, accountPlaceholder) {
		return topLevel
	}
	return namedAccountTemplate
}

// buildAccounts sets c.Accounts: without accounts, the single account of
// the top-level settings; else the accounts listed, each key parsed as its
// top-level setting and, when unset, taken from it (see AccountSetting).
// Problems name keys of accounts as accounts[name].key, and so do the keys
// of failed.
func buildAccounts(c *Config, accts []rawAccount, given bool, raw map[string]rawValue, overrideEvents bool, now time.Time,
	failed map[string]bool, p *problems) {
	if !given {
		c.Accounts = []Account{c.SingleAccount()}
		return
	}
	var set []string
	for _, key := range []string{"freshchat.api_url", "freshchat.api_token", "freshchat.api_token_file"} {
		if _, ok := raw[key]; ok {
			set = append(set, lookup(key).name())
		}
	}
	if len(set) > 0 {
		p.add("%s: not allowed with accounts, where each account has its own API URL and token: move them into an account "+
			"(its keys api_url, api_token, api_token_file, or %s variables), naming it %q to keep the topics and "+
			"checkpoints of a single-account connector", strings.Join(set, ", "), AccountEnv("<NAME>", "*"), DefaultAccount)
	}
	c.Freshchat.APIURL, c.Freshchat.APIToken, c.Freshchat.APITokenFile = nil, "", ""
	c.Accounts = make([]Account, 0, len(accts))
	for _, ra := range accts {
		sc := *c
		sc.Kafka.TopicTemplate = accountTemplate(ra.name, c.Kafka.TopicTemplate)
		for _, s := range accountSettings[1:] {
			key := accountLabel(ra.name) + "." + s.Key
			rv, ok := ra.values[s.Key]
			if s.Key == "events" && overrideEvents {
				ok = false // --events wins, through the top-level events
			}
			if !ok {
				failed[key] = failed[s.Setting]
				continue
			}
			setting := lookup(s.Setting)
			if err := setting.parse(&sc, rv.value, now); err != nil {
				failed[key] = true
				p.add("%s: bad value %s from %s: %v", accountKeyName(ra.name, s.Key), setting.display(rv.value), rv.source, err)
			}
		}
		a := sc.SingleAccount()
		a.Name = ra.name
		c.Accounts = append(c.Accounts, a)
	}
}

// checkAccountsRequired reports accounts without an API URL or token.
func checkAccountsRequired(c *Config, failed map[string]bool, p *problems) {
	for _, a := range c.Accounts {
		label := accountLabel(a.Name)
		if a.APIURL == nil && !failed[label+".api_url"] {
			p.add("%s: required: set the account's API URL, such as https://<domain>.freshchat.com/v2", accountKeyName(a.Name, "api_url"))
		}
		if a.APIToken == "" && !failed[label+".api_token"] && !failed[label+".api_token_file"] {
			p.add("%s.api_token: required: set %s, or %s to a file holding the token (keys api_token, api_token_file of the account)",
				label, AccountEnv(a.Name, "api_token"), AccountEnv(a.Name, "api_token_file"))
		}
	}
}
