package kafkatest

import (
	"net"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/internal/porttest"
)

// Broker is a one-broker kfake cluster on a loopback address that stays
// the same while the broker stops and starts again: an outage or a restart
// as clients see it. Give it kfake.DataDir for it to come back with its
// topics, offsets and transactions.
//
// Its port is held from NewBroker on (see porttest): until the first
// Start, connections to it are refused and no other process can take it.
// Stop releases it, and Start listens on it again: a restart on the same
// address cannot do otherwise.
type Broker struct {
	t    testing.TB
	port *porttest.Port
	opts []kfake.Opt

	mu sync.Mutex
	c  *kfake.Cluster
}

// NewBroker returns a broker that is not started yet, stopped when the
// test ends. opts are added to its own (one broker, its address).
func NewBroker(t testing.TB, opts ...kfake.Opt) *Broker {
	t.Helper()
	b := &Broker{t: t, port: porttest.Reserve(t), opts: opts}
	t.Cleanup(b.Stop)
	return b
}

// StartBroker is NewBroker then Start.
func StartBroker(t testing.TB, opts ...kfake.Opt) *Broker {
	t.Helper()
	b := NewBroker(t, opts...)
	b.Start()
	return b
}

// Addr is the broker's host:port.
func (b *Broker) Addr() string { return b.port.Addr() }

// Opts are the client options that connect to the broker.
func (b *Broker) Opts() []kgo.Opt { return []kgo.Opt{kgo.SeedBrokers(b.Addr())} }

// Cluster is the running cluster, for its control functions; nil while the
// broker is stopped.
func (b *Broker) Cluster() *kfake.Cluster {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.c
}

// Start starts the broker on its address; it must be stopped.
func (b *Broker) Start() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.c != nil {
		b.t.Fatalf("kafkatest: broker %s started twice", b.Addr())
	}
	listen := func(network, _ string) (net.Listener, error) {
		if ln, err := b.port.Listen(); err == nil {
			return ln, nil // the first start: the held port
		}
		return net.Listen(network, b.Addr())
	}
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.ListenFn(listen)}, b.opts...)...)
	if err != nil {
		b.t.Fatalf("kafkatest: starting broker %s: %v", b.Addr(), err)
	}
	b.c = c
}

// Stop closes the broker: its connections drop and new ones are refused.
// Stopping a stopped broker does nothing.
func (b *Broker) Stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.c != nil {
		b.c.Close()
		b.c = nil
	}
}
