package demo

import (
	"testing"
	"time"
)

func TestCount(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0", 7: "7", 999: "999", 1000: "1,000", 200000: "200,000",
		1234567: "1,234,567", -1234: "-1,234",
	} {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestValueRoundTrip(t *testing.T) {
	seq, key, err := decodeValue(encodeValue(123456789, 4242))
	if err != nil || seq != 123456789 || key != 4242 {
		t.Fatalf("decode = %d, %d, %v", seq, key, err)
	}
	if _, _, err := decodeValue([]byte("short")); err == nil {
		t.Fatal("decoding a short value succeeded")
	}
}

func TestOrderCheck(t *testing.T) {
	c := newOrderCheck(2)
	c.enter(0)
	c.done(0, 5)
	c.leave(0)
	c.enter(0)
	c.done(0, 9)
	c.leave(0)
	c.done(1, 3) // another unit has its own order
	if v := c.violations.Load(); v != 0 {
		t.Fatalf("in-order calls counted %d violations", v)
	}
	c.done(0, 7) // overtaken
	c.enter(1)
	c.enter(1) // two calls for one unit at once
	if v := c.violations.Load(); v != 2 {
		t.Fatalf("violations = %d, want 2", v)
	}
}

func TestSimHandlerCountsDuplicates(t *testing.T) {
	h := newSimHandler(options{records: 130, partitions: 1, keys: 1, latency: 0})
	h.mark(3)
	h.mark(129)
	h.mark(3)
	if u, tw := h.unique.Load(), h.twice.Load(); u != 2 || tw != 1 {
		t.Fatalf("unique %d, twice %d; want 2, 1", u, tw)
	}
	h.busy[0].Store(int64(3 * time.Second))
	if got := h.sequentialTime(); got != 3*time.Second {
		t.Fatalf("sequentialTime = %v", got)
	}
}
