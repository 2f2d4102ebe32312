package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/metrics"
	"github.com/freshstream/freshchat-kafka/source"
)

func TestAPIProblem(t *testing.T) {
	const grace = 2 * time.Minute
	tests := []struct {
		name string
		h    source.APIHealth
		at   time.Duration // judged at t0 + at
		want string        // "" means ready
	}{
		{name: "no request yet", want: ""},
		{name: "last request accepted", h: source.APIHealth{LastOK: t0}, at: time.Hour, want: ""},
		{
			name: "401 at once", at: time.Second,
			h:    source.APIHealth{LastOK: t0.Add(-time.Hour), FailingSince: t0, LastStatus: 401, LastError: "freshchat API GET /reports/raw/x: 401 UNAUTHORIZED"},
			want: "freshchat API refuses the token (401 Unauthorized): freshchat API GET /reports/raw/x: 401 UNAUTHORIZED",
		},
		{
			name: "403 at once",
			h:    source.APIHealth{FailingSince: t0, LastStatus: 403, LastError: "403 FORBIDDEN"},
			want: "freshchat API refuses the token (403 Forbidden): 403 FORBIDDEN",
		},
		{name: "no answer within the grace", h: source.APIHealth{FailingSince: t0, LastError: "connection refused"}, at: grace, want: ""},
		{
			name: "no answer past the grace", at: grace + 30*time.Second,
			h:    source.APIHealth{FailingSince: t0, LastError: "dial tcp: connection refused"},
			want: "freshchat API unreachable for 2m30s (last error: dial tcp: connection refused)",
		},
		{
			name: "5xx past the grace", at: 10 * time.Minute,
			h:    source.APIHealth{FailingSince: t0, LastStatus: 503, LastError: "503 Service Unavailable"},
			want: "freshchat API failing (503 Service Unavailable) for 10m0s (last error: 503 Service Unavailable)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := metrics.APIProblem(tt.h, t0.Add(tt.at), grace)
			if tt.want == "" {
				assert.NoError(t, err)
			} else {
				assert.EqualError(t, err, tt.want)
			}
		})
	}
}

func TestAPIReadyFollowsTheSourceAndFeedsReadiness(t *testing.T) {
	c := newClock(t0)
	var r metrics.Readiness
	r.SetConnected(true)
	m := metrics.New(metrics.Options{Readiness: &r, Now: c.Now, APIGrace: time.Minute})
	const help = "# HELP freshchat_connector_api_ready 1 while the Freshchat API answers and accepts the token; 0 once it refused the token (401, 403) or failed (no answer, 5xx) for longer than a grace of a few minutes, until its next accepted answer.\n# TYPE freshchat_connector_api_ready gauge\n"
	gauge := func(v string) string { return help + "freshchat_connector_api_ready " + v + "\n" }
	n, err := testutil.GatherAndCount(m.Registry(), "freshchat_connector_api_ready")
	require.NoError(t, err)
	assert.Zero(t, n, "no series before a source is watched")

	h := &settable[source.APIHealth]{}
	require.NoError(t, m.WatchSource(func() source.Stats { return source.Stats{API: h.Get()} }))
	steps := []struct {
		name      string
		h         source.APIHealth
		at        time.Duration
		gauge     string
		readiness string
	}{
		{"accepted", source.APIHealth{LastOK: t0}, 0, "1", ""},
		{"failing within the grace", source.APIHealth{LastOK: t0, FailingSince: t0, LastError: "boom"}, 59 * time.Second, "1", ""},
		{"failing past the grace", source.APIHealth{LastOK: t0, FailingSince: t0, LastError: "boom"}, 61 * time.Second, "0", "freshchat API unreachable for 1m1s (last error: boom)"},
		{"token refused", source.APIHealth{FailingSince: t0, LastStatus: 401, LastError: "401"}, 62 * time.Second, "0", "freshchat API refuses the token (401 Unauthorized): 401"},
		{"recovered", source.APIHealth{LastOK: t0.Add(time.Hour)}, time.Hour, "1", ""},
	}
	for _, st := range steps {
		h.Set(st.h)
		c.Set(t0.Add(st.at))
		assert.NoError(t, testutil.GatherAndCompare(m.Registry(), strings.NewReader(gauge(st.gauge)), "freshchat_connector_api_ready"), st.name)
		err := r.Check(c.Now(), 0)
		if st.readiness == "" {
			assert.NoError(t, err, st.name)
		} else {
			assert.EqualError(t, err, st.readiness, st.name)
		}
	}

	// A refused token is the problem to report even while Kafka is not
	// connected: at start the API is checked first.
	h.Set(source.APIHealth{FailingSince: t0, LastStatus: 403, LastError: "403"})
	r.SetConnected(false)
	assert.ErrorContains(t, r.Check(c.Now(), 0), "refuses the token")
	h.Set(source.APIHealth{LastOK: t0})
	assert.ErrorIs(t, r.Check(c.Now(), 0), metrics.ErrNotConnected)

	// WatchAPI replaces what is watched (a probe client at start, the
	// pipeline's client later).
	m.WatchAPI(func() source.APIHealth { return source.APIHealth{FailingSince: t0, LastStatus: 401} })
	assert.NoError(t, testutil.GatherAndCompare(m.Registry(), strings.NewReader(gauge("0")), "freshchat_connector_api_ready"))
}
