// Package porttest holds loopback TCP ports for tests without the race of
// probing for a free port and releasing it (another process may take it
// before the test uses it).
//
// A server a test starts itself takes its port by listening on
// 127.0.0.1:0 and being handed the listener. Reserve is for the other
// case: an address that must exist before anything listens on it, such as
// a broker that comes up after its clients, or an address where nothing
// listens at all. Only tests import it.
package porttest

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
)

// Port is a loopback TCP port held for a test: bound, so that the kernel
// hands it to no other socket asking for a free port, but not listening,
// so that connections to it are refused until Listen.
type Port struct {
	addr string

	mu sync.Mutex
	fd int // the bound socket; -1 once Listen took it or the test ended
}

// Reserve holds a free loopback port until the test ends.
func Reserve(t testing.TB) *Port {
	t.Helper()
	p, err := Hold()
	if err != nil {
		t.Fatalf("reserving a loopback port: %v", err)
	}
	t.Cleanup(p.Release)
	return p
}

// Hold holds a free loopback port until Release, for a caller without a
// test (a TestMain).
func Hold() (*Port, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	syscall.CloseOnExec(fd)
	// SO_REUSEADDR, as Go's listeners have it: a server restarted on the
	// port can bind it again despite the connections of the first one in
	// TIME_WAIT. A socket asking for port 0 is still never given a port
	// bound this way; only one asking for this very port could share it.
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("setsockopt: %w", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("bind: %w", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("getsockname: %w", err)
	}
	port := sa.(*syscall.SockaddrInet4).Port
	return &Port{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), fd: fd}, nil
}

// Addr is the port's host:port.
func (p *Port) Addr() string { return p.addr }

// Listen starts listening on the port, which never was free in between.
// The listener is the caller's; a port listens once.
func (p *Port) Listen() (net.Listener, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fd < 0 {
		return nil, fmt.Errorf("porttest: %s is already listening or released", p.addr)
	}
	if err := syscall.Listen(p.fd, syscall.SOMAXCONN); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", p.addr, err)
	}
	f := os.NewFile(uintptr(p.fd), p.addr)
	p.fd = -1
	defer f.Close()
	ln, err := net.FileListener(f) // a duplicate of the socket, in Go's poller
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", p.addr, err)
	}
	return ln, nil
}

// Release frees the port unless Listen took it (the listener then holds
// it until closed).
func (p *Port) Release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fd >= 0 {
		syscall.Close(p.fd)
		p.fd = -1
	}
}
