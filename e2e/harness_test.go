// Package e2e_test drives the connector binary end to end: a kfake cluster
// and the Freshchat simulator run in the test process, the connector runs as
// a child process configured through its environment, and the tests check
// what a read_committed consumer finally sees.
package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/checkpoint"
	"github.com/freshstream/freshchat-kafka/internal/kafkatest"
	"github.com/freshstream/freshchat-kafka/internal/kread"
	"github.com/freshstream/freshchat-kafka/schemas"
	"github.com/freshstream/freshchat-kafka/source/freshchattest"
)

const (
	simToken        = "e2e-token"
	checkpointTopic = "freshchat.checkpoints"
	// createdAtLayout is how the simulator's Rows spells created_at.
	createdAtLayout = "2006-01-02T15:04:05.000Z"
	// logTailLines is how much of each connector log a failure prints.
	logTailLines = 40
)

// binPath is the connector binary TestMain builds once for every test.
var binPath string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "freshchat-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binPath, err = buildConnector(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	return m.Run()
}

// buildConnector builds ./cmd/connector of this module into dir.
func buildConnector(dir string) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("go env GOMOD: not inside a module")
	}
	bin := filepath.Join(dir, "connector")
	build := exec.Command("go", "build", "-o", bin, "./cmd/connector")
	build.Dir = filepath.Dir(gomod)
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/connector: %w\n%s", err, out)
	}
	return bin, nil
}

// rangeEnd is where the tests' bounded ranges end: 22:00 UTC yesterday.
// It is settled and within Freshchat's retention whenever the tests run,
// and at the same time of day every time, so that no test depends on the
// hour it runs at (the simulator's header drift follows the UTC hour). The
// connector checks --from and --to against its own clock, so the date
// cannot be fixed as well.
func rangeEnd() time.Time {
	return time.Now().UTC().Truncate(24 * time.Hour).Add(-2 * time.Hour)
}

// harness is one test's world: a Kafka cluster, a Freshchat simulator and
// the connector processes started against them.
type harness struct {
	t       *testing.T
	ctx     context.Context // ends shortly before the test's deadline
	broker  *kafkatest.Broker
	sim     *freshchattest.Server
	kafka   []kgo.Opt
	logDir  string
	tempDir string
	events  []string
	env     []string

	mu    sync.Mutex
	procs []*connector
}

// newHarness starts kfake and the simulator. The connector environment
// names events and adds settings on top of the harness defaults.
func newHarness(t *testing.T, sim freshchattest.Options, events []string, settings map[string]string) *harness {
	t.Helper()
	return newHarnessOn(t, kafkatest.StartBroker(t), sim, events, settings)
}

// newHarnessOn is newHarness on broker, such as one with a data folder, to
// be restarted.
func newHarnessOn(t *testing.T, broker *kafkatest.Broker, sim freshchattest.Options, events []string, settings map[string]string) *harness {
	t.Helper()
	h := &harness{
		t:       t,
		ctx:     testContext(t),
		broker:  broker,
		kafka:   broker.Opts(),
		logDir:  logDir(t),
		tempDir: t.TempDir(),
		events:  events,
	}
	sim.Token = simToken
	sim.TempDir = t.TempDir()
	h.sim = freshchattest.NewServer(sim)
	t.Cleanup(h.sim.Close)

	vars := map[string]string{
		"FRESHCHAT_API_URL":           h.sim.URL(),
		"FRESHCHAT_API_TOKEN":         simToken,
		"KAFKA_BROKERS":               broker.Addr(),
		"FRESHCHAT_EVENTS":            strings.Join(events, ","),
		"FRESHCHAT_TEMP_DIR":          h.tempDir,
		"FRESHCHAT_POLL_INTERVAL":     "50ms",
		"FRESHCHAT_POLL_MAX_INTERVAL": "500ms",
		"FRESHCHAT_RETRY_BASE":        "10ms",
		"FRESHCHAT_RETRY_MAX":         "200ms",
		// The simulator has no request budget; a default one would only slow the test.
		"FRESHCHAT_REQUESTS_PER_MINUTE": "0",
		"FRESHCHAT_SUBMITS_PER_MINUTE":  "0",
		// Instances run side by side: each takes a free port.
		"METRICS_ADDR":              "127.0.0.1:0",
		"KAFKA_TRANSACTION_TIMEOUT": "10s",
		"LOG_LEVEL":                 "debug",
		// The smallest the broker allows: a killed instance's units move
		// to the others quickly.
		"GROUP_SESSION_TIMEOUT": "6s",
	}
	for k, v := range settings {
		vars[k] = v
	}
	h.env = connectorEnv(vars)

	// Registered last, so it runs first: the processes are gone and their
	// logs are printed before the cluster, simulator and folders go.
	t.Cleanup(h.stopAll)
	return h
}

// testContext ends 30s before the test's deadline, so a hung connector is
// killed and its logs printed before go test gives up on the binary.
func testContext(t *testing.T) context.Context {
	ctx := t.Context()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-30*time.Second))
		t.Cleanup(cancel)
	}
	return ctx
}

// logDir is where connector logs go: E2E_LOG_DIR/<test> when set (to keep
// them), otherwise a temporary folder.
func logDir(t *testing.T) string {
	base := os.Getenv("E2E_LOG_DIR")
	if base == "" {
		return t.TempDir()
	}
	dir := filepath.Join(base, t.Name())
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// connectorEnv is this process's environment without any connector
// setting, plus vars.
func connectorEnv(vars map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "FRESHCHAT_") || strings.HasPrefix(name, "KAFKA_") ||
			strings.HasPrefix(name, "SCHEMA_REGISTRY_") || strings.HasPrefix(name, "LOG_") || strings.HasPrefix(name, "GROUP_") {
			continue
		}
		env = append(env, kv)
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

// runArgs is the command line of a bounded run over [from, to).
func runArgs(from, to time.Time) []string {
	return []string{"run", "--from", from.UTC().Format(time.RFC3339), "--to", to.UTC().Format(time.RFC3339)}
}

// connector is one connector process. Its stdout and stderr (the logs) go to
// one file.
type connector struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	state   *os.ProcessState
}

// start runs the connector binary with args, as group instance name
// (GROUP_INSTANCE_ID): a process started again under the same name takes
// its units back at once, as a restarted pod does.
func (h *harness) start(name string, args ...string) *connector {
	h.t.Helper()
	return h.startAs(name, name, args...)
}

// startAs is start with the group instance ID given.
func (h *harness) startAs(name, instanceID string, args ...string) *connector {
	h.t.Helper()
	logPath := filepath.Join(h.logDir, name+".log")
	f, err := os.Create(logPath)
	require.NoError(h.t, err)
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(slices.Clone(h.env), "GROUP_INSTANCE_ID="+instanceID)
	cmd.Stdout, cmd.Stderr = f, f
	require.NoError(h.t, cmd.Start(), "starting %s", name)
	c := &connector{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		defer f.Close()
		_ = cmd.Wait()
		c.state = cmd.ProcessState
	}()
	h.mu.Lock()
	h.procs = append(h.procs, c)
	h.mu.Unlock()
	return c
}

// exited is closed once the process has exited.
func (c *connector) exited() <-chan struct{} { return c.done }

// signal sends sig to the process.
func (c *connector) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	require.NoError(t, c.cmd.Process.Signal(sig), "signalling %s", c.name)
}

// kill sends SIGKILL, unless the process has exited, and waits for it to
// be gone. It reports whether SIGKILL is what ended the process.
func (c *connector) kill(t *testing.T) (killed bool) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("killing %s: %v", c.name, err)
	}
	<-c.done
	ws, ok := c.state.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// wait returns the exit code once the process exits (-1 when a signal
// killed it). If h.ctx ends first, the process is killed and the test fails.
func (h *harness) wait(c *connector) int {
	h.t.Helper()
	select {
	case <-c.done:
	case <-h.ctx.Done():
		c.kill(h.t)
		h.t.Fatalf("%s was still running when the test ran out of time; killed it", c.name)
	}
	return c.state.ExitCode()
}

// log returns everything the process wrote.
func (c *connector) log(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(c.logPath)
	require.NoError(t, err)
	return string(b)
}

// stopAll kills processes still running and, if the test failed, prints the
// tail of every connector log.
func (h *harness) stopAll() {
	h.mu.Lock()
	procs := slices.Clone(h.procs)
	h.mu.Unlock()
	for _, c := range procs {
		c.kill(h.t)
	}
	if !h.t.Failed() {
		return
	}
	if os.Getenv("E2E_LOG_DIR") == "" {
		h.t.Log("set E2E_LOG_DIR=<folder> to keep the connector logs of a failed run")
	}
	for _, c := range procs {
		h.t.Logf("--- last %d lines of %s (%s) ---\n%s", logTailLines, c.name, c.logPath, tail(c.logPath, logTailLines))
		// The cause of a failed run is often logged before the tail.
		h.t.Logf("--- level=ERROR lines of %s ---\n%s", c.name, grepLines(c.logPath, "level=ERROR"))
	}
}

// grepLines returns the lines of the file at path that contain s.
func grepLines(path, s string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	var out []string
	for line := range strings.Lines(string(data)) {
		if strings.Contains(line, s) {
			out = append(out, strings.TrimSuffix(line, "\n"))
		}
	}
	return strings.Join(out, "\n")
}

func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// topic is the topic of an event under the default template.
func topic(event string) string { return "freshchat." + strings.ToLower(event) }

// record is what the tests check of one event record.
type record struct {
	key       []byte // nil: null key
	createdAt string // as the simulator spells it
}

// readEvent reads the event's topic as read_committed up to the LSO and
// decodes every value: Avro single-object encoding (C3 01, the schema's
// fingerprint, the Avro body) with the event's schema.
func (h *harness) readEvent(event string) []record {
	h.t.Helper()
	return h.readTopic(event, topic(event))
}

// readTopic is readEvent for the event's records on topic name.
func (h *harness) readTopic(event, name string) []record {
	h.t.Helper()
	schema, err := schemas.Lookup(event)
	require.NoError(h.t, err)
	prefix := append([]byte{0xC3, 0x01}, schema.Fingerprint[:]...)
	var out []record
	var bad error
	err = kread.Each(h.ctx, h.kafka, name, func(r *kgo.Record) {
		if bad != nil {
			return
		}
		at := fmt.Sprintf("%s partition %d offset %d", r.Topic, r.Partition, r.Offset)
		if !bytes.HasPrefix(r.Value, prefix) {
			bad = fmt.Errorf("%s: value does not start with the single-object header of the %s schema: % x", at, event, r.Value[:min(len(r.Value), len(prefix))])
			return
		}
		var v map[string]any
		if err := avro.Unmarshal(schema.Avro, r.Value[len(prefix):], &v); err != nil {
			bad = fmt.Errorf("%s: %w", at, err)
			return
		}
		ts, ok := v[schemas.CreatedAtField].(time.Time)
		if !ok {
			bad = fmt.Errorf("%s: created_at is %T, want time.Time", at, v[schemas.CreatedAtField])
			return
		}
		out = append(out, record{key: bytes.Clone(r.Key), createdAt: ts.UTC().Format(createdAtLayout)})
	})
	require.NoError(h.t, err)
	require.NoError(h.t, bad)
	return out
}

// keyColumns is the documented key fallback (docs/CONTRACTS.md).
var keyColumns = []string{"interaction_id", "conversation_id", "agent_id", "actor_id"}

// expectedKey is the key of a simulator row: the first non-empty of
// keyColumns, nil when none has a value.
func expectedKey(columns, row []string) []byte {
	for _, name := range keyColumns {
		if i := slices.Index(columns, name); i >= 0 && row[i] != "" {
			return []byte(row[i])
		}
	}
	return nil
}

// assertExactlyOnce checks that the event's topic holds exactly the
// simulator's rows of [from, to): each created_at once, none missing, none
// extra, and every key as the fallback rule derives it from the true row.
func (h *harness) assertExactlyOnce(event string, from, to time.Time) {
	h.t.Helper()
	h.assertExactlyOnceIn(h.sim, topic(event), event, from, to)
}

// assertExactlyOnceIn is assertExactlyOnce for the rows of account sim on
// topic name.
func (h *harness) assertExactlyOnceIn(sim *freshchattest.Server, name, event string, from, to time.Time) {
	t := h.t
	t.Helper()
	columns := freshchattest.Columns(event)
	at := slices.Index(columns, schemas.CreatedAtField)
	require.GreaterOrEqual(t, at, 0)
	want := map[string][]string{}
	for _, row := range sim.Rows(event, from, to) {
		want[row[at]] = row
	}
	require.NotEmpty(t, want, "%s: the simulator has no rows in [%s, %s)", event, from, to)

	got := h.readTopic(event, name)
	seen := make(map[string]int, len(got))
	var dups, extra, badKeys []string
	for _, r := range got {
		seen[r.createdAt]++
		if seen[r.createdAt] == 2 {
			dups = append(dups, r.createdAt)
		}
		row, ok := want[r.createdAt]
		if !ok {
			extra = append(extra, r.createdAt)
			continue
		}
		if k := expectedKey(columns, row); !bytes.Equal(k, r.key) {
			badKeys = append(badKeys, fmt.Sprintf("%s: key %q, want %q", r.createdAt, r.key, k))
		}
	}
	var missing []string
	for ts := range want {
		if seen[ts] == 0 {
			missing = append(missing, ts)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	assert.Empty(t, first(dups, 20), "%s: created_at delivered more than once (%d in all)", event, len(dups))
	assert.Empty(t, first(missing, 20), "%s: rows never delivered (%d in all)", event, len(missing))
	assert.Empty(t, first(extra, 20), "%s: rows outside the simulator's [%s, %s) (%d in all)", event, from, to, len(extra))
	assert.Empty(t, first(badKeys, 20), "%s: wrong keys (%d in all)", event, len(badKeys))
	assert.Equal(t, len(want), len(got), "%s: records on %s", event, name)
}

func first(xs []string, n int) []string { return xs[:min(n, len(xs))] }

// checkpoints returns every committed checkpoint record, decoded, in order;
// none while the checkpoint topic does not exist yet.
func (h *harness) checkpoints() []checkpoint.Position {
	h.t.Helper()
	recs, err := kread.ReadCommitted(h.ctx, h.kafka, checkpointTopic)
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		return nil
	}
	require.NoError(h.t, err)
	out := make([]checkpoint.Position, 0, len(recs))
	for _, r := range recs {
		p, err := checkpoint.Decode(r.Value)
		require.NoError(h.t, err, "checkpoint offset %d", r.Offset)
		require.Equal(h.t, string(r.Key), p.Key(), "checkpoint offset %d: key and unit differ", r.Offset)
		out = append(out, p)
	}
	return out
}

// assertFinished checks that the last checkpoint of every event says the
// window ending at to is done.
func (h *harness) assertFinished(to time.Time) {
	h.t.Helper()
	last := map[string]checkpoint.Position{}
	for _, p := range h.checkpoints() {
		last[p.Event] = p
	}
	for _, ev := range h.events {
		p, ok := last[ev]
		if !assert.True(h.t, ok, "%s: no checkpoint", ev) {
			continue
		}
		assert.True(h.t, p.Done, "%s: last checkpoint not done: %+v", ev, p)
		assert.True(h.t, p.WindowEnd.Equal(to), "%s: last checkpoint ends at %s, want %s", ev, p.WindowEnd, to)
	}
}

// waitForCheckpoints polls the checkpoint topic until it holds more than n
// committed records, and returns how many it holds.
func (h *harness) waitForCheckpoints(n int, while *connector) int {
	h.t.Helper()
	for {
		if got := len(h.checkpoints()); got > n {
			return got
		}
		select {
		case <-while.exited():
			h.t.Fatalf("%s exited (code %d) before committing a checkpoint", while.name, while.state.ExitCode())
		case <-h.ctx.Done():
			h.t.Fatalf("no checkpoint committed by %s before the test ran out of time", while.name)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitForLog polls c's log until text is in it more than n times.
func (h *harness) waitForLog(c *connector, text string, n int) {
	h.t.Helper()
	for strings.Count(c.log(h.t), text) <= n {
		select {
		case <-c.exited():
			h.t.Fatalf("%s exited (code %d) before logging %q", c.name, c.state.ExitCode(), text)
		case <-h.ctx.Done():
			h.t.Fatalf("%s did not log %q before the test ran out of time", c.name, text)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// openPartitions lists the partitions of topics whose last stable offset is
// below the high watermark: a transaction is open on them.
func (h *harness) openPartitions(topics ...string) []string {
	h.t.Helper()
	cl, err := kgo.NewClient(h.kafka...)
	require.NoError(h.t, err)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	hwm, err := adm.ListEndOffsets(h.ctx, topics...)
	require.NoError(h.t, err)
	require.NoError(h.t, hwm.Error())
	lso, err := adm.ListCommittedOffsets(h.ctx, topics...)
	require.NoError(h.t, err)
	require.NoError(h.t, lso.Error())
	var open []string
	hwm.Each(func(o kadm.ListedOffset) {
		l, ok := lso.Lookup(o.Topic, o.Partition)
		require.True(h.t, ok, "%s/%d: no last stable offset", o.Topic, o.Partition)
		if l.Offset != o.Offset {
			open = append(open, fmt.Sprintf("%s/%d (last stable offset %d, high watermark %d)", o.Topic, o.Partition, l.Offset, o.Offset))
		}
	})
	slices.Sort(open)
	return open
}

// assertNoOpenTransaction checks that read_committed consumers of every
// topic reach the end at once: on each partition the last stable offset
// equals the high watermark.
func (h *harness) assertNoOpenTransaction(topics ...string) {
	h.t.Helper()
	assert.Empty(h.t, h.openPartitions(topics...), "partitions with an open transaction")
}

// waitForOpenTransaction polls until c has a transaction open on one of
// topics, so that a signal sent next lands in the middle of a transaction.
func (h *harness) waitForOpenTransaction(c *connector, topics ...string) {
	h.t.Helper()
	for len(h.openPartitions(topics...)) == 0 {
		select {
		case <-c.exited():
			h.t.Fatalf("%s exited (code %d) before a transaction was seen open", c.name, c.state.ExitCode())
		case <-h.ctx.Done():
			h.t.Fatalf("no open transaction of %s seen before the test ran out of time", c.name)
		case <-time.After(time.Millisecond):
		}
	}
}

// eventTopics are the topics of the harness's events.
func (h *harness) eventTopics() []string {
	out := make([]string, 0, len(h.events))
	for _, ev := range h.events {
		out = append(out, topic(ev))
	}
	return out
}

// allTopics are the event topics and the checkpoint topic.
func (h *harness) allTopics() []string {
	return append(h.eventTopics(), checkpointTopic)
}
