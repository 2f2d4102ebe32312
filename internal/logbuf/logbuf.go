// Package logbuf is a log buffer for tests: a connector (or a client) writes
// its log into it from its own goroutines while the test reads it. Only
// tests import it.
package logbuf

import (
	"strings"
	"sync"
)

// Buffer is an io.Writer safe for concurrent use; String returns what was
// written so far. The zero value is ready to use.
type Buffer struct {
	mu      sync.Mutex
	b       strings.Builder
	waiters []waiter
}

// waiter is a Written call still waiting for its text.
type waiter struct {
	text string
	seen chan struct{}
}

// Write appends p and wakes the Written calls whose text it completes.
func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.b.Write(p)
	kept := l.waiters[:0]
	for _, w := range l.waiters {
		if strings.Contains(l.b.String(), w.text) {
			close(w.seen)
			continue
		}
		kept = append(kept, w)
	}
	l.waiters = kept
	return n, err
}

// String returns everything written so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Written returns a channel that is closed once text has been written (at
// once if it already was): a test waits on the log line itself instead of
// polling for it.
func (l *Buffer) Written(text string) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := make(chan struct{})
	if strings.Contains(l.b.String(), text) {
		close(seen)
		return seen
	}
	l.waiters = append(l.waiters, waiter{text: text, seen: seen})
	return seen
}
