package interop_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// python is Debian's interpreter: the one that sees python3-confluent-kafka
// and python3-avro (a python3 earlier on PATH, such as pyenv's, does not).
const python = "/usr/bin/python3"

const installHint = "apt-get install -y kcat python3-confluent-kafka python3-avro python3-requests"

// tools are the third-party programs the test runs.
type tools struct {
	kcat string
}

// requireTools fails the test, naming what to install, when kcat or the
// Python modules are missing.
func requireTools(t *testing.T) tools {
	t.Helper()
	var missing []string
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		missing = append(missing, "kcat: "+err.Error())
	}
	if _, err := os.Stat(python); err != nil {
		missing = append(missing, python+": "+err.Error())
	} else {
		out, err := exec.Command(python, "-c", "import confluent_kafka.avro, avro.io, requests").CombinedOutput()
		if err != nil {
			missing = append(missing, python+" modules: "+strings.TrimSpace(string(out)))
		}
	}
	if len(missing) > 0 {
		t.Fatalf("third-party consumers are missing; install them with\n\t%s\n%s", installHint, strings.Join(missing, "\n"))
	}
	return tools{kcat: kcat}
}

// python runs a script of testdata with args and returns its stdout; a
// non-zero exit fails the test with the script's stderr. Its stderr notes
// are logged.
func (tools) python(ctx context.Context, t *testing.T, script string, args ...string) []byte {
	t.Helper()
	cmd := exec.CommandContext(ctx, python, append([]string{filepath.Join("testdata", script)}, args...)...)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1") // no __pycache__ in testdata
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", script, strings.Join(args, " "), err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Logf("%s stderr:\n%s", script, stderr.String())
	}
	return stdout.Bytes()
}

// kcatKeys reads topic with kcat as a read_committed consumer and returns
// the key of every record (a null key prints as an empty line).
func (tl tools) kcatKeys(ctx context.Context, t *testing.T, broker, topic string) []string {
	t.Helper()
	cmd := exec.CommandContext(ctx, tl.kcat, "-b", broker, "-C", "-t", topic,
		"-X", "isolation.level=read_committed", "-o", "beginning", "-e", "-f", `%k\n`)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat %s: %v\n%s", topic, err, stderr.String())
	}
	if stdout.Len() == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
}

func itoa(n int) string { return strconv.Itoa(n) }

// avscPath is the schema file of an event, the contract consumers resolve
// single-object fingerprints against.
func avscPath(event string) string {
	return filepath.Join("..", "schemas", "avro", event+".avsc")
}
