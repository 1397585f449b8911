package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Security is the user's security settings, named as in Kafka's clients.
type Security struct {
	Protocol       string // PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
	Mechanism      string // PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
	Username       string
	Password       string
	CALocation     string
	CertLocation   string
	KeyLocation    string
	ServerName     string // optional SNI / verification name override
	InsecureVerify bool   // skip verification (tests only)
}

// Build returns the TLS config and SASL mechanism the settings ask for (nil
// when not used). Files are read now, so a wrong path fails at start-up.
func (s Security) Build() (*tls.Config, sasl.Mechanism, error) {
	proto := strings.ToUpper(s.Protocol)
	var tc *tls.Config
	if proto == "SSL" || proto == "SASL_SSL" {
		tc = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: s.ServerName, InsecureSkipVerify: s.InsecureVerify} //nolint:gosec // opt-in for tests
		if s.CALocation != "" {
			pem, err := os.ReadFile(s.CALocation)
			if err != nil {
				return nil, nil, fmt.Errorf("reading SslCaLocation: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, nil, fmt.Errorf("SslCaLocation %q holds no PEM certificate", s.CALocation)
			}
			tc.RootCAs = pool
		}
		if (s.CertLocation == "") != (s.KeyLocation == "") {
			return nil, nil, fmt.Errorf("SslCertificateLocation and SslKeyLocation go together (got %q and %q)", s.CertLocation, s.KeyLocation)
		}
		if s.CertLocation != "" {
			cert, err := tls.LoadX509KeyPair(s.CertLocation, s.KeyLocation)
			if err != nil {
				return nil, nil, fmt.Errorf("loading SslCertificateLocation/SslKeyLocation: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
	}
	if !strings.HasPrefix(proto, "SASL_") {
		return tc, nil, nil
	}
	switch strings.ToUpper(s.Mechanism) {
	case "PLAIN":
		return tc, plain.Auth{User: s.Username, Pass: s.Password}.AsMechanism(), nil
	case "SCRAM-SHA-256":
		return tc, scram.Auth{User: s.Username, Pass: s.Password}.AsSha256Mechanism(), nil
	case "SCRAM-SHA-512":
		return tc, scram.Auth{User: s.Username, Pass: s.Password}.AsSha512Mechanism(), nil
	}
	return nil, nil, fmt.Errorf("unsupported SaslMechanism %q", s.Mechanism)
}
