// Package connect builds the connector's connections to Kafka and to the
// schema registry from their settings (and reads the committed checkpoints
// through them, for the commands), and watches them: it explains the
// failures that retrying cannot fix (TLS, SASL, registry credentials) in
// terms of the settings to check, and tells readiness and the log when the
// brokers cannot be reached.
package connect

import (
	"bytes"
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/aws"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/freshstream/freshchat-kafka/config"
)

// KafkaOptions are the connection options of k that every Kafka client of
// the process shares: the seed brokers, the client ID (kafka.client_id, as
// is, so that client-id quotas match it), the producer's compression, TLS
// and SASL. A non-nil watch is attached as a hook and to the SASL mechanism,
// and so learns of the failures that retrying cannot fix (see SecurityWatch).
func KafkaOptions(k config.Kafka, watch *SecurityWatch) []kgo.Opt {
	opts := []kgo.Opt{
		kgo.SeedBrokers(k.Brokers...),
		kgo.ClientID(k.ClientID),
		kgo.WithCompressor(batchCompressor(k.Compression)),
	}
	if tc := k.TLS.ClientConfig(); tc != nil {
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if m := saslMechanism(k.SASL); m != nil {
		if watch != nil {
			m = watchedMechanism{Mechanism: m, watch: watch}
		}
		opts = append(opts, kgo.SASL(m))
	}
	if watch != nil {
		opts = append(opts, kgo.WithHooks(watch))
	}
	return opts
}

// Admin connects a client with the options of k (see KafkaOptions; watch
// may be nil) and the admin client on it. The caller closes the client.
func Admin(k config.Kafka, watch *SecurityWatch) (*kgo.Client, *kadm.Client, error) {
	cl, err := kgo.NewClient(KafkaOptions(k, watch)...)
	if err != nil {
		return nil, nil, fmt.Errorf("kafka client: %w", err)
	}
	return cl, kadm.NewClient(cl), nil
}

// batchCompressor is the one compressor of produce batches that every
// client of the process shares (franz-go's is safe for concurrent use).
// With kgo.ProducerBatchCompression instead, each client would build its
// own from the option's slice of codecs, which kgo rewrites in place: a
// data race between clients created at once.
func batchCompressor(c config.Compression) kgo.Compressor {
	comp, err := kgo.DefaultCompressor(compressionCodec(c))
	if err != nil {
		panic("kafka compression " + string(c) + ": " + err.Error()) // compressionCodec returns known codecs only
	}
	if comp == nil {
		return uncompressed{} // kgo's answer for none; a nil compressor would mean its default, snappy
	}
	return comp
}

// uncompressed leaves produce batches as they are.
type uncompressed struct{}

func (uncompressed) Compress(*bytes.Buffer, []byte, ...kgo.CompressFlag) ([]byte, kgo.CompressionCodecType) {
	return nil, kgo.CodecNone // nil: kgo sends the batch as it is
}

// compressionCodec is the franz-go codec of c; snappy (franz-go's and the
// setting's default) when c is unset.
func compressionCodec(c config.Compression) kgo.CompressionCodec {
	switch c {
	case config.CompressionNone:
		return kgo.NoCompression()
	case config.CompressionGzip:
		return kgo.GzipCompression()
	case config.CompressionLZ4:
		return kgo.Lz4Compression()
	case config.CompressionZstd:
		return kgo.ZstdCompression()
	}
	return kgo.SnappyCompression()
}

// saslMechanism is the configured SASL mechanism; nil for none.
func saslMechanism(s config.SASL) sasl.Mechanism {
	switch s.Mechanism {
	case config.SASLPlain:
		return plain.Auth{User: s.Username, Pass: s.Password.Reveal()}.AsMechanism()
	case config.SASLScramSHA256:
		return scram.Auth{User: s.Username, Pass: s.Password.Reveal()}.AsSha256Mechanism()
	case config.SASLScramSHA512:
		return scram.Auth{User: s.Username, Pass: s.Password.Reveal()}.AsSha512Mechanism()
	case config.SASLOAuthBearer:
		// Called for every new connection and re-authentication: a token
		// file is read again each time, so a rotated token is picked up.
		return oauth.Oauth(func(context.Context) (oauth.Auth, error) {
			tok, err := s.OAuth.CurrentToken()
			if err != nil {
				return oauth.Auth{}, securityErrorf(err, "Kafka SASL OAUTHBEARER: %v: check kafka.sasl.oauth.token_file (KAFKA_SASL_OAUTH_TOKEN_FILE)", err)
			}
			return oauth.Auth{Token: tok.Reveal(), Extensions: s.OAuth.Extensions}, nil
		})
	case config.SASLAWSMSKIAM:
		return aws.Auth{
			AccessKey:    s.AWS.AccessKeyID,
			SecretKey:    s.AWS.SecretAccessKey.Reveal(),
			SessionToken: s.AWS.SessionToken.Reveal(),
		}.AsManagedStreamingIAMMechanism()
	}
	return nil
}

// Describe says how the connector reaches the brokers of k, for a line of
// connector check: "" for plaintext, or such as " over TLS, SASL SCRAM-SHA-512 as connector".
func Describe(k config.Kafka) string {
	note := ""
	if k.TLS.Enabled {
		note = " over TLS"
		if k.TLS.HasClientCert() {
			note += " with a client certificate"
		}
	}
	if k.SASL.Mechanism != config.SASLNone {
		if note != "" {
			note += ","
		}
		switch s := k.SASL; s.Mechanism {
		case config.SASLOAuthBearer:
			note += " SASL OAUTHBEARER"
		case config.SASLAWSMSKIAM:
			note += " SASL AWS_MSK_IAM as access key " + s.AWS.AccessKeyID
		default:
			note += fmt.Sprintf(" SASL %s as %s", s.Mechanism, s.Username)
		}
	}
	return note
}
