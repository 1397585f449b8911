package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkaworker/kafkaworker/internal/testtls"
)

const seeds = "broker-1:9093"

// explained asserts that Explain wraps err with sentinel, keeps err in the
// chain, and says each of says.
func explained(t *testing.T, err, sentinel error, says ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error to explain")
	}
	got := Explain(err, seeds)
	if !errors.Is(got, sentinel) {
		t.Fatalf("Explain(%v) = %v, not %v", err, got, sentinel)
	}
	if !errors.Is(got, err) {
		t.Errorf("Explain dropped the cause %v: %v", err, got)
	}
	for _, s := range says {
		if !strings.Contains(got.Error(), s) {
			t.Errorf("Explain(%v) = %q, does not say %q", err, got, s)
		}
	}
	for _, other := range []error{ErrTLS, ErrUnreachable, ErrAuthentication} {
		if other != sentinel && errors.Is(got, other) {
			t.Errorf("Explain(%v) is also %v", err, other)
		}
	}
}

// serverWith returns a TLS server config presenting a certificate for l
// issued by p's CA.
func serverWith(t *testing.T, p *pki, l testtls.Leaf) *tls.Config {
	t.Helper()
	is := p.issue(t, l)
	cert, err := tls.X509KeyPair(is.CertPEM, is.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}}
}

// The errors a real handshake gives, as crypto/tls returns them.
func TestExplainTLS(t *testing.T) {
	p := newPKI(t)
	trusting, _, err := Security{Protocol: "SSL", CALocation: p.caFile}.Build()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	local := []string{"127.0.0.1"}

	t.Run("unknown authority", func(t *testing.T) {
		other, err := testtls.NewCA("stranger CA")
		if err != nil {
			t.Fatal(err)
		}
		is, err := other.Issue(testtls.Leaf{CommonName: "127.0.0.1", Hosts: local, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		cert, err := tls.X509KeyPair(is.CertPEM, is.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		_, err = handshake(t, &tls.Config{Certificates: []tls.Certificate{cert}}, trusting)
		if !errors.As(err, new(x509.UnknownAuthorityError)) {
			t.Fatalf("handshake: %v, want an unknown authority", err)
		}
		explained(t, err, ErrTLS, "signed by an unknown authority", `issuer "CN=stranger CA`, "SslCaLocation", seeds)
	})
	t.Run("expired", func(t *testing.T) {
		notAfter := now.Add(-24 * time.Hour).Truncate(time.Second)
		_, err := handshake(t, serverWith(t, p, testtls.Leaf{CommonName: "old", Hosts: local, NotBefore: now.Add(-48 * time.Hour), NotAfter: notAfter}), trusting)
		explained(t, err, ErrTLS, `certificate ("CN=old`, "expired at "+notAfter.UTC().Format(time.RFC3339), "renewed certificate")
	})
	t.Run("not yet valid", func(t *testing.T) {
		notBefore := now.Add(24 * time.Hour).Truncate(time.Second)
		_, err := handshake(t, serverWith(t, p, testtls.Leaf{CommonName: "new", Hosts: local, NotBefore: notBefore, NotAfter: now.Add(48 * time.Hour)}), trusting)
		explained(t, err, ErrTLS, "not valid until "+notBefore.UTC().Format(time.RFC3339), "clock")
	})
	t.Run("wrong host", func(t *testing.T) {
		_, err := handshake(t, serverWith(t, p, testtls.Leaf{CommonName: "x", Hosts: []string{"kafka.example", "10.0.0.9"}}), trusting)
		if !errors.As(err, new(x509.HostnameError)) {
			t.Fatalf("handshake: %v, want a hostname error", err)
		}
		explained(t, err, ErrTLS, `certificate is for kafka.example, 10.0.0.9, not "127.0.0.1"`, "BootstrapServers")
	})
	t.Run("no names", func(t *testing.T) {
		_, err := handshake(t, serverWith(t, p, testtls.Leaf{CommonName: "127.0.0.1"}), trusting)
		explained(t, err, ErrTLS, `"127.0.0.1" only (no subject alternative names)`)
	})
	t.Run("client certificate as server certificate", func(t *testing.T) {
		_, err := handshake(t, serverWith(t, p, testtls.Leaf{CommonName: "c", Hosts: local, Client: true}), trusting)
		var invalid x509.CertificateInvalidError
		if !errors.As(err, &invalid) || invalid.Reason != x509.IncompatibleUsage {
			t.Fatalf("handshake: %v, want incompatible usage", err)
		}
		explained(t, err, ErrTLS, "is not valid", "server certificate")
	})
	t.Run("client certificate required", func(t *testing.T) {
		pool := x509.NewCertPool()
		pool.AddCert(p.ca.Cert)
		server := &tls.Config{Certificates: []tls.Certificate{p.server}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
		_, err := handshake(t, server, trusting)
		explained(t, err, ErrTLS, "refused the handshake", "SslCertificateLocation and SslKeyLocation")
	})
	t.Run("plaintext server", func(t *testing.T) {
		addr := serve(t, func(c net.Conn) {
			_, _ = c.Read(make([]byte, 4096))
			_, _ = c.Write([]byte("HTTP/1.0 400 Bad Request\r\n\r\n"))
		})
		conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
		cfg := trusting.Clone()
		cfg.ServerName = "127.0.0.1"
		err = tls.Client(conn, cfg).Handshake()
		if !errors.As(err, new(tls.RecordHeaderError)) {
			t.Fatalf("handshake: %v, want a record header error", err)
		}
		explained(t, err, ErrTLS, "does not speak TLS", "SecurityProtocol")
	})
}

func TestExplainOthers(t *testing.T) {
	refused := func() error {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err == nil {
			c.Close()
			t.Skip("something listens on the port just closed")
		}
		return err
	}()
	for _, tc := range []struct {
		name     string
		err      error
		sentinel error
		says     string
	}{
		{"sasl failed", kerr.SaslAuthenticationFailed, ErrAuthentication, "SaslPassword"},
		{"unsupported mechanism", fmt.Errorf("auth: %w", kerr.UnsupportedSaslMechanism), ErrAuthentication, "SaslMechanism"},
		{"topic acl", kerr.TopicAuthorizationFailed, ErrAuthentication, "ACLs"},
		{"group acl", kerr.GroupAuthorizationFailed, ErrAuthentication, "ACLs"},
		{"connection refused", refused, ErrUnreachable, "no answer from " + seeds},
		// isDial: ECONNREFUSED however it is wrapped, not only in a net.Error.
		{"bare ECONNREFUSED", fmt.Errorf("unable to dial: %w", syscall.ECONNREFUSED), ErrUnreachable, "TLS on or off"},
		{"deadline", fmt.Errorf("metadata: %w", context.DeadlineExceeded), ErrUnreachable, "is the address right"},
		{"first read EOF", &kgo.ErrFirstReadEOF{}, ErrUnreachable, "TLS on or off"},
	} {
		t.Run(tc.name, func(t *testing.T) { explained(t, tc.err, tc.sentinel, tc.says) })
	}
}

func TestExplainLeavesOthersAlone(t *testing.T) {
	if Explain(nil, seeds) != nil {
		t.Error("Explain(nil) is not nil")
	}
	for _, err := range []error{
		errors.New("connection refused"), // the words alone are no refused connection
		io.ErrShortWrite,
		kerr.UnknownTopicOrPartition,
		fmt.Errorf("decoding: %w", io.ErrUnexpectedEOF),
	} {
		if got := Explain(err, seeds); got != err {
			t.Errorf("Explain(%v) = %v, want it unchanged", err, got)
		}
	}
}

// Check, end to end on an in-process cluster: a TLS failure is final at
// once (not retried until ctx ends like an unreachable broker), and so are
// wrong credentials.
func TestCheckTLSFailsAtOnce(t *testing.T) {
	p := newPKI(t)
	now := time.Now()
	expired := serverWith(t, p, testtls.Leaf{CommonName: "old", Hosts: []string{"127.0.0.1"}, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)})
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(expired), kfake.SeedTopics(1, "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tc, _, err := Security{Protocol: "SSL", CALocation: p.caFile}.Build()
	if err != nil {
		t.Fatal(err)
	}
	err = checkCluster(t, c, false, kgo.DialTLSConfig(tc))
	var invalid x509.CertificateInvalidError
	if !errors.Is(err, ErrTLS) || !errors.As(err, &invalid) || invalid.Reason != x509.Expired {
		t.Fatalf("Check: %v, want ErrTLS for an expired certificate", err)
	}
}

func TestCheckWrongPasswordFailsAtOnce(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(),
		kfake.Superuser("SCRAM-SHA-512", "admin", "right"), kfake.SeedTopics(1, "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, pw := range []string{"right", "wrong"} {
		_, mech, err := Security{Protocol: "SASL_PLAINTEXT", Mechanism: "SCRAM-SHA-512", Username: "admin", Password: pw}.Build()
		if err != nil {
			t.Fatal(err)
		}
		err = checkCluster(t, c, true, kgo.SASL(mech))
		if pw == "right" && err != nil {
			t.Fatalf("Check with the right password: %v", err)
		}
		if pw == "wrong" && !errors.Is(err, ErrAuthentication) {
			t.Fatalf("Check with a wrong password: %v, want ErrAuthentication", err)
		}
	}
}

// checkCluster runs Check against c with opts, within a minute: long
// enough that an error which Check retried until ctx ended would show as
// ErrUnreachable or a deadline, never as the final error asserted above.
func checkCluster(t *testing.T, c *kfake.Cluster, withSASL bool, opts ...kgo.Opt) error {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return Check(ctx, cl, strings.Join(c.ListenAddrs(), ","), withSASL, "t")
}

func TestIsDial(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{syscall.ECONNREFUSED, true},
		{&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, true},
		{fmt.Errorf("unable to dial: %w", syscall.ECONNREFUSED), true},
		{errors.New("dial tcp 127.0.0.1:9: connect: connection refused"), false}, // text is not type
		{syscall.ECONNRESET, false},
		{&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.EHOSTUNREACH)}, false},
	} {
		if got := isDial(tc.err); got != tc.want {
			t.Errorf("isDial(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
