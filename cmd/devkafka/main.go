// Command devkafka serves a one-broker Kafka cluster (franz-go's kfake,
// the broker the connector's tests and demo embed) on a real listener, for
// trials without Docker: several connector instances against one broker,
// say. It speaks the Kafka protocol, with transactions, consumer groups
// and compaction; with -data it keeps its topics across restarts. It is
// not a production broker.
//
//	devkafka -addr 127.0.0.1:9092 -data ./kafka-data
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	err := run(os.Args[1:])
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "devkafka:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("devkafka", flag.ContinueOnError)
	port := fs.Int("port", 9092, "port to listen on (loopback)")
	data := fs.String("data", "", "folder that keeps the topics across restarts (default: in memory only)")
	minSession := fs.Duration("min-session-timeout", 6*time.Second,
		"smallest group session timeout the broker accepts (the connector's group.session_timeout must be at least this)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.Ports(*port), kfake.GroupMinSessionTimeout(*minSession)}
	if *data != "" {
		if err := os.MkdirAll(*data, 0o755); err != nil {
			return err
		}
		opts = append(opts, kfake.DataDir(*data))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return fmt.Errorf("starting the broker on port %s: %w", strconv.Itoa(*port), err)
	}
	defer c.Close()
	fmt.Printf("devkafka: serving Kafka on %v (KAFKA_BROKERS=%s); Ctrl-C stops it\n", c.ListenAddrs(), c.ListenAddrs()[0])
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	return nil
}
