package config_test

import (
	"os"
	"strings"
	"testing"

	"github.com/freshstream/freshchat-kafka/config"
)

// TestREADMEDocumentsEverySetting keeps the README's configuration
// reference in step with the settings table.
func TestREADMEDocumentsEverySetting(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, s := range config.Reference() {
		row := "| `" + s.Key + "` | `" + s.Env + "` |"
		if !strings.Contains(readme, row) {
			t.Errorf("README.md has no reference row for %s (%s); regenerate the table from config.Reference()", s.Key, s.Env)
		}
	}
}
