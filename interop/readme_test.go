package interop_test

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/internal/kread"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

// The addresses the README's recipes are written for: the demo's.
const (
	readmeBroker   = "localhost:9092"
	readmeRegistry = "http://localhost:8081"
	readmeTopic    = "freshchat.message-sent"
)

// recipe is a code block of the README's "Consuming" section.
type recipe struct {
	name   string
	notRun bool // marked "not run here", with the reason in the text
	lang   string
	code   string
	after  string // the text up to the next recipe
}

var recipeMarker = regexp.MustCompile(`^<!-- recipe: ([a-z0-9-]+)(, not run here)? -->$`)

// readmeRecipes returns the recipes of the README's "Consuming" section.
// Every code block there must follow a recipe marker.
func readmeRecipes(t *testing.T) []recipe {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "\n## Consuming\n")
	if start < 0 {
		t.Fatal(`README.md has no "## Consuming" section`)
	}
	section := text[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	lines := strings.Split(section, "\n")
	var out []recipe
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if !strings.HasPrefix(line, "```") {
			if m := recipeMarker.FindStringSubmatch(line); m != nil {
				if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "```") {
					t.Errorf("README recipe %s: the marker must stand right before its code block", m[1])
					continue
				}
				out = append(out, recipe{name: m[1], notRun: m[2] != ""})
			} else if len(out) > 0 {
				out[len(out)-1].after += line + "\n"
			}
			continue
		}
		// A code block: it must belong to the marker on the line before.
		lang, opening := strings.TrimPrefix(line, "```"), i
		var code []string
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			code = append(code, lines[i])
		}
		if opening == 0 || !recipeMarker.MatchString(lines[opening-1]) || len(out) == 0 || out[len(out)-1].code != "" {
			t.Errorf("README \"Consuming\": a %s code block without a recipe marker (<!-- recipe: NAME --> when a test runs it, "+
				"<!-- recipe: NAME, not run here --> and a \"*Not run here:* reason\" line otherwise):\n%s", lang, strings.Join(code, "\n"))
			continue
		}
		out[len(out)-1].lang, out[len(out)-1].code = lang, strings.Join(code, "\n")+"\n"
	}
	return out
}

// readmeSetup is a connector's output for the recipes: Message-Sent in its
// default topic, framed for a registry.
type readmeSetup struct {
	tools    tools
	broker   string
	registry string
	records  []*kgo.Record // the Go read_committed view
}

// forReal rewrites a recipe's addresses to the test's broker and registry.
func (s readmeSetup) forReal(code string) string {
	return strings.NewReplacer(readmeRegistry, s.registry, readmeBroker, s.broker).Replace(code)
}

// TestREADMERecipes runs each consumer recipe of the README that is not
// marked "not run here" against a bounded run's output, as written but for
// the broker and registry addresses, and checks that every marked one says
// why.
func TestREADMERecipes(t *testing.T) {
	recipes := readmeRecipes(t)
	run := map[string]func(context.Context, *testing.T, readmeSetup, recipe){
		"python-confluent-kafka-1": runPythonRecipe,
		"kcat-headers":             runKcatHeadersRecipe,
	}
	var toRun []recipe
	for _, r := range recipes {
		switch {
		case r.notRun:
			if !strings.Contains(r.after, "*Not run here:*") {
				t.Errorf("README recipe %s is marked not run here, but no \"*Not run here:* reason\" line follows it", r.name)
			}
		case run[r.name] == nil:
			t.Errorf("README recipe %s is marked as run by a test, but no test runs it: add it to TestREADMERecipes or mark it not run here", r.name)
		default:
			toRun = append(toRun, r)
		}
	}
	for name := range run {
		if !slices.ContainsFunc(toRun, func(r recipe) bool { return r.name == name }) {
			t.Errorf("TestREADMERecipes runs recipe %s, which the README no longer has", name)
		}
	}
	if t.Failed() || len(toRun) == 0 {
		return
	}

	tl := requireTools(t)
	ctx, cancel := context.WithTimeout(t.Context(), 55*time.Second)
	defer cancel()
	st := newStack(t)
	kafka, regClient := st.kafka, st.registry
	sim := freshchattest.NewServer(freshchattest.Options{Token: simToken, Now: freshchattest.ClockFrom(worldStart), RowsPerHour: 30, TempDir: t.TempDir()})
	t.Cleanup(sim.Close)
	to := worldStart.Add(-time.Hour)
	o := pipelineOptions(t, sim, kafka, to.Add(-2*time.Hour), to, func(string) string { return readmeTopic },
		"readme.checkpoints", "readme", regClient)
	o.Events, o.Concurrency = []string{"Message-Sent"}, 1
	runPipeline(ctx, t, o)
	records, err := kread.ReadCommitted(ctx, kafka, readmeTopic)
	if err != nil {
		t.Fatal(err)
	}
	if len(records) == 0 {
		t.Fatal("the run wrote no Message-Sent record")
	}
	setup := readmeSetup{tools: tl, broker: st.brokers[0], registry: st.registryURL, records: records}
	for _, r := range toRun {
		t.Run(r.name, func(t *testing.T) { run[r.name](ctx, t, setup, r) })
	}
}

// linesOf starts cmd and returns its first n lines of stdout, then ends it:
// the Python recipe consumes forever, as a consumer does.
func linesOf(ctx context.Context, t *testing.T, cmd *exec.Cmd, n int) []string {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for len(lines) < n && sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) < n {
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
		t.Fatalf("%s printed %d of %d lines (context: %v); stderr:\n%s", cmd.Path, len(lines), n, ctx.Err(), stderr.String())
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return lines
}

// checkKeysAndHeaders: each line starts with the key of a committed record,
// every key once per record, and carries the event header.
func checkKeysAndHeaders(t *testing.T, records []*kgo.Record, lines []string, eventHeader string) {
	t.Helper()
	var want, got []string
	for _, r := range records {
		want = append(want, string(r.Key))
	}
	for _, l := range lines {
		key, _, _ := strings.Cut(l, " ")
		got = append(got, key)
		if !strings.Contains(l, eventHeader) {
			t.Errorf("line without the header %s: %s", eventHeader, l)
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(want, got) {
		t.Errorf("keys printed differ from the committed ones:\n got %q\nwant %q", got, want)
	}
}

var pythonCreatedAt = regexp.MustCompile(` \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?\+00:00 \{`)

func runPythonRecipe(ctx context.Context, t *testing.T, s readmeSetup, r recipe) {
	if r.lang != "python" {
		t.Fatalf("recipe %s is %q, not python", r.name, r.lang)
	}
	script := filepath.Join(t.TempDir(), "recipe.py")
	if err := os.WriteFile(script, []byte(s.forReal(r.code)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, python, script)
	cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1")
	lines := linesOf(ctx, t, cmd, len(s.records))
	checkKeysAndHeaders(t, s.records, lines, "'freshchat.event': b'Message-Sent'")
	for _, l := range lines {
		if !pythonCreatedAt.MatchString(l) {
			t.Errorf("created_at is not printed as a UTC datetime: %s", l)
		}
	}
}

func runKcatHeadersRecipe(ctx context.Context, t *testing.T, s readmeSetup, r recipe) {
	if r.lang != "sh" || strings.Count(strings.TrimSpace(r.code), "\n") != 0 {
		t.Fatalf("recipe %s is not one sh command: %q", r.name, r.code)
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", s.forReal(strings.TrimSpace(r.code)))
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(s.tools.kcat)+":"+os.Getenv("PATH"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", r.code, err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(s.records) {
		t.Fatalf("kcat printed %d lines for %d committed records:\n%s", len(lines), len(s.records), out)
	}
	checkKeysAndHeaders(t, s.records, lines, "freshchat.event=Message-Sent")
}
