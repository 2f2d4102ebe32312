package preflight

import (
	"context"

	"github.com/freshstream/freshchat-kafka/config"
	"github.com/freshstream/freshchat-kafka/connect"
	"github.com/freshstream/freshchat-kafka/registry"
)

// registry checks that the registry answers and that every unit's schema
// may be registered under its subject (registry.Compare).
func (c *checker) registry(ctx context.Context, cfg *config.Config) {
	const name = "schema registry"
	if cfg.SchemaRegistry.URL == nil {
		c.skip(name, "none configured: values use Avro single-object encoding")
		return
	}
	at := cfg.SchemaRegistry.URL.Redacted()
	rc, err := connect.Registry(cfg.SchemaRegistry)
	if err != nil {
		c.fail(name, "%s: %v", at, err)
		return
	}
	sctx, cancel := c.within(ctx)
	subjects, err := rc.Subjects(sctx)
	cancel()
	if f := connect.RegistryFailure(err, cfg.SchemaRegistry); f != nil {
		c.fail(name, "%s: %v", at, f)
		c.skip("schemas", "not checked: the schema registry refused the connection")
		return
	}
	if err != nil {
		c.fail(name, "%s unreachable: %v; check schema_registry.url (SCHEMA_REGISTRY_URL)", at, err)
		c.skip("schemas", "not checked: the schema registry did not answer")
		return
	}
	c.pass(name, "%s answered (%d subjects)", at, len(subjects))
	for _, u := range registry.Units(cfg, "") {
		vctx, cancel := c.within(ctx)
		v := registry.Compare(vctx, rc, u)
		cancel()
		switch {
		case v.Failed():
			c.fail("schema", "%s → %s: %s", u.Key, v.Subject, v.Text())
		case v.Outcome == registry.OutcomeSkipped:
			c.skip("schema", "%s → %s: %s", u.Key, v.Subject, v.Text())
		default:
			c.pass("schema", "%s → %s: %s", u.Key, v.Subject, v.Text())
		}
	}
}
