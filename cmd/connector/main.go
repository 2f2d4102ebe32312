// Command connector streams Freshchat raw reports into Kafka, exactly once,
// as typed Avro. See README.md, or run "connector help".
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/freshstream/freshchat-kafka/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Streams{Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}
