package schemas

import (
	"encoding/binary"
	"math"
)

// Avro binary encoding primitives
// (https://avro.apache.org/docs/current/specification/#binary-encoding).
// Each appends to b and returns the extended slice; none allocates unless b
// must grow.

// Union branch bytes of a ["null", T] union: index 0 and index 1, zigzag.
const (
	unionNull  = 0x00
	unionValue = 0x02
)

// appendLong appends v as a zigzag varint. Avro int and long share this
// encoding for every value an int can hold.
func appendLong(b []byte, v int64) []byte {
	u := uint64(v<<1) ^ uint64(v>>63)
	for u >= 0x80 {
		b = append(b, byte(u)|0x80)
		u >>= 7
	}
	return append(b, byte(u))
}

// appendString appends s as a long length followed by its bytes.
func appendString(b []byte, s string) []byte {
	return append(appendLong(b, int64(len(s))), s...)
}

// appendDouble appends v as 8 bytes of little-endian IEEE 754.
func appendDouble(b []byte, v float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
}

// appendBool appends v as one byte, 0 or 1.
func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}
