package kafkaworker

import (
	"errors"
	"fmt"
	"time"
)

// MaxRetryAfter caps the pause a RetryAfter error asks for, so that a
// downstream's mistaken Retry-After of a day does not stall the consumer for
// a day.
const MaxRetryAfter = 5 * time.Minute

// RetryAfter tells the consumer that the downstream is overloaded and asked
// to be left alone for d (an HTTP 429 or 503 with Retry-After, a gRPC
// RESOURCE_EXHAUSTED with a retry delay): the consumer then starts no
// record at all for d, on any partition, rather than hammering it with
// retries; the record is retried after d, and this attempt does not count
// against MaxRetries. d is capped at MaxRetryAfter; d ≤ 0 pauses for
// RetryBackoffMin. err, the downstream's answer, is kept for logs and
// errors.Is.
func RetryAfter(d time.Duration, err error) error {
	return &RetryAfterError{Delay: d, Err: err}
}

// RetryAfterError is the error RetryAfter returns.
type RetryAfterError struct {
	Delay time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("retry after %s: %v", e.Delay, e.Err)
}

func (e *RetryAfterError) Unwrap() error { return e.Err }

// Overloaded marks err as the downstream saying it is overloaded (an HTTP
// 503 or 429 without Retry-After, a gRPC RESOURCE_EXHAUSTED, a database's
// "too many connections"): with AdaptiveConcurrency the limit is cut at
// once. The record is retried as for any error. Overloaded(nil) is nil. A
// RetryAfter error counts as overload too.
func Overloaded(err error) error {
	if err == nil {
		return nil
	}
	return &overloadedError{err}
}

type overloadedError struct{ err error }

func (e *overloadedError) Error() string    { return e.err.Error() }
func (e *overloadedError) Unwrap() error    { return e.err }
func (e *overloadedError) Overloaded() bool { return true }

// IsOverloaded reports whether err, or an error it wraps, is a RetryAfter
// or has a method Overloaded() bool that returns true: errors made by
// Overloaded, and error types of your own that say so.
func IsOverloaded(err error) bool {
	var ra *RetryAfterError
	if errors.As(err, &ra) {
		return true
	}
	var o interface{ Overloaded() bool }
	return errors.As(err, &o) && o.Overloaded()
}

// SetMaxProcCount changes MaxProcCount while the consumer runs (or before):
// the most handler calls at once, or the ceiling of the adaptive limit.
// Raising it starts workers; lowering it takes effect as running calls
// finish. n below 1 counts as 1. Config() keeps reporting the configured
// value; Stats().ConcurrencyLimit the one in force. For an admin action.
func (c *Consumer) SetMaxProcCount(n int) { c.eng.SetMaxProcCount(n) }

// SetMaxRecordsPerSecond changes MaxRecordsPerSecond while the consumer
// runs (or before): perSecond 0 lifts the limit (as do a negative value,
// NaN and +Inf), and a limit may be set where none was configured. It takes
// effect at once: handler calls waiting for the old rate wait for the new
// one instead, and the new rate starts with a full burst (20 ms of
// records). Config() keeps reporting the configured value;
// Stats().MaxRecordsPerSecond the one in force. For an admin action.
func (c *Consumer) SetMaxRecordsPerSecond(perSecond float64) { c.eng.SetMaxRecordsPerSecond(perSecond) }

// retryAfter is the engine's test for a RetryAfter error: the pause it
// asks for, bounded.
func (c *Consumer) retryAfter(err error) (time.Duration, bool) {
	var ra *RetryAfterError
	if !errors.As(err, &ra) {
		return 0, false
	}
	if ra.Delay <= 0 {
		return c.cfg.RetryBackoffMin, true
	}
	return min(ra.Delay, MaxRetryAfter), true
}
