package pipeline

import (
	"github.com/twmb/franz-go/pkg/kgo"
)

// chunk holds the records of one transaction. Its memory is reused from one
// transaction to the next: once a transaction is committed or aborted the
// client holds no reference to its records, so the next chunk overwrites
// them instead of allocating per row.
type chunk struct {
	blocks  [][]kgo.Record // records, blockSize at a time; never moved once handed out
	headers []kgo.RecordHeader
	slabs   [][]byte // value and key bytes; slabs[cur] is being filled
	cur     int
	n       int   // records in use
	bytes   int64 // value+key bytes in use
}

const (
	slabSize  = 1 << 20
	blockSize = 1024
)

// reset makes the chunk empty, keeping its memory.
func (c *chunk) reset() {
	for i := range c.slabs {
		c.slabs[i] = c.slabs[i][:0]
	}
	c.headers = c.headers[:0]
	c.cur, c.n, c.bytes = 0, 0, 0
}

// next returns a cleared record to fill.
func (c *chunk) next() *kgo.Record {
	if c.n == len(c.blocks)*blockSize {
		// A new block, never a bigger copy: the client may be writing to
		// records already handed to it.
		c.blocks = append(c.blocks, make([]kgo.Record, blockSize))
	}
	r := c.record(c.n)
	c.n++
	*r = kgo.Record{}
	return r
}

// record returns the i-th record of the chunk.
func (c *chunk) record(i int) *kgo.Record { return &c.blocks[i/blockSize][i%blockSize] }

// buf returns the slab to append up to need bytes to. Callers append to
// it and hand the grown slice back with keep.
func (c *chunk) buf(need int) []byte {
	if len(c.slabs) == 0 {
		c.slabs = append(c.slabs, make([]byte, 0, max(slabSize, need)))
	}
	s := c.slabs[c.cur]
	if cap(s)-len(s) >= need {
		return s
	}
	c.cur++
	if c.cur == len(c.slabs) {
		c.slabs = append(c.slabs, make([]byte, 0, max(slabSize, need)))
	}
	if cap(c.slabs[c.cur]) < need {
		c.slabs[c.cur] = make([]byte, 0, need)
	}
	return c.slabs[c.cur]
}

// keep stores the grown slab and returns the bytes appended since from.
// The result has its capacity cut, so later appends never overwrite it.
func (c *chunk) keep(s []byte, from int) []byte {
	c.slabs[c.cur] = s
	c.bytes += int64(len(s) - from)
	return s[from:len(s):len(s)]
}

// hdrs returns n header slots.
func (c *chunk) hdrs(n int) []kgo.RecordHeader {
	if cap(c.headers)-len(c.headers) < n {
		// Records already built keep the old array; the new one is twice
		// as large, so after a chunk or two reset finds room for a whole
		// chunk and nothing is allocated any more.
		c.headers = make([]kgo.RecordHeader, 0, max(2*cap(c.headers), 4096*n))
	}
	h := c.headers[len(c.headers) : len(c.headers)+n : len(c.headers)+n]
	c.headers = c.headers[:len(c.headers)+n]
	return h
}
