package sink

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/twmb/franz-go/pkg/sr"
)

// Framer decides the bytes that precede every Avro body on a topic, so that
// consumers can find the writer's schema.
type Framer interface {
	// Prefix returns the header for values of the given schema written to
	// topic. It is called once per topic at start, not per record.
	Prefix(ctx context.Context, topic, schemaText string, fingerprint [8]byte) ([]byte, error)
	// Name says which framing is in use, for logs.
	Name() string
}

// SingleObject frames values with Avro single-object encoding: the two
// bytes C3 01, then the schema's CRC-64-AVRO fingerprint (little-endian),
// then the Avro body. The embedded .avsc files are the contract consumers
// resolve fingerprints against.
type SingleObject struct{}

// Name implements Framer.
func (SingleObject) Name() string { return "avro-single-object" }

// Prefix implements Framer.
func (SingleObject) Prefix(_ context.Context, _, _ string, fp [8]byte) ([]byte, error) {
	return SingleObjectPrefix(fp), nil
}

// SingleObjectPrefix is the 10-byte single-object header for a fingerprint
// given in little-endian byte order.
func SingleObjectPrefix(fp [8]byte) []byte {
	return append([]byte{0xC3, 0x01}, fp[:]...)
}

// Confluent frames values with the Confluent wire format: a zero magic
// byte, the 4-byte big-endian schema ID, then the Avro body. Schemas are
// registered under the subject "<topic>-value" (TopicNameStrategy), which
// is what Confluent's deserializers, ksqlDB, Flink and the Kafka Connect
// sinks look up by default.
type Confluent struct {
	Client *sr.Client
}

// Name implements Framer.
func (Confluent) Name() string { return "confluent-schema-registry" }

// Prefix implements Framer. Registering a schema that the subject already
// has returns its existing ID; a schema the registry refuses (for example
// as incompatible with the subject's history) is an error that names the
// subject.
func (c Confluent) Prefix(ctx context.Context, topic, schemaText string, _ [8]byte) ([]byte, error) {
	subject := topic + "-value"
	ss, err := c.Client.CreateSchema(ctx, subject, sr.Schema{Schema: schemaText, Type: sr.TypeAvro})
	if err != nil {
		return nil, fmt.Errorf("registering schema under subject %s: %w", subject, err)
	}
	return ConfluentPrefix(ss.ID), nil
}

// ConfluentPrefix is the 5-byte Confluent wire-format header for id.
func ConfluentPrefix(id int) []byte {
	b := make([]byte, 5)
	binary.BigEndian.PutUint32(b[1:], uint32(id))
	return b
}
