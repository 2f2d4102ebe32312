// Package kafkatest starts the Kafka cluster tests run against: kfake,
// speaking the real protocol on a loopback port. Only tests import it.
package kafkatest

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Cluster starts a one-broker kfake cluster on a free loopback port, closed
// when the test ends, and returns the options that connect to it. opts are
// added to the cluster's own (TLS, SASL, data folder...).
func Cluster(t testing.TB, opts ...kfake.Opt) []kgo.Opt {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.Ports(0)}, opts...)...)
	if err != nil {
		t.Fatalf("starting kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return []kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)}
}
