package config

import (
	"errors"
	"strings"
)

// Compression is the codec of the record batches the connector produces,
// named as Kafka's compression.type names it.
type Compression string

// The codecs Kafka supports.
const (
	CompressionNone   Compression = "none"
	CompressionGzip   Compression = "gzip"
	CompressionSnappy Compression = "snappy"
	CompressionLZ4    Compression = "lz4"
	CompressionZstd   Compression = "zstd"
)

// compressions lists every Compression, in the order the docs name them.
var compressions = []Compression{CompressionNone, CompressionGzip, CompressionSnappy, CompressionLZ4, CompressionZstd}

// parseCompression accepts a codec name in any case.
func parseCompression(s string) (Compression, error) {
	for _, c := range compressions {
		if strings.EqualFold(s, string(c)) {
			return c, nil
		}
	}
	return CompressionSnappy, errors.New("must be none, gzip, snappy, lz4 or zstd")
}
