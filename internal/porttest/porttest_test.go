package porttest_test

import (
	"errors"
	"net"
	"syscall"
	"testing"

	"github.com/freshstream/freshchat-kafka/internal/porttest"
)

func TestReservedPortRefusesThenListens(t *testing.T) {
	p := porttest.Reserve(t)

	_, err := net.Dial("tcp", p.Addr())
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dialling a reserved port: got %v, want connection refused", err)
	}
	ln, err := p.Listen()
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if ln.Addr().String() != p.Addr() {
		t.Fatalf("listening on %s, want %s", ln.Addr(), p.Addr())
	}
	accepted := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
		accepted <- err
	}()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := <-accepted; err != nil {
		t.Fatal(err)
	}
	if _, err := p.Listen(); err == nil {
		t.Fatal("a port listens once")
	}
}
