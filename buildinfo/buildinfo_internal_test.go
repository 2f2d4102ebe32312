package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDescribe(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	cases := []struct {
		name                string
		bi                  *debug.BuildInfo
		ldVersion, ldCommit string
		want                Info
	}{
		{"no build information", nil, "dev", "",
			Info{Version: "dev", Commit: "unknown"}},
		{"go build in a checkout", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs("44b0fcc", "false")}, "dev", "",
			Info{Version: "dev", Commit: "44b0fcc", GoVersion: "go1.26.8"}},
		{"a modified checkout", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261124195913-44b0fcca66a1+dirty"}, Settings: vcs("44b0fcc", "true")}, "dev", "",
			Info{Version: "v0.0.0-20261124195913-44b0fcca66a1+dirty", Commit: "44b0fcc+dirty"}},
		{"go install @version", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, "dev", "",
			Info{Version: "v1.4.0", Commit: "unknown"}},
		{"ldflags win", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}, Settings: vcs("44b0fcc", "true")}, "v1.5.0-rc1", "9f3e2d1",
			Info{Version: "v1.5.0-rc1", Commit: "9f3e2d1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want.GoVersion == "" {
				tc.want.GoVersion = runtime.Version()
			}
			tc.want.Platform = runtime.GOOS + "/" + runtime.GOARCH
			assert.Equal(t, tc.want, describe(tc.bi, tc.ldVersion, tc.ldCommit))
		})
	}
}
