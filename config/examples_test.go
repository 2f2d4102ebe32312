package config_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/freshstream/freshchat-kafka/config"
)

// exampleFiles are the files whose examples users copy: the README, the
// docs, the example configuration, the compose file and the deployment
// examples.
func exampleFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"../README.md", "../config.example.yaml", "../docker-compose.yml"}
	for _, dir := range []string{"../docs", "../deploy"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			switch filepath.Ext(path) {
			case ".md", ".yaml", ".yml", ".example", ".tpl", ".txt":
				files = append(files, path)
			}
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	return files
}

// A time given to the connector in an example: a --from or --to flag, the
// start setting in YAML, or FRESHCHAT_START (export, compose, .env, Helm).
var exampleTime = regexp.MustCompile(`(--from|--to)[ =]+"?(-?\d[^\s"'` + "`" + `,)]*)|(FRESHCHAT_START|^\s*start)\s*[=:]\s*["']?(-?\d[^\s"'#]*)`)

var fixedDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}`)

// TestExamplesNeverGoStale: no example gives the connector a fixed date, which
// it refuses once the date is more than 15 months old (Freshchat keeps no
// older reports), and every time an example gives it loads today.
func TestExamplesNeverGoStale(t *testing.T) {
	found := 0
	for _, file := range exampleFiles(t) {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range exampleTime.FindAllStringSubmatch(line, -1) {
				found++
				what, value := m[1], m[2]
				if what == "" {
					what, value = strings.TrimSpace(m[3]), m[4]
				}
				where := file + ":" + itoa(i+1)
				if fixedDate.MatchString(value) {
					t.Errorf("%s: %s %s is a fixed date, refused once it is 15 months old: use an offset such as -90d\n\t%s",
						where, what, value, strings.TrimSpace(line))
					continue
				}
				opts := config.LoadOptions{Env: func(string) (string, bool) { return "", false }}
				switch what {
				case "--from":
					opts.Overrides.From = value
				case "--to":
					opts.Overrides.To = value
				default:
					opts.Env = func(k string) (string, bool) { return value, k == "FRESHCHAT_START" }
				}
				if _, err := config.Load(opts); err != nil {
					t.Errorf("%s: %s %s does not load: %v", where, what, value, err)
				}
			}
		}
	}
	if found < 4 {
		t.Errorf("found only %d example times: has the README changed its form, or the pattern gone wrong?", found)
	}
}

func itoa(n int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		if n /= 10; n == 0 {
			return string(b)
		}
	}
}
