package config

import (
	"errors"
	"strings"
	"time"
)

// LoadReset loads the configuration of connector reset (brokers required,
// no token) and parses to, its --to flag, as --from would be: RFC 3339, a
// date, a past offset or "now", at most 15 months ago and not in the
// future, relative to now. Problems name --to. It returns the configuration
// without a bounded range, and the target truncated to the millisecond.
func LoadReset(path, to string, now time.Time) (*Config, time.Time, error) {
	from := strings.TrimSpace(to)
	isNow := strings.EqualFold(from, "now")
	if isNow {
		from = "" // "now" is a valid target, but not a valid start of a range ending now
	}
	cfg, err := Load(LoadOptions{
		Path:           path,
		Now:            func() time.Time { return now },
		Overrides:      Overrides{From: from},
		RequireBrokers: true,
	})
	var ce *Error
	if errors.As(err, &ce) {
		problems := make([]string, len(ce.Problems))
		for i, p := range ce.Problems {
			problems[i] = strings.ReplaceAll(p, "--from", "--to")
		}
		return nil, time.Time{}, &Error{Problems: problems}
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	target := now
	if !isNow {
		target = cfg.Bounded.From
	}
	cfg.Bounded = nil
	return cfg, target.Truncate(time.Millisecond), nil
}
