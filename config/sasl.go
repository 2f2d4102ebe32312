package config

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
	"unicode"
)

// OAuth configures SASL OAUTHBEARER: a bearer token, given directly or in a
// file that is read again for every authentication, so that a token
// rotated in the file (by a sidecar, a Kubernetes projected volume) is
// used from the next connection or re-authentication on.
type OAuth struct {
	// Token is the token given directly; "" when TokenFile is set.
	Token Secret
	// TokenFile is the file holding the token; "" when Token is set.
	TokenFile string
	// Extensions are the SASL extensions sent with the token (RFC 7628),
	// such as logicalCluster and identityPoolId for Confluent Cloud; nil
	// when none.
	Extensions map[string]string
}

// CurrentToken returns the token to authenticate with now: Token, or the
// content of TokenFile read at this call, trimmed. Its errors name the file,
// never its content.
func (o OAuth) CurrentToken() (Secret, error) {
	if o.TokenFile == "" {
		if o.Token == "" {
			return "", errors.New("no OAUTHBEARER token configured")
		}
		return o.Token, nil
	}
	tok, err := readTokenFile(o.TokenFile)
	if err != nil {
		return "", fmt.Errorf("OAUTHBEARER token file %s: %w", o.TokenFile, err)
	}
	return tok, nil
}

// readTokenFile reads a bearer token from a file, trimming surrounding
// whitespace; an empty token or one that could not go into the SASL message
// is an error that does not quote it.
func readTokenFile(path string) (Secret, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cannot read the token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", errors.New("the token file is empty")
	}
	if err := checkToken(tok); err != nil {
		return "", fmt.Errorf("the token in the file %w", err)
	}
	return Secret(tok), nil
}

// AWS holds the credentials of SASL AWS_MSK_IAM. They come from the
// kafka.sasl.aws settings or, when none of those is set, from the
// standard environment variables AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
// and AWS_SESSION_TOKEN.
type AWS struct {
	// AccessKeyID identifies the credentials (not a secret; it appears in
	// error messages, as in AWS's own).
	AccessKeyID     string
	SecretAccessKey Secret
	// SessionToken is set for temporary credentials.
	SessionToken Secret
	// FromEnvironment: the credentials came from the AWS_* variables.
	FromEnvironment bool
}

// The standard AWS variables kafka.sasl.aws falls back to.
const (
	envAWSAccessKeyID     = "AWS_ACCESS_KEY_ID"
	envAWSSecretAccessKey = "AWS_SECRET_ACCESS_KEY"
	envAWSSessionToken    = "AWS_SESSION_TOKEN"
)

func oauthToken(c *Config, s Secret, file string) {
	c.Kafka.SASL.OAuth.Token, c.Kafka.SASL.OAuth.TokenFile = s, file
}

// oauthTokenField parses an OAUTHBEARER token given directly.
func oauthTokenField(c *Config, v string, _ time.Time) error {
	if err := checkToken(v); err != nil {
		return err
	}
	oauthToken(c, Secret(v), "")
	return nil
}

// oauthTokenFileField reads the token file once at load, so that a missing
// or empty file is a configuration problem; the connector reads it again
// for every authentication (OAuth.CurrentToken).
func oauthTokenFileField(c *Config, v string, _ time.Time) error {
	if _, err := readTokenFile(v); err != nil {
		return err
	}
	oauthToken(c, "", v)
	return nil
}

// parseExtensions parses comma-separated key=value SASL extensions. Keys
// are letters (RFC 7628), "auth" is reserved, and values hold no control
// characters.
func parseExtensions(s string) (map[string]string, error) {
	out := map[string]string{}
	var problems []string
	for _, item := range splitList(s) {
		k, v, found := strings.Cut(item, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch _, dup := out[k]; {
		case !found:
			problems = append(problems, fmt.Sprintf("%q is not key=value", item))
		case k == "" || strings.ContainsFunc(k, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') }):
			problems = append(problems, fmt.Sprintf("key %q must be letters only", k))
		case k == "auth":
			problems = append(problems, `key "auth" is reserved for the token`)
		case dup:
			problems = append(problems, fmt.Sprintf("key %s is given twice", k))
		case v == "" || strings.ContainsFunc(v, unicode.IsControl):
			problems = append(problems, fmt.Sprintf("key %s needs a value without control characters", k))
		default:
			out[k] = v
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

// awsKeyIDField parses an AWS access key ID.
func awsKeyIDField(c *Config, v string, _ time.Time) error {
	if err := checkToken(v); err != nil {
		return err
	}
	c.Kafka.SASL.AWS.AccessKeyID = v
	return nil
}

// awsSecretField parses a secret AWS credential into the field.
func awsSecretField(field func(*AWS) *Secret) func(*Config, string, time.Time) error {
	return func(c *Config, v string, _ time.Time) error {
		if err := checkToken(v); err != nil {
			return err
		}
		*field(&c.Kafka.SASL.AWS) = Secret(v)
		return nil
	}
}

// awsFromEnvironment takes the AWS_MSK_IAM credentials from the standard
// AWS variables when the mechanism is AWS_MSK_IAM and no kafka.sasl.aws
// setting is given. Variables that are set but cannot be used are
// problems; their values are never shown.
func awsFromEnvironment(c *Config, env func(string) (string, bool), failed map[string]bool, p *problems) {
	a := &c.Kafka.SASL.AWS
	if c.Kafka.SASL.Mechanism != SASLAWSMSKIAM || a.AccessKeyID != "" || a.SecretAccessKey != "" || a.SessionToken != "" ||
		failed["kafka.sasl.aws.access_key_id"] || failed["kafka.sasl.aws.secret_access_key"] || failed["kafka.sasl.aws.session_token"] {
		return
	}
	get := func(name string) string {
		v, ok := env(name)
		if !ok {
			return ""
		}
		v = strings.TrimSpace(v)
		if err := checkToken(v); err != nil {
			p.add("%s (for kafka.sasl.mechanism AWS_MSK_IAM): %v", name, err)
			return ""
		}
		return v
	}
	id, secret, session := get(envAWSAccessKeyID), get(envAWSSecretAccessKey), get(envAWSSessionToken)
	if id == "" && secret == "" && session == "" {
		return
	}
	*a = AWS{AccessKeyID: id, SecretAccessKey: Secret(secret), SessionToken: Secret(session), FromEnvironment: true}
}

// checkAWS reports AWS_MSK_IAM credentials that are missing or half given.
func checkAWS(a AWS, failed map[string]bool, p *problems) {
	idKey, secretKey := lookup("kafka.sasl.aws.access_key_id"), lookup("kafka.sasl.aws.secret_access_key")
	if failed[idKey.Key] || failed[secretKey.Key] || failed["kafka.sasl.aws.session_token"] {
		return
	}
	var missing []string
	if a.AccessKeyID == "" {
		missing = append(missing, "access key ID")
	}
	if a.SecretAccessKey == "" {
		missing = append(missing, "secret access key")
	}
	switch {
	case len(missing) == 0:
	case a.FromEnvironment:
		p.add("kafka.sasl.aws: AWS_MSK_IAM takes its credentials from %s and %s (and %s for temporary ones), but the %s is not set",
			envAWSAccessKeyID, envAWSSecretAccessKey, envAWSSessionToken, strings.Join(missing, " and "))
	case len(missing) == 2 && a.SessionToken == "":
		p.add("kafka.sasl.aws: kafka.sasl.mechanism AWS_MSK_IAM needs AWS credentials: set %s and %s (and %s for temporary credentials), "+
			"or %s and %s", idKey.Env, secretKey.Env, lookup("kafka.sasl.aws.session_token").Env, envAWSAccessKeyID, envAWSSecretAccessKey)
	default:
		p.add("kafka.sasl.aws: the %s is not set: set %s and %s together", strings.Join(missing, " and "), idKey.Env, secretKey.Env)
	}
}

// saslSetNames lists the SASL settings that are set (or failed to parse)
// among keys, for a message saying they do not fit the mechanism.
func saslSetNames(s SASL, failed map[string]bool, keys ...string) []string {
	var out []string
	for _, k := range keys {
		set := failed[k]
		switch k {
		case "kafka.sasl.username":
			set = set || s.Username != ""
		case "kafka.sasl.password":
			set = set || s.Password != "" || failed["kafka.sasl.password_file"]
		case "kafka.sasl.oauth.token":
			set = set || s.OAuth.Token != "" || s.OAuth.TokenFile != "" || failed["kafka.sasl.oauth.token_file"]
		case "kafka.sasl.oauth.extensions":
			set = set || len(s.OAuth.Extensions) > 0
		case "kafka.sasl.aws":
			set = !s.AWS.FromEnvironment && (s.AWS.AccessKeyID != "" || s.AWS.SecretAccessKey != "" || s.AWS.SessionToken != "") ||
				slices.ContainsFunc([]string{"access_key_id", "secret_access_key", "session_token"}, func(n string) bool { return failed["kafka.sasl.aws."+n] })
		}
		if set {
			out = append(out, k)
		}
	}
	return out
}
