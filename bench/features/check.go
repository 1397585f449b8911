package features

import (
	"context"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Seq reads the sequence number the benchmark's data set writes at the
// start of every value (`{"seq":<10 digits>,...`, see harness.Dataset), or
// -1 if the value does not start so.
func Seq(v []byte) int64 {
	const prefix = `{"seq":`
	if len(v) < len(prefix)+10 || string(v[:len(prefix)]) != prefix {
		return -1
	}
	var n int64
	for _, c := range v[len(prefix) : len(prefix)+10] {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// PoisonEvery makes one record in 1,000 poison (issue 12's 0.1%).
const PoisonEvery = 1000

// IsPoison says whether the record with sequence number seq always fails.
// The offset 7 keeps poison records off the first record of every key.
func IsPoison(seq int64) bool { return seq%PoisonEvery == 7 }

// KeyOrder checks key order against the data set's layout: record seq has
// key seq mod Keys, and a key's records hash to one partition, where they
// sit in seq order; so key k's records must reach the handler as k,
// k+Keys, k+2·Keys, ..., none skipped, never two of them in calls at once,
// and a record may come again (a retry, a bisected batch's half) only while
// no later record of its key has started. Safe for concurrent use.
type KeyOrder struct {
	keys int64

	mu         sync.Mutex
	last       []int64 // per key: the newest seq begun; -1 before the first
	busy       []bool  // per key: a call holding one of its records runs
	calls      int64
	twoOfAKey  int64 // calls holding two records of one key
	violations int64
	first      string // the first violation, described
}

// NewKeyOrder checks a data set of keys distinct keys.
func NewKeyOrder(keys int) *KeyOrder {
	o := &KeyOrder{keys: int64(keys), last: make([]int64, keys), busy: make([]bool, keys)}
	for i := range o.last {
		o.last[i] = -1
	}
	return o
}

// Begin is called when a handler call starts with the records of seqs.
func (o *KeyOrder) Begin(seqs []int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls++
	for i, s := range seqs {
		if s < 0 {
			o.violate("a record without a sequence number")
			continue
		}
		k := s % o.keys
		if o.busy[k] {
			if contains(seqs[:i], k, o.keys) {
				o.twoOfAKey++
			}
			o.violate(fmt.Sprintf("seq %d began while a call held another record of key %d", s, k))
			continue
		}
		o.busy[k] = true
		want := o.last[k] + o.keys
		if o.last[k] < 0 {
			want = k
		}
		switch s {
		case want:
			o.last[k] = s
		case o.last[k]: // the newest record of its key again: a retry
		default:
			o.violate(fmt.Sprintf("key %d: seq %d began after seq %d (want %d next)", k, s, o.last[k], want))
		}
	}
}

// End is called when the call that Begin saw with seqs returns.
func (o *KeyOrder) End(seqs []int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, s := range seqs {
		if s >= 0 {
			o.busy[s%o.keys] = false
		}
	}
}

func contains(seqs []int64, k, keys int64) bool {
	for _, s := range seqs {
		if s >= 0 && s%keys == k {
			return true
		}
	}
	return false
}

func (o *KeyOrder) violate(what string) {
	o.violations++
	if o.first == "" {
		o.first = what
	}
}

// OrderReport is what KeyOrder found.
type OrderReport struct {
	Calls      int64  // handler calls checked
	Records    int64  // distinct records begun, in the order checked
	TwoOfAKey  int64  // calls holding two records of one key
	Violations int64  // records out of key order (TwoOfAKey included)
	First      string // the first violation
}

// Report reads the result so far.
func (o *KeyOrder) Report() OrderReport {
	o.mu.Lock()
	defer o.mu.Unlock()
	r := OrderReport{Calls: o.calls, TwoOfAKey: o.twoOfAKey, Violations: o.violations, First: o.first}
	for k, l := range o.last {
		if l >= 0 {
			r.Records += (l-int64(k))/o.keys + 1
		}
	}
	return r
}

// DeadLetters reads the whole dead-letter topic (up to its end offsets
// now) and returns the sequence numbers of its records, in the order read.
func DeadLetters(ctx context.Context, bootstrap, topic string) ([]int64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	var want int64
	ends.Each(func(o kadm.ListedOffset) { want += o.Offset })
	var seqs []int64
	for int64(len(seqs)) < want {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			return seqs, fmt.Errorf("read %s: %w (%d of %d records read)", topic, err, len(seqs), want)
		}
		fs.EachRecord(func(r *kgo.Record) { seqs = append(seqs, Seq(r.Value)) })
	}
	return seqs, nil
}

// DeadLetterCheck compares the dead-letter topic's records with the poison
// records of a topic of n records (seq 0 to n−1): exactly those, each once.
type DeadLetterCheck struct {
	Poison, DeadLetters int64 // poison records in the topic; records in the dead-letter topic
	NotPoison           int64 // dead letters that are not poison records
	Missing             int64 // poison records not dead-lettered
	Twice               int64 // poison records dead-lettered more than once
}

// CheckDeadLetters compares dead (the dead-letter topic's seqs) with the
// poison records among seq 0 to n−1.
func CheckDeadLetters(dead []int64, n int64) DeadLetterCheck {
	c := DeadLetterCheck{DeadLetters: int64(len(dead))}
	seen := map[int64]int{}
	for _, s := range dead {
		if s < 0 || s >= n || !IsPoison(s) {
			c.NotPoison++
			continue
		}
		if seen[s]++; seen[s] == 2 {
			c.Twice++
		}
	}
	for s := int64(0); s < n; s++ {
		if IsPoison(s) {
			c.Poison++
			if seen[s] == 0 {
				c.Missing++
			}
		}
	}
	return c
}

// Exact reports whether exactly the poison records were dead-lettered.
func (c DeadLetterCheck) Exact() bool {
	return c.NotPoison == 0 && c.Missing == 0 && c.Twice == 0 && c.DeadLetters == c.Poison
}
