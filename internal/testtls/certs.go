// Package testtls makes the certificates of the TLS tier and finds the
// broker that scripts/kafka/kafka.sh starts with them.
//
// WriteBrokerFiles writes, into one directory, a CA and the server
// certificates the broker presents on its TLS listeners (a good one for
// 127.0.0.1 and localhost, an expired one, one for another host name), all
// as PEM, which Kafka 4 reads directly (ssl.keystore.type=PEM), and the
// SCRAM credentials kafka.sh formats the broker's storage with. Tests issue
// client certificates from the same CA at run time (LoadCA), and make other
// CAs to be distrusted.
package testtls

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Files in the directory WriteBrokerFiles fills. Server files hold the
// PKCS#8 key followed by the certificate, the form Kafka's PEM keystore
// reads from ssl.keystore.location.
const (
	CAFile        = "ca.pem"        // the CA certificate: the broker's truststore, our SslCaLocation
	CAKeyFile     = "ca.key"        // its key, for issuing client certificates in tests
	ServerFile    = "server.pem"    // valid for 127.0.0.1 and localhost
	ExpiredFile   = "expired.pem"   // valid for 127.0.0.1 and localhost, but expired a day ago
	WrongHostFile = "wronghost.pem" // valid, but for kafka.invalid only
	ScramFile     = "scram.env"     // SCRAM_USER=... and SCRAM_PASSWORD=..., sourced by kafka.sh
	ListenersFile = "listeners.env" // written by kafka.sh: NAME=host:port per listener
	clientCertTTL = 24 * time.Hour  // client certificates issued by tests
	serverCertTTL = 7 * 24 * time.Hour
)

// ScramUser is the SCRAM-SHA-512 user kafka.sh creates; its password is
// random, in ScramFile.
const ScramUser = "kafkaworker"

// CA is a certificate authority that can issue leaf certificates.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// NewCA returns a new self-signed CA named name.
func NewCA(name string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"kafkaworker tests"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(serverCertTTL),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}

// CertPEM is the CA certificate in PEM.
func (ca *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// Leaf describes a certificate to issue.
type Leaf struct {
	CommonName string
	Hosts      []string // DNS names and IP addresses
	Client     bool     // client authentication rather than server
	NotBefore  time.Time
	NotAfter   time.Time
}

// Issued is a certificate and its key, both PEM (the key PKCS#8).
type Issued struct {
	CertPEM []byte
	KeyPEM  []byte
}

// Issue signs a certificate for l.
func (ca *CA) Issue(l Leaf) (Issued, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Issued{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: l.CommonName, Organization: []string{"kafkaworker tests"}},
		NotBefore:    l.NotBefore,
		NotAfter:     l.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if l.Client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	for _, h := range l.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return Issued{}, err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Issued{}, err
	}
	return Issued{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}),
	}, nil
}

// Client issues a client certificate valid from an hour ago for a day.
func (ca *CA) Client(name string) (Issued, error) {
	now := time.Now()
	return ca.Issue(Leaf{CommonName: name, Client: true, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(clientCertTTL)})
}

// WriteFiles writes the certificate and key of is to dir/name.pem and
// dir/name.key and returns the two paths.
func (is Issued) WriteFiles(dir, name string) (cert, key string, err error) {
	cert, key = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(cert, is.CertPEM, 0o600); err != nil {
		return "", "", err
	}
	return cert, key, os.WriteFile(key, is.KeyPEM, 0o600)
}

// WriteBrokerFiles fills dir (created if needed) with everything the TLS
// broker needs. now dates the certificates.
func WriteBrokerFiles(dir string, now time.Time) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ca, err := NewCA("kafkaworker test CA")
	if err != nil {
		return err
	}
	local := []string{"127.0.0.1", "localhost"}
	leaves := []struct {
		file string
		leaf Leaf
	}{
		{ServerFile, Leaf{CommonName: "127.0.0.1", Hosts: local, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(serverCertTTL)}},
		{ExpiredFile, Leaf{CommonName: "127.0.0.1", Hosts: local, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)}},
		{WrongHostFile, Leaf{CommonName: "kafka.invalid", Hosts: []string{"kafka.invalid"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(serverCertTTL)}},
	}
	for _, l := range leaves {
		is, err := ca.Issue(l.leaf)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, l.file), append(is.KeyPEM, is.CertPEM...), 0o600); err != nil {
			return err
		}
	}
	caKey, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, CAFile), ca.CertPEM(), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, CAKeyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: caKey}), 0o600); err != nil {
		return err
	}
	pw := make([]byte, 16)
	if _, err := rand.Read(pw); err != nil {
		return err
	}
	scram := fmt.Sprintf("SCRAM_USER=%s\nSCRAM_PASSWORD=%s\n", ScramUser, hex.EncodeToString(pw))
	return os.WriteFile(filepath.Join(dir, ScramFile), []byte(scram), 0o600)
}

// LoadCA reads the CA WriteBrokerFiles wrote into dir.
func LoadCA(dir string) (*CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CAFile))
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, errors.New("testtls: no PEM block in the CA files")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("testtls: CA key is a %T", key)
	}
	return &CA{Cert: cert, Key: signer}, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return n
}
