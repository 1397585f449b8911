//go:build unix

// Brokers that cannot be reached, silent or refusing: Run gives up within
// the start-up timeout with ErrBrokersUnreachable naming the address, and
// waits without spinning (measured with getrusage(2), hence unix only).

package kafkaworker_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kafkaworker/kafkaworker"
)

// silentBroker accepts connections and never answers; it returns its address
// and how many connections it accepted so far.
func silentBroker(t *testing.T) (addr string, accepted func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String(), func() int { mu.Lock(); defer mu.Unlock(); return len(conns) }
}

// closedPort returns an address on which nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// Unreachable brokers, silent or refusing: Run returns ErrBrokersUnreachable
// naming the address within the start-up timeout, and waits without
// spinning.
func TestBadInputUnreachableBrokers(t *testing.T) {
	const startup = 2 * time.Second
	silent, accepted := silentBroker(t)
	for _, tt := range []struct{ name, addr string }{
		{"accepts and never answers", silent},
		{"closed port", closedPort(t)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := kafkaworker.Config{BootstrapServers: tt.addr, GroupID: "g", Topic: "orders"}
			c, err := kafkaworker.New(cfg, nopHandler, kafkaworker.WithLogger(testLogger()), kafkaworker.WithStartupTimeout(startup))
			if err != nil {
				t.Fatal(err)
			}
			cpu0, t0 := cpuTime(t), time.Now()
			err = runWithin(t, c, context.Background(), startup+5*time.Second)
			wall, cpu := time.Since(t0), cpuTime(t)-cpu0
			t.Logf("Run returned after %s using %s CPU: %v", wall.Round(time.Millisecond), cpu.Round(time.Millisecond), err)
			if !errors.Is(err, kafkaworker.ErrBrokersUnreachable) {
				t.Fatalf("Run = %v, want ErrBrokersUnreachable", err)
			}
			if !strings.Contains(err.Error(), tt.addr) {
				t.Fatalf("the error does not name the address %s: %v", tt.addr, err)
			}
			// A busy loop would use about one core for the whole wait.
			// (A refused connection fails at once: nothing to measure.)
			if wall > 500*time.Millisecond && cpu > wall/4 {
				t.Fatalf("Run used %s of CPU in %s of waiting: it spins", cpu, wall)
			}
		})
	}
	if n := accepted(); n < 1 || n > 10 {
		t.Fatalf("the client opened %d connections to the silent broker in %s, want 1 to 10", n, startup)
	}

	// Cancelling Run's context ends the start-up wait at once, long before
	// the start-up timeout.
	cfg := kafkaworker.Config{BootstrapServers: silent, GroupID: "g", Topic: "orders"}
	c, err := kafkaworker.New(cfg, nopHandler, kafkaworker.WithLogger(testLogger()), kafkaworker.WithStartupTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	if err := runWithin(t, c, ctx, 5*time.Second); err == nil {
		t.Fatal("Run = nil on a silent broker")
	}
	t.Logf("cancelled start-up returned after %s", time.Since(t0).Round(time.Millisecond))
}
