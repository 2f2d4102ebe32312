package cli

import (
	"errors"
	"flag"
	"fmt"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/connect"
)

// commandFlags returns the flag set of a command, which writes to s.Err
// a usage that explains the command and its exit codes.
func commandFlags(name, synopsis, about string, s Streams) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(s.Err)
	fs.Usage = func() {
		fmt.Fprintf(s.Err, "Usage: connector %s\n\n%s\n\nFlags:\n", synopsis, about)
		fs.PrintDefaults()
	}
	return fs
}

// registryClient is a client of the configured schema registry; without one
// it reports a configuration problem.
func registryClient(cfg *config.Config) (*sr.Client, error) {
	if cfg.SchemaRegistry.URL == nil {
		return nil, usageError{errors.New("no schema registry configured: set schema_registry.url (SCHEMA_REGISTRY_URL); without one the connector writes Avro single-object encoding and registers nothing")}
	}
	return connect.Registry(cfg.SchemaRegistry)
}
