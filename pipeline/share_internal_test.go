package pipeline

import (
	"context"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/freshstream/freshchat-kafka/source"
)

// TestOwnedUnitsShareTheAccountsBudget: an instance running one of an
// account's three units paces that account at a third of its budget, so
// that the instances sharing the account stay within it together.
func TestOwnedUnitsShareTheAccountsBudget(t *testing.T) {
	u, err := url.Parse("http://127.0.0.1:1/v2")
	require.NoError(t, err)
	newSource := func() *source.Client {
		c, err := source.NewClient(source.ClientConfig{BaseURL: u, Token: "t", Budget: source.BudgetConfig{PerMinute: 60, PerDay: 6000}})
		require.NoError(t, err)
		return c
	}
	acme, globex := newSource(), newSource()
	p := &Pipeline{runners: []*eventRunner{
		{key: "acme/A", src: acme}, {key: "acme/B", src: acme}, {key: "acme/C", src: acme},
		{key: "globex/A", src: globex}, {key: "globex/B", src: globex},
	}}
	s := &scheduler{p: p, ctx: context.Background(), running: map[string]*unitRun{}}
	s.running["acme/B"] = &unitRun{}
	s.ownedChanged([]string{"acme/B"}, nil)
	assert.Equal(t, source.BudgetConfig{PerMinute: 20, PerDay: 2000}, acme.Budget())
	assert.Equal(t, source.BudgetConfig{PerMinute: 60, PerDay: 6000}, globex.Budget(), "no unit here: untouched, it sends nothing")

	s.running["acme/A"], s.running["acme/C"], s.running["globex/B"] = &unitRun{}, &unitRun{}, &unitRun{}
	s.ownedChanged([]string{"acme/A", "acme/C", "globex/B"}, nil)
	assert.Equal(t, source.BudgetConfig{PerMinute: 60, PerDay: 6000}, acme.Budget(), "all of acme's units: all of its budget")
	assert.Equal(t, source.BudgetConfig{PerMinute: 30, PerDay: 3000}, globex.Budget())
}
