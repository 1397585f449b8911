package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kafkaworker/kafkaworker/internal/testtls"
)

// pki is a CA, a server certificate for 127.0.0.1 and a client
// certificate, written as PEM files.
type pki struct {
	ca               *testtls.CA
	caFile           string
	server           tls.Certificate
	clientCert       string
	clientKey        string
	otherKey         string // a key that belongs to no certificate here
	dir              string
	serverCertIssued testtls.Issued
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := t.TempDir()
	ca, err := testtls.NewCA("unit test CA")
	if err != nil {
		t.Fatal(err)
	}
	p := &pki{ca: ca, dir: dir, caFile: filepath.Join(dir, "ca.pem")}
	if err := os.WriteFile(p.caFile, ca.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	p.serverCertIssued = p.issue(t, testtls.Leaf{CommonName: "127.0.0.1", Hosts: []string{"127.0.0.1"}})
	if p.server, err = tls.X509KeyPair(p.serverCertIssued.CertPEM, p.serverCertIssued.KeyPEM); err != nil {
		t.Fatal(err)
	}
	client, err := ca.Client("unit-test-client")
	if err != nil {
		t.Fatal(err)
	}
	if p.clientCert, p.clientKey, err = client.WriteFiles(dir, "client"); err != nil {
		t.Fatal(err)
	}
	other, err := ca.Client("other")
	if err != nil {
		t.Fatal(err)
	}
	if _, p.otherKey, err = other.WriteFiles(dir, "other"); err != nil {
		t.Fatal(err)
	}
	return p
}

// issue signs l, valid from an hour ago for a day unless l says otherwise.
func (p *pki) issue(t *testing.T, l testtls.Leaf) testtls.Issued {
	t.Helper()
	if l.NotBefore.IsZero() {
		l.NotBefore, l.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	}
	is, err := p.ca.Issue(l)
	if err != nil {
		t.Fatal(err)
	}
	return is
}

func TestBuildCombinations(t *testing.T) {
	p := newPKI(t)
	for _, tc := range []struct {
		protocol, mechanism string
		tls                 bool
		sasl                string // the mechanism's name, "" for none
	}{
		{"", "", false, ""},
		{"PLAINTEXT", "", false, ""},
		{"plaintext", "", false, ""},
		{"SSL", "", true, ""},
		{"ssl", "", true, ""},
		{"SASL_PLAINTEXT", "PLAIN", false, "PLAIN"},
		{"SASL_PLAINTEXT", "SCRAM-SHA-256", false, "SCRAM-SHA-256"},
		{"SASL_PLAINTEXT", "SCRAM-SHA-512", false, "SCRAM-SHA-512"},
		{"SASL_SSL", "PLAIN", true, "PLAIN"},
		{"SASL_SSL", "SCRAM-SHA-256", true, "SCRAM-SHA-256"},
		{"SASL_SSL", "SCRAM-SHA-512", true, "SCRAM-SHA-512"},
		{"sasl_ssl", "scram-sha-512", true, "SCRAM-SHA-512"},
		// A mechanism without a SASL_ protocol is not used (Config's
		// validation refuses it before Build).
		{"SSL", "PLAIN", true, ""},
	} {
		t.Run(tc.protocol+"/"+tc.mechanism, func(t *testing.T) {
			s := Security{Protocol: tc.protocol, Mechanism: tc.mechanism, Username: "u", Password: "p", CALocation: p.caFile}
			tc2, mech, err := s.Build()
			if err != nil {
				t.Fatal(err)
			}
			if (tc2 != nil) != tc.tls {
				t.Fatalf("TLS config %v, want TLS %v", tc2, tc.tls)
			}
			if tc2 != nil {
				if tc2.MinVersion != tls.VersionTLS12 {
					t.Errorf("MinVersion %x, want TLS 1.2", tc2.MinVersion)
				}
				if tc2.InsecureSkipVerify {
					t.Error("InsecureSkipVerify set without asking")
				}
				want := x509.NewCertPool()
				want.AddCert(p.ca.Cert)
				if !tc2.RootCAs.Equal(want) {
					t.Error("RootCAs is not the pool of SslCaLocation")
				}
				if len(tc2.Certificates) != 0 {
					t.Errorf("%d client certificates, none configured", len(tc2.Certificates))
				}
			}
			got := ""
			if mech != nil {
				got = mech.Name()
			}
			if got != tc.sasl {
				t.Fatalf("SASL mechanism %q, want %q", got, tc.sasl)
			}
		})
	}
}

func TestBuildSystemRootsAndOverrides(t *testing.T) {
	tc, _, err := Security{Protocol: "SSL", ServerName: "kafka.example", InsecureVerify: true}.Build()
	if err != nil {
		t.Fatal(err)
	}
	if tc.RootCAs != nil {
		t.Error("RootCAs set without SslCaLocation: the system's roots must be used")
	}
	if tc.ServerName != "kafka.example" || !tc.InsecureSkipVerify {
		t.Errorf("ServerName %q, InsecureSkipVerify %v: overrides not passed on", tc.ServerName, tc.InsecureSkipVerify)
	}
}

func TestBuildUnsupportedMechanism(t *testing.T) {
	for _, m := range []string{"", "GSSAPI", "OAUTHBEARER", "SCRAM-SHA-1"} {
		tc, mech, err := Security{Protocol: "SASL_SSL", Mechanism: m}.Build()
		if err == nil || !strings.Contains(err.Error(), "unsupported SaslMechanism") {
			t.Errorf("mechanism %q: err %v, want unsupported SaslMechanism", m, err)
		}
		if tc != nil || mech != nil {
			t.Errorf("mechanism %q: returned a config with the error", m)
		}
	}
}

func TestBuildBadFiles(t *testing.T) {
	p := newPKI(t)
	notPEM := filepath.Join(p.dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(p.dir, "missing.pem")
	for _, tc := range []struct {
		name string
		s    Security
		is   error  // errors.Is target, if any
		says string // in the message
	}{
		{"missing CA", Security{CALocation: missing}, fs.ErrNotExist, "SslCaLocation"},
		{"CA not PEM", Security{CALocation: notPEM}, nil, "holds no PEM certificate"},
		{"CA is a key", Security{CALocation: p.clientKey}, nil, "holds no PEM certificate"},
		{"missing certificate", Security{CertLocation: missing, KeyLocation: p.clientKey}, fs.ErrNotExist, "SslCertificateLocation"},
		{"missing key", Security{CertLocation: p.clientCert, KeyLocation: missing}, fs.ErrNotExist, "SslKeyLocation"},
		{"certificate not PEM", Security{CertLocation: notPEM, KeyLocation: p.clientKey}, nil, "SslCertificateLocation"},
		{"key not PEM", Security{CertLocation: p.clientCert, KeyLocation: notPEM}, nil, "SslKeyLocation"},
		{"mismatched certificate and key", Security{CertLocation: p.clientCert, KeyLocation: p.otherKey}, nil, "does not match"},
		{"certificate without key", Security{CertLocation: p.clientCert}, nil, "go together"},
		{"key without certificate", Security{KeyLocation: p.clientKey}, nil, "go together"},
	} {
		for _, proto := range []string{"SSL", "SASL_SSL"} {
			t.Run(tc.name+"/"+proto, func(t *testing.T) {
				s := tc.s
				s.Protocol, s.Mechanism = proto, "PLAIN"
				tlsCfg, mech, err := s.Build()
				if err == nil {
					t.Fatal("Build succeeded")
				}
				if tlsCfg != nil || mech != nil {
					t.Error("returned a config with the error")
				}
				if tc.is != nil && !errors.Is(err, tc.is) {
					t.Errorf("error %v is not %v", err, tc.is)
				}
				if !strings.Contains(err.Error(), tc.says) {
					t.Errorf("error %q does not say %q", err, tc.says)
				}
			})
		}
	}
	// Without TLS the files are not read, so they cannot fail.
	if _, _, err := (Security{Protocol: "PLAINTEXT", CALocation: missing}).Build(); err != nil {
		t.Errorf("PLAINTEXT read SslCaLocation: %v", err)
	}
}

// The config Build returns really does TLS: it trusts the CA of
// SslCaLocation and presents the client certificate to a server that
// requires one.
func TestBuildHandshakes(t *testing.T) {
	p := newPKI(t)
	clientCfg, _, err := Security{Protocol: "SSL", CALocation: p.caFile, CertLocation: p.clientCert, KeyLocation: p.clientKey}.Build()
	if err != nil {
		t.Fatal(err)
	}
	if len(clientCfg.Certificates) != 1 {
		t.Fatalf("%d client certificates, want 1", len(clientCfg.Certificates))
	}
	pool := x509.NewCertPool()
	pool.AddCert(p.ca.Cert)
	server := &tls.Config{Certificates: []tls.Certificate{p.server}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	peer, err := handshake(t, server, clientCfg)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if peer == nil || peer.Subject.CommonName != "unit-test-client" {
		t.Fatalf("the server saw client certificate %v, want unit-test-client", peer)
	}
}

// handshake runs a TLS handshake between server and client over loopback
// TCP (a kernel buffer: over net.Pipe a side that gives up mid-flight would
// block writing its alert), then a one-byte exchange (TLS 1.3 reports a
// refused client certificate only on the first read). It returns the
// client certificate the server verified and the client's error.
func handshake(t *testing.T, server, client *tls.Config) (*x509.Certificate, error) {
	t.Helper()
	if client.ServerName == "" {
		client = client.Clone()
		client.ServerName = "127.0.0.1"
	}
	peer := make(chan *x509.Certificate, 1)
	addr := serve(t, func(c net.Conn) {
		s := tls.Server(c, server)
		var cert *x509.Certificate
		if s.Handshake() == nil {
			if certs := s.ConnectionState().PeerCertificates; len(certs) > 0 {
				cert = certs[0]
			}
			_, _ = s.Write([]byte{1})
		}
		peer <- cert
	})
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	c := tls.Client(conn, client)
	err = c.Handshake()
	if err == nil {
		_, err = c.Read(make([]byte, 1))
	}
	conn.Close()
	return <-peer, err
}

// serve accepts one connection on a loopback port and runs handle on it,
// closing it after; the test waits for it to end.
func serve(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		handle(c)
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
	})
	return l.Addr().String()
}
