package cli

import (
	"fmt"

	"github.com/freshstream/freshchat-kafka/buildinfo"
)

func versionCommand(args []string, s Streams) error {
	fs := commandFlags("version", "version",
		`Prints the connector's version, the commit it was built from and the Go
version that built it. "connector --version" prints the same.`, s)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprint(s.Out, buildinfo.Current())
	return nil
}
