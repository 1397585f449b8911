package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
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
	// ErrTLS means the TLS handshake with a broker failed in a way that
	// retrying cannot mend: its certificate is not trusted, has expired or
	// names another host, or the broker refused ours. Explain says which.
	ErrTLS = errors.New("kafka TLS handshake failed")
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

// Explain wraps err with the sentinel a user can act on, when it is one,
// and says in plain words what to change. Errors are told apart by their
// types (errors.Is / errors.As), never by their text.
func Explain(err error, seeds string) error {
	var ne net.Error
	switch {
	case errors.Is(err, kerr.SaslAuthenticationFailed), errors.Is(err, kerr.IllegalSaslState),
		errors.Is(err, kerr.UnsupportedSaslMechanism), errors.Is(err, kerr.TopicAuthorizationFailed),
		errors.Is(err, kerr.GroupAuthorizationFailed), errors.Is(err, kerr.ClusterAuthorizationFailed):
		return fmt.Errorf("%w: %w (check SaslUsername, SaslPassword and SaslMechanism, and the ACLs)", ErrAuthentication, err)
	}
	// Before the network errors: a TLS alert from the broker arrives as a
	// *net.OpError, yet is no network trouble.
	if why := explainTLS(err); why != "" {
		return fmt.Errorf("%w with %s: %s: %w", ErrTLS, seeds, why, err)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne), isDial(err),
		errors.As(err, new(*kgo.ErrFirstReadEOF)):
		return fmt.Errorf("%w: no answer from %s: %w (is the address right, and TLS on or off as the brokers expect?)", ErrUnreachable, seeds, err)
	}
	return err
}

// explainTLS says what is wrong when err is a TLS failure, or returns "".
func explainTLS(err error) string {
	var (
		unknown  x509.UnknownAuthorityError
		invalid  x509.CertificateInvalidError
		hostname x509.HostnameError
		verify   *tls.CertificateVerificationError
		op       *net.OpError
	)
	switch {
	case errors.As(err, &unknown):
		issuer := ""
		if unknown.Cert != nil {
			issuer = fmt.Sprintf(" (issuer %q)", unknown.Cert.Issuer.String())
		}
		return fmt.Sprintf("the broker's certificate is signed by an unknown authority%s: "+
			"set SslCaLocation to the PEM file of the CA that issued it", issuer)
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		// x509 reports a certificate not yet valid as Expired too.
		if c := invalid.Cert; c != nil && time.Now().Before(c.NotBefore) {
			return fmt.Sprintf("the broker's certificate (%q) is not valid until %s: check this machine's clock",
				c.Subject.String(), c.NotBefore.UTC().Format(time.RFC3339))
		}
		if c := invalid.Cert; c != nil {
			return fmt.Sprintf("the broker's certificate (%q) expired at %s: the broker needs a renewed certificate",
				c.Subject.String(), c.NotAfter.UTC().Format(time.RFC3339))
		}
		return "the broker's certificate has expired: the broker needs a renewed certificate"
	case errors.As(err, &hostname):
		return fmt.Sprintf("the broker's certificate is for %s, not %q: BootstrapServers (and the brokers' "+
			"advertised listeners) must name the brokers as their certificates do", certNames(hostname.Certificate), hostname.Host)
	case errors.As(err, &invalid):
		return fmt.Sprintf("the broker's certificate is not valid (%v): it must be a server certificate issued by the CA in SslCaLocation", invalid)
	case errors.As(err, &verify):
		return "the broker's certificate failed verification"
	case errors.As(err, &op) && op.Op == "remote error":
		// crypto/tls reports an alert the broker sent this way: the
		// broker rejected the handshake, most often our certificate.
		return "the broker refused the handshake: if it requires client certificates (ssl.client.auth=required), " +
			"set SslCertificateLocation and SslKeyLocation to a certificate its truststore accepts"
	case errors.As(err, new(tls.RecordHeaderError)):
		return "the broker does not speak TLS on this port: SecurityProtocol must match the listener (PLAINTEXT or SASL_PLAINTEXT?)"
	}
	return ""
}

// certNames lists the names a certificate is valid for.
func certNames(c *x509.Certificate) string {
	if c == nil {
		return "other names"
	}
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return fmt.Sprintf("%q only (no subject alternative names)", c.Subject.CommonName)
	}
	return strings.Join(names, ", ")
}

// isDial reports a refused connection: nothing listens at the address (yet).
func isDial(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
}
