// Command benchconnector is cmd/connector with optional profiling, for the
// end-to-end benchmark: BENCH_CPUPROFILE and BENCH_MEMPROFILE name the CPU
// and allocation profiles to write, BENCH_TRACE an execution trace. The arguments, configuration and
// behaviour are the connector's own (cli.Main). e2ebench runs the real
// cmd/connector when it profiles nothing.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/trace"
	"syscall"

	"github.com/freshstream/freshchat-kafka/bench/internal/profile"
	"github.com/freshstream/freshchat-kafka/cli"
)

func main() {
	stopProfiles, err := profile.Start(os.Getenv("BENCH_CPUPROFILE"), os.Getenv("BENCH_MEMPROFILE"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchconnector:", err)
		os.Exit(cli.ExitError)
	}
	if path := os.Getenv("BENCH_TRACE"); path != "" {
		f, err := os.Create(path)
		if err == nil && trace.Start(f) == nil {
			defer func() { trace.Stop(); f.Close() }()
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Streams{Out: os.Stdout, Err: os.Stderr})
	stop()
	if err := stopProfiles(); err != nil {
		fmt.Fprintln(os.Stderr, "benchconnector:", err)
		if code == cli.ExitOK {
			code = cli.ExitError
		}
	}
	if os.Getenv("BENCH_TRACE") != "" {
		trace.Stop()
	}
	os.Exit(code)
}
