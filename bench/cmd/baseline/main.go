// Command baseline runs bench/baseline once, for the end-to-end benchmark:
// one window of one event from the Freshchat API into one topic. The token
// is read from FRESHCHAT_API_TOKEN. It prints the rows produced as
// {"rows":N} on stdout.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/freshstream/freshchat-kafka/bench/baseline"
	"github.com/freshstream/freshchat-kafka/bench/internal/profile"
)

func main() {
	os.Exit(run())
}

func run() int {
	var cfg baseline.Config
	var from, to, brokers, cpuProfile, memProfile string
	flag.StringVar(&cfg.APIURL, "api", "", "Freshchat API base URL, ending in /v2")
	flag.StringVar(&cfg.Event, "event", "Message-Sent", "event to extract")
	flag.StringVar(&from, "from", "", "window start, RFC 3339")
	flag.StringVar(&to, "to", "", "window end (exclusive), RFC 3339")
	flag.StringVar(&brokers, "brokers", "", "comma-separated seed brokers")
	flag.StringVar(&cfg.Topic, "topic", "", "topic to produce to")
	flag.IntVar(&cfg.Batch, "batch", 1000, "records per ProduceSync call")
	flag.DurationVar(&cfg.PollInterval, "poll", 50*time.Millisecond, "wait before the first report poll")
	flag.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile to this file")
	flag.StringVar(&memProfile, "memprofile", "", "write an allocation profile to this file")
	flag.Parse()
	cfg.Token = os.Getenv("FRESHCHAT_API_TOKEN")
	cfg.Brokers = strings.Split(brokers, ",")
	var err error
	if cfg.From, err = time.Parse(time.RFC3339, from); err != nil {
		fmt.Fprintln(os.Stderr, "baseline: -from:", err)
		return 2
	}
	if cfg.To, err = time.Parse(time.RFC3339, to); err != nil {
		fmt.Fprintln(os.Stderr, "baseline: -to:", err)
		return 2
	}
	if cfg.APIURL == "" || brokers == "" || cfg.Topic == "" || cfg.Batch < 1 {
		fmt.Fprintln(os.Stderr, "baseline: -api, -brokers, -topic and a positive -batch are required")
		return 2
	}

	stopProfiles, err := profile.Start(cpuProfile, memProfile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rows, err := baseline.Run(ctx, cfg)
	if perr := stopProfiles(); err == nil {
		err = perr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		return 1
	}
	fmt.Printf("{\"rows\":%d}\n", rows)
	return 0
}
