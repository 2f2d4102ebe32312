package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/cli"
)

func TestVersionCommand(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, errs := runMain(t, args...)
		require.Equal(t, cli.ExitOK, code, errs)
		assert.Contains(t, out, "version:    ")
		assert.Contains(t, out, "commit:     ")
		assert.Contains(t, out, "go version: "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH+"\n")
	}
	code, _, errs := runMain(t, "version", "extra")
	assert.Equal(t, cli.ExitUsage, code)
	assert.Contains(t, errs, "unexpected arguments: extra")
}

// buildConnector builds cmd/connector with the extra go build arguments.
func buildConnector(t *testing.T, args ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "connector")
	cmd := exec.Command("go", append(append([]string{"build"}, args...), "-o", bin, "./cmd/connector")...)
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

func versionOf(t *testing.T, bin string, arg string) string {
	t.Helper()
	out, err := exec.Command(bin, arg).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return string(out)
}

// TestVersionOfBuiltBinary builds the binary the two ways the README and
// the Dockerfile do and asks it for its version.
func TestVersionOfBuiltBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Run("ldflags, as the Dockerfile sets them", func(t *testing.T) {
		bin := buildConnector(t, "-buildvcs=false", "-ldflags",
			"-X github.com/freshstream/freshchat-kafka/buildinfo.version=v1.2.3 -X github.com/freshstream/freshchat-kafka/buildinfo.commit=0123abc")
		want := "version:    v1.2.3\ncommit:     0123abc\ngo version: " + runtime.Version()
		assert.True(t, strings.HasPrefix(versionOf(t, bin, "version"), want), versionOf(t, bin, "version"))
		assert.Equal(t, versionOf(t, bin, "version"), versionOf(t, bin, "--version"))
	})
	t.Run("plain go build in a git clone", func(t *testing.T) {
		// The go command records the VCS revision only where the module
		// root holds a .git directory: a clone, not a git worktree (whose
		// .git is a file) nor a source archive.
		if fi, err := os.Stat("../.git"); err != nil || !fi.IsDir() {
			t.Skip("the module root is not a git clone, so go build records no revision")
		}
		head, err := exec.Command("git", "-C", "..", "rev-parse", "HEAD").Output()
		if err != nil {
			t.Skipf("git rev-parse HEAD: %v", err)
		}
		bin := buildConnector(t, "-buildvcs=true")
		assert.Contains(t, versionOf(t, bin, "version"), "commit:     "+strings.TrimSpace(string(head)))
	})
}
