// Command gendoc writes the configuration reference rendered from the
// settings table to the file named by its argument. Run it with
// "go generate ./config".
package main

import (
	"fmt"
	"os"

	"github.com/freshstream/freshchat-kafka/config"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gendoc FILE")
		os.Exit(2)
	}
	if err := os.WriteFile(os.Args[1], []byte(config.ReferenceMarkdown()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gendoc:", err)
		os.Exit(1)
	}
}
