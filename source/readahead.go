package source

import (
	"io"
)

// readahead reads its source in a goroutine of its own, up to depth
// buffers of size bytes ahead of the consumer, so that producing the bytes
// (inflating a zip entry or a gzip stream) runs on one core while the
// consumer parses CSV on another. An io.Pipe would not do: its Write blocks
// until the reader has taken every byte, so the two sides take turns.
//
// Errors of the source reach the reader unchanged once the bytes read
// before them are consumed. Close stops the goroutine, waits for it, and
// closes the source; it must not run concurrently with Read.
type readahead struct {
	src    io.ReadCloser
	full   chan []byte
	free   chan []byte
	done   chan struct{}
	exited chan struct{}
	errc   chan error // the source's final error (io.EOF at the end)

	cur []byte // unread bytes of buf
	buf []byte // the buffer being consumed, returned to free when used up
	err error
}

const (
	readaheadSize  = 256 << 10
	readaheadDepth = 4
)

func newReadahead(src io.ReadCloser) *readahead {
	r := &readahead{
		src:    src,
		full:   make(chan []byte, readaheadDepth),
		free:   make(chan []byte, readaheadDepth+1),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
		errc:   make(chan error, 1),
	}
	for range readaheadDepth + 1 {
		r.free <- make([]byte, readaheadSize)
	}
	go r.fill()
	return r
}

// fill runs in its own goroutine until the source ends or Close is called.
func (r *readahead) fill() {
	defer close(r.exited)
	defer close(r.full)
	for {
		var buf []byte
		select {
		case buf = <-r.free:
		case <-r.done:
			return
		}
		n, err := readFull(r.src, buf)
		if n > 0 {
			select {
			case r.full <- buf[:n]:
			case <-r.done:
				return
			}
		}
		if err != nil {
			r.errc <- err
			return
		}
	}
}

// readFull reads until buf is full or src fails; unlike io.ReadFull it
// returns src's error as it is (a truncated stream stays an error).
func readFull(src io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := src.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Read implements io.Reader.
func (r *readahead) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.buf != nil {
			r.free <- r.buf[:cap(r.buf)]
			r.buf = nil
		}
		if r.err != nil {
			return 0, r.err
		}
		b, ok := <-r.full
		if !ok {
			select {
			case r.err = <-r.errc:
			default:
				r.err = io.ErrClosedPipe // closed while reading
			}
			continue
		}
		r.cur, r.buf = b, b
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// Close implements io.Closer.
func (r *readahead) Close() error {
	select {
	case <-r.done:
		return nil
	default:
	}
	close(r.done)
	<-r.exited
	return r.src.Close()
}
