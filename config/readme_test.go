package config_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/freshstream/freshchat-kafka/config"
)

const regenerate = "go generate ./config"

// TestConfigurationDocIsGenerated keeps docs/configuration.md, the
// configuration reference, equal to what the settings table renders.
func TestConfigurationDocIsGenerated(t *testing.T) {
	b, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatalf("%v: create it with %q", err, regenerate)
	}
	want := config.ReferenceMarkdown()
	if got := string(b); got != want {
		gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
		for i := range max(len(gl), len(wl)) {
			g, w := line(gl, i), line(wl, i)
			if g != w {
				t.Fatalf("docs/configuration.md differs from the settings table at line %d:\n file: %s\n want: %s\nregenerate it with %q",
					i+1, g, w, regenerate)
			}
		}
	}
	for _, s := range config.Reference() {
		if !strings.Contains(want, "| `"+s.Key+"` | `"+s.Env+"` |") {
			t.Errorf("the reference has no row for %s (%s)", s.Key, s.Env)
		}
	}
}

func line(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "(end of file)"
}

// TestREADMELinksTheReference: the README points at the generated
// reference and holds no copy of its rows that could go stale.
func TestREADMELinksTheReference(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	if !strings.Contains(readme, "(docs/configuration.md)") {
		t.Error("README.md does not link docs/configuration.md")
	}
	for _, s := range config.Reference() {
		if strings.Contains(readme, "| `"+s.Key+"` | `"+s.Env+"` |") {
			t.Errorf("README.md has a reference row for %s: the reference lives in docs/configuration.md only", s.Key)
		}
	}
}

// TestExampleConfigNamesEverySetting: config.example.yaml names every
// setting's environment variable, as its header promises.
func TestExampleConfigNamesEverySetting(t *testing.T) {
	b, err := os.ReadFile("../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range config.Reference() {
		if !strings.Contains(string(b), s.Env) {
			t.Errorf("config.example.yaml does not mention %s (%s)", s.Key, s.Env)
		}
	}
	// The accounts example shows every key of an account, with its
	// variable for one of the example's accounts.
	var example strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "#   - ") || strings.HasPrefix(line, "#     ") {
			example.WriteString(line + "\n")
		}
	}
	for _, s := range config.AccountReference() {
		env := regexp.MustCompile(`\b` + strings.ReplaceAll(regexp.QuoteMeta(s.Env), "<NAME>", "[A-Z0-9_]+") + `\b`)
		if !regexp.MustCompile(`\b` + s.Key + `\b`).MatchString(example.String()) {
			t.Errorf("the accounts example of config.example.yaml has no key %s", s.Key)
		}
		if !env.Match(b) {
			t.Errorf("config.example.yaml does not mention the variable of the account key %s (%s)", s.Key, s.Env)
		}
	}
}

// TestREADMENamesAccounts: the README's configuration part says that one
// connector extracts several accounts, and where they are described.
func TestREADMENamesAccounts(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"(docs/configuration.md#accounts)", config.AccountsEnv, "(docs/configuration.md#connector-group)"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("README.md does not mention %s", want)
		}
	}
}
