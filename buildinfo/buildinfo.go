// Package buildinfo says which build of the connector is running: its
// version, the commit it was built from and the Go version that built it,
// from the values a release build sets with -ldflags and the build
// information the go command records.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version and commit describe the build. Release builds set them with
//
//	-ldflags "-X github.com/freshstream/freshchat-kafka/buildinfo.version=v1.2.3
//	          -X github.com/freshstream/freshchat-kafka/buildinfo.commit=$(git rev-parse HEAD)"
//
// (the Dockerfile does). Without them, the build information the go command
// records stands in: the module version of "go install ...@v1.2.3" and the
// VCS revision of a build inside a git checkout.
var (
	version = "dev"
	commit  = ""
)

// Info is what "connector version" and the build_info metric say.
type Info struct {
	Version   string // v1.2.3, a module pseudo-version, or "dev"
	Commit    string // VCS revision, "+dirty" when the tree was modified; "unknown" when not known
	GoVersion string // go1.26.8
	Platform  string // linux/amd64
}

// Current describes this binary.
func Current() Info {
	bi, _ := debug.ReadBuildInfo()
	return describe(bi, version, commit)
}

// describe combines the ldflags values (ldVersion, ldCommit) with the
// build information bi, which may be nil. A value set with -X wins.
func describe(bi *debug.BuildInfo, ldVersion, ldCommit string) Info {
	b := Info{Version: ldVersion, Commit: ldCommit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi == nil {
		bi = &debug.BuildInfo{}
	}
	if bi.GoVersion != "" {
		b.GoVersion = bi.GoVersion
	}
	if (b.Version == "" || b.Version == "dev") && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		b.Version = bi.Main.Version
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	if b.Commit == "" {
		var rev string
		var modified bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if rev != "" && modified {
			rev += "+dirty"
		}
		b.Commit = rev
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	return b
}

// String is the text "connector version" prints: one line each for the
// version, the commit, and the Go version with the platform.
func (b Info) String() string {
	return fmt.Sprintf("version:    %s\ncommit:     %s\ngo version: %s %s\n", b.Version, b.Commit, b.GoVersion, b.Platform)
}
