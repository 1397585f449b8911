package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Sentinels Check wraps; the root package re-exports them.
var (
	ErrUnreachable    = errors.New("kafka brokers unreachable")
	ErrTopicNotFound  = errors.New("topic not found")
	ErrAuthentication = errors.New("kafka authentication failed")
)

// Check asks the cluster for the topics' metadata, so that a wrong address,
// wrong credentials or a missing topic is reported at start-up in plain words
// instead of as endless retries. ctx bounds it.
//
// withSASL says whether the client authenticates: a broker that rejects
// credentials may just close the connection, which only then means "wrong
// credentials".
//
// Unreachable brokers are asked again, with backoff, until ctx ends: a
// service started together with its brokers must wait for them, not
// crash-loop. A topic reported missing is asked for again for up to
// missingGrace: a topic created a moment ago may not have reached every
// broker's metadata yet. Authentication failures are final at once.
func Check(ctx context.Context, cl *kgo.Client, seeds string, withSASL bool, topics ...string) error {
	missingUntil := time.Now().Add(missingGrace)
	backoff := 100 * time.Millisecond
	for {
		err := check(ctx, cl, seeds, withSASL, topics)
		switch {
		case err == nil, errors.Is(err, ErrAuthentication):
			return err
		case errors.Is(err, ErrTopicNotFound) && time.Now().After(missingUntil):
			return err
		case !errors.Is(err, ErrTopicNotFound) && !errors.Is(err, ErrUnreachable):
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

const missingGrace = 5 * time.Second

func check(ctx context.Context, cl *kgo.Client, seeds string, withSASL bool, topics []string) error {
	details, err := kadm.NewClient(cl).ListTopics(ctx, topics...)
	if err != nil {
		if withSASL && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) {
			return fmt.Errorf("%w: %s closed the connection during authentication: %w (check SaslUsername, SaslPassword and SaslMechanism)", ErrAuthentication, seeds, err)
		}
		return Explain(err, seeds)
	}
	var errs []error
	for _, t := range topics {
		d, ok := details[t]
		switch {
		case !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition):
			errs = append(errs, fmt.Errorf("%w: %q does not exist on %s (kafkaworker does not create topics)", ErrTopicNotFound, t, seeds))
		case d.Err != nil:
			errs = append(errs, fmt.Errorf("topic %q: %w", t, Explain(d.Err, seeds)))
		}
	}
	return errors.Join(errs...)
}

// Explain wraps err with the sentinel a user can act on, when it is one.
func Explain(err error, seeds string) error {
	var ne net.Error
	switch {
	case errors.Is(err, kerr.SaslAuthenticationFailed), errors.Is(err, kerr.IllegalSaslState),
		errors.Is(err, kerr.UnsupportedSaslMechanism), errors.Is(err, kerr.TopicAuthorizationFailed),
		errors.Is(err, kerr.GroupAuthorizationFailed), errors.Is(err, kerr.ClusterAuthorizationFailed):
		return fmt.Errorf("%w: %w (check SaslUsername, SaslPassword and SaslMechanism, and the ACLs)", ErrAuthentication, err)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne), isDial(err),
		errors.As(err, new(*kgo.ErrFirstReadEOF)):
		return fmt.Errorf("%w: no answer from %s: %w (is the address right, and TLS on or off as the brokers expect?)", ErrUnreachable, seeds, err)
	}
	return err
}

func isDial(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) || strings.Contains(err.Error(), "connection refused")
}
