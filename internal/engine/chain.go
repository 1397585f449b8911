package engine

// chain serialises the records that must run one at a time: those of one key
// (ByKey) or of one partition (ByPartition). While a chain exists one of its
// records is runnable, running or waiting out a retry backoff; the others wait
// in offset order.
//
// Keys are told apart by a 64-bit hash (maphash, seeded per engine), so a
// record costs no string allocation. Two keys with the same hash share a
// chain: they are then serialised together, which is safe (order is only
// ever stricter) and, at 2^-64 per pair, never seen in practice.
type chain[R any] struct {
	key     uint64
	busy    bool // one of its records is runnable, running or in backoff
	waiting list[R]
}
