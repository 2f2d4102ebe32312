package connect

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshstream/freshchat-kafka/config"
)

func TestSecurityWatch(t *testing.T) {
	broker := kgo.BrokerMetadata{NodeID: -1, Host: "127.0.0.1", Port: 9093}
	const addr = "127.0.0.1:9093"
	newWatch := func() (*SecurityWatch, *[]error) {
		var stops []error
		w := NewSecurityWatch(config.SASL{Mechanism: config.SASLScramSHA512, Username: "connector", Password: "pw-never-shown"},
			func(err error) { stops = append(stops, err) })
		return w, &stops
	}

	t.Run("a refusal from the broker stops at once", func(t *testing.T) {
		w, stops := newWatch()
		w.begun(addr)
		w.OnBrokerConnect(broker, 0, nil, fmt.Errorf("%w: Authentication failed: Invalid username or password", kerr.SaslAuthenticationFailed))
		require.Len(t, *stops, 1)
		assert.Contains(t, (*stops)[0].Error(), `Kafka SASL authentication failed: SASL_AUTHENTICATION_FAILED`)
		assert.Contains(t, (*stops)[0].Error(), `(mechanism SCRAM-SHA-512, user "connector")`)
		assert.NotContains(t, (*stops)[0].Error(), "pw-never-shown")
		w.OnBrokerConnect(broker, 0, nil, kerr.SaslAuthenticationFailed)
		assert.Len(t, *stops, 1, "stop is called once")
	})

	t.Run("connections lost during SASL stop only when repeated", func(t *testing.T) {
		w, stops := newWatch()
		lose := func() {
			w.begun(addr)
			w.OnBrokerConnect(broker, 0, nil, io.EOF)
		}
		lose()
		lose()
		w.begun(addr)
		w.finished(addr) // an authentication that succeeded
		w.OnBrokerConnect(broker, 0, nil, nil)
		lose()
		lose()
		assert.Empty(t, *stops, "a success in between starts the count again")
		lose()
		require.Len(t, *stops, 1)
		assert.Contains(t, (*stops)[0].Error(), "the broker closed the connection during authentication")
		assert.ErrorIs(t, (*stops)[0], io.EOF)
	})

	t.Run("lost connections outside SASL are an outage", func(t *testing.T) {
		w, stops := newWatch()
		for range 5 {
			w.OnBrokerConnect(broker, 0, nil, io.EOF)
		}
		assert.Empty(t, *stops)
		firstRead := &kgo.ErrFirstReadEOF{}
		for range 5 {
			w.OnBrokerConnect(broker, 0, nil, firstRead)
		}
		assert.Empty(t, *stops, "a connection closed at once may be a proxy before a broker that is starting")
		assert.Contains(t, w.Explain(firstRead).Error(), "Kafka: the broker closed the connection at once")
		other := errors.New("dial tcp 127.0.0.1:9093: connect: connection refused")
		assert.Same(t, other, w.Explain(other), "other errors are left alone")
	})
}
