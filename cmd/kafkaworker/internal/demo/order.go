package demo

import "sync/atomic"

// orderCheck verifies the ordering guarantee, for units that are keys (key
// ordering) or partitions (partition ordering): two calls for one unit must
// never run at once, and each unit's records must finish in offset order.
// Either failure counts as a violation. It is safe for concurrent use.
type orderCheck struct {
	running    []atomic.Int32 // calls running per unit
	last       []atomic.Int64 // highest offset finished per unit
	violations atomic.Int64
}

func newOrderCheck(units int) *orderCheck {
	c := &orderCheck{running: make([]atomic.Int32, units), last: make([]atomic.Int64, units)}
	for i := range c.last {
		c.last[i].Store(-1)
	}
	return c
}

func (c *orderCheck) units() int { return len(c.running) }

// enter notes a call starting for unit u.
func (c *orderCheck) enter(u int) {
	if c.running[u].Add(1) > 1 {
		c.violations.Add(1)
	}
}

// leave notes a call for unit u returning.
func (c *orderCheck) leave(u int) { c.running[u].Add(-1) }

// done notes that offset off of unit u finished successfully. An offset at
// or below the unit's last one means a record overtook an earlier one (or
// was processed twice, which the single-consumer demo never does).
func (c *orderCheck) done(u int, off int64) {
	for {
		last := c.last[u].Load()
		if off <= last {
			c.violations.Add(1)
			return
		}
		if c.last[u].CompareAndSwap(last, off) {
			return
		}
	}
}
