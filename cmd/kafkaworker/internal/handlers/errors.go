package handlers

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrRejected means the endpoint answered that the record itself is wrong
// (a 4xx other than 408 and 429, or a redirect): sending it again will not
// help. A StatusError that wraps it is permanent (kafkaworker.IsPermanent):
// the consumer skips the retries and applies its FailurePolicy at once.
var ErrRejected = errors.New("the endpoint rejected the record")

// StatusError is an answer other than 2xx.
type StatusError struct {
	Code int
	// Body is the start of the response body, for the log: endpoints
	// usually say there what they did not like.
	Body string
	// Retryable reports whether sending the record again may succeed: 408,
	// 429 and 5xx, the endpoint's own transient trouble.
	Retryable bool
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("HTTP %d %s", e.Code, http.StatusText(e.Code))
	if !e.Retryable {
		msg += ": " + ErrRejected.Error()
	}
	if e.Code >= 300 && e.Code < 400 {
		msg += " (redirects are not followed, because they would drop the body: set HttpUrl to the final URL)"
	}
	if e.Body != "" {
		msg += fmt.Sprintf(": %q", e.Body)
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrRejected) true for a rejection.
func (e *StatusError) Unwrap() error {
	if e.Retryable {
		return nil
	}
	return ErrRejected
}

// Permanent tells the consumer not to retry a rejection.
func (e *StatusError) Permanent() bool { return !e.Retryable }

// retryableStatus reports whether code is worth retrying.
func retryableStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500
}
