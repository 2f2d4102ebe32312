package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Usage is what one process cost, as the kernel accounted it.
type Usage struct {
	Wall   time.Duration // start to exit
	User   time.Duration
	Sys    time.Duration
	MaxRSS int64 // peak resident set, bytes
}

// CPU is user plus system time.
func (u Usage) CPU() time.Duration { return u.User + u.Sys }

// Measure starts cmd, waits for it and returns its own resource usage: the
// rusage wait4 reports for that child, so neither this process (the broker
// and the simulator) nor any other process is counted. A non-zero exit is
// an error; the usage is returned either way.
func Measure(cmd *exec.Cmd) (Usage, error) {
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Usage{}, err
	}
	err := cmd.Wait()
	u := Usage{Wall: time.Since(start)}
	if cmd.ProcessState != nil {
		u.User, u.Sys = cmd.ProcessState.UserTime(), cmd.ProcessState.SystemTime()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			u.MaxRSS = ru.Maxrss * 1024 // Linux reports KiB
		}
	}
	return u, err
}

// SelfCPU is the CPU time this process has used so far (the broker and the
// simulator while a child runs).
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Build compiles the main package pkg (an import path of this module) into
// dir and returns the binary's path. It runs the go command found in PATH
// from the current directory, which must be inside the module.
func Build(ctx context.Context, dir, pkg string) (string, error) {
	gocmd, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("building %s: the go command is not in PATH: %w", pkg, err)
	}
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.CommandContext(ctx, gocmd, "build", "-o", out, pkg)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, msg)
	}
	return out, nil
}

// ChildEnv is this process's environment without the variables the
// connector reads, plus extra ("KEY=value"): a child sees only the
// configuration the benchmark gives it.
func ChildEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "FRESHCHAT_") || strings.HasPrefix(k, "KAFKA_") || strings.HasPrefix(k, "SCHEMA_REGISTRY_") ||
			strings.HasPrefix(k, "LOG_") || strings.HasPrefix(k, "METRICS_") || strings.HasPrefix(k, "DEAD_LETTER_") ||
			strings.HasPrefix(k, "BENCH_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// Tail returns the last n bytes of the file at path, for error messages.
func Tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(0, st.Size()-n)
	buf := make([]byte, st.Size()-off)
	got, _ := f.ReadAt(buf, off)
	return string(buf[:got])
}
