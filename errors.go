package kafkaworker

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kafkaworker/kafkaworker/internal/engine"
	"github.com/kafkaworker/kafkaworker/internal/kafka"
)

// FieldError is one problem with one configuration key.
type FieldError struct {
	Key   string // the Config field, spelled as in appsettings.json
	Value string // the offending value; secrets are never echoed
	Msg   string
}

func (e FieldError) Error() string { return fmt.Sprintf("%s=%q: %s", e.Key, e.Value, e.Msg) }

// ConfigError lists every problem Validate found.
type ConfigError struct {
	Problems []FieldError
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid configuration (%d problems):", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap lets errors.As find each FieldError.
func (e *ConfigError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

var (
	// ErrRecordFailed wraps the error that stopped Run under the stop
	// policy, or a dead letter that could not be produced; the record's
	// offset was not committed.
	ErrRecordFailed = engine.ErrFatal
	// ErrShutdownTimeout is returned by Run when handlers were still
	// running ShutdownTimeout after ctx ended; their records were not
	// committed and will be processed again.
	ErrShutdownTimeout = engine.ErrDrainTimeout
	// ErrBrokersUnreachable means no seed broker answered in time.
	ErrBrokersUnreachable = kafka.ErrUnreachable
	// ErrTopicNotFound means a configured topic (or the dead-letter
	// topic) does not exist.
	ErrTopicNotFound = kafka.ErrTopicNotFound
	// ErrAuthentication means the brokers refused our credentials.
	ErrAuthentication = kafka.ErrAuthentication
	// ErrTLS means the TLS handshake with the brokers failed for good:
	// their certificate is untrusted, expired or for another host name, or
	// they refused ours. The error says which.
	ErrTLS = kafka.ErrTLS
	// ErrNotBlocked is returned by Consumer.Release when no blocked record
	// has the given coordinates in a partition this consumer owns.
	ErrNotBlocked = engine.ErrNotBlocked
	// ErrClosed is returned by Run when called twice.
	ErrClosed = errors.New("kafkaworker: consumer already ran")
)

// PanicError is a handler panic turned into an error, with its stack.
type PanicError = engine.PanicError

// Permanent marks err as not worth retrying: the record skips its remaining
// retries and Config.FailurePolicy applies at once. Use it for records that
// are wrong in themselves (unparseable, rejected by validation), where a
// retry only delays the dead letter. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string   { return e.err.Error() }
func (e *permanentError) Unwrap() error   { return e.err }
func (e *permanentError) Permanent() bool { return true }

// IsPermanent reports whether err, or an error it wraps, has a method
// Permanent() bool that returns true: errors made by Permanent, and any
// error type of your own that says so (as net.Error says Timeout).
func IsPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}
