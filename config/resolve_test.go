package config

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestResolveUnit(t *testing.T) {
	c := Defaults(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	c.Events = []string{"Message-Sent", "CSAT-Score"}
	acme := c.SingleAccount()
	acme.Name, acme.Events = "acme", []string{"CSAT-Score"}
	dflt := c.SingleAccount()
	two := c
	two.Accounts = []Account{dflt, acme}

	tests := []struct {
		name        string
		cfg         Config
		in          string
		wantAccount string
		wantEvent   string
		wantErr     string
	}{
		{name: "an event of the default account, any case", cfg: c, in: " message-sent ", wantAccount: DefaultAccount, wantEvent: "Message-Sent"},
		{name: "a known event not configured", cfg: c, in: "agent-activity", wantAccount: DefaultAccount, wantEvent: "Agent-Activity"},
		{name: "unknown event", cfg: c, in: "Nope", wantErr: `--event "Nope" is neither configured nor a known event (configured: Message-Sent, CSAT-Score)`},
		{name: "account/event", cfg: two, in: "acme/csat-score", wantAccount: "acme", wantEvent: "CSAT-Score"},
		{name: "an account's events are its own", cfg: two, in: "acme/nope", wantErr: `--event "nope" is neither configured nor a known event (configured: CSAT-Score)`},
		{name: "unknown account", cfg: two, in: "globex/CSAT-Score",
			wantErr: `--event "globex/CSAT-Score" names account "globex", which is not configured (accounts: default, acme); write account/event`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, ev, err := tt.cfg.ResolveUnit(tt.in)
			if tt.wantErr != "" {
				assert.EqualError(t, err, tt.wantErr)
				return
			}
			assert.NoError(t, err)
			assert.Equal(t, tt.wantAccount, a.Name)
			assert.Equal(t, tt.wantEvent, ev)
		})
	}
}

func TestSpoolDirIsTheInstancesOwn(t *testing.T) {
	c := Defaults(time.Now())
	c.TempDir = "/var/tmp"
	c.Kafka.TransactionalID, c.Group.InstanceID = "freshchat-connector", "pod/7 x"
	assert.Equal(t, filepath.Join("/var/tmp", "freshchat-spool-freshchat-connector-pod_7_x"), c.SpoolDir(), "unsafe characters replaced")
	other := c
	other.Group.InstanceID = "pod-8"
	assert.NotEqual(t, c.SpoolDir(), other.SpoolDir(), "another instance spools elsewhere")
	c.Group.InstanceID = ""
	assert.Equal(t, filepath.Join("/var/tmp", "freshchat-spool-freshchat-connector"), c.SpoolDir(), "no trailing dash without an instance ID")
}
