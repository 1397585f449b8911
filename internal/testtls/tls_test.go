package testtls_test

import (
	"context"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkaworker/kafkaworker"
	"github.com/kafkaworker/kafkaworker/internal/testtls"
)

// The TLS tier: kafkaworker against the broker kafka.sh start --tls runs,
// through each of its listeners. The topic is made and filled over the
// broker's PLAINTEXT listener, independently of the code under test.

const records = 3000

// fill creates a topic with 3 partitions on the PLAINTEXT listener, writes
// records to it round robin (value: an 8-byte sequence number) and deletes
// it when the test ends.
func fill(t *testing.T, b *testtls.Broker) string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr(t, "PLAINTEXT")), kgo.ProducerLinger(5*time.Millisecond),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topic := fmt.Sprintf("tls-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
	resp, err := adm.CreateTopic(ctx, 3, 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("creating %s: %v", topic, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = adm.DeleteTopics(ctx, topic)
	})
	recs := make([]*kgo.Record, records)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Value: binary.BigEndian.AppendUint64(nil, uint64(i))}
	}
	// Produce retries while the new partitions get their leader.
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("producing to %s: %v", topic, err)
	}
	return topic
}

func config(b *testtls.Broker, listener, topic string, t *testing.T) kafkaworker.Config {
	return kafkaworker.Config{
		BootstrapServers:      b.Addr(t, listener),
		GroupID:               "g-" + topic,
		Topic:                 topic,
		CommitIntervalSeconds: 1,
		ShutdownTimeout:       20 * time.Second,
		SessionTimeout:        10 * time.Second,
		RevokeTimeout:         10 * time.Second,
		RebalanceTimeout:      20 * time.Second,
		SslCaLocation:         b.CAFile(),
	}
}

func logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// consumeAll runs a consumer with cfg until it has seen every record of
// fill, and asserts none was lost or seen twice, and that its final commit,
// made through the same listener, reached the end of every partition.
func consumeAll(t *testing.T, b *testtls.Broker, cfg kafkaworker.Config) {
	t.Helper()
	var (
		mu   sync.Mutex
		seen = map[uint64]int{}
		all  = make(chan struct{})
	)
	h := kafkaworker.HandlerFunc(func(_ context.Context, r *kafkaworker.Record) error {
		mu.Lock()
		defer mu.Unlock()
		seen[binary.BigEndian.Uint64(r.Value)]++
		if len(seen) == records {
			close(all)
		}
		return nil
	})
	c, err := kafkaworker.New(cfg, h, kafkaworker.WithLogger(logger()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	select {
	case <-all:
	case err := <-done:
		t.Fatalf("Run returned before all records were consumed: %v", err)
	case <-time.After(2 * time.Minute):
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		t.Fatalf("consumed %d of %d records in 2 minutes", n, records)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return a minute after its context ended")
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range uint64(records) {
		if seen[i] != 1 {
			t.Fatalf("record %d seen %d times", i, seen[i])
		}
	}
	if len(seen) != records {
		t.Fatalf("saw %d distinct records, produced %d", len(seen), records)
	}
	committedAtEnd(t, b, cfg.GroupID, cfg.Topic)
}

// committedAtEnd reads the group's offsets over PLAINTEXT, independently of
// the consumer, and asserts they equal the partitions' end offsets.
func committedAtEnd(t *testing.T, b *testtls.Broker, group, topic string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr(t, "PLAINTEXT")))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	offs, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	ends.Each(func(e kadm.ListedOffset) {
		if e.Offset == 0 {
			t.Errorf("partition %d is empty: fill spreads records over every partition", e.Partition)
			return
		}
		o, ok := offs.Lookup(topic, e.Partition)
		if !ok || o.Err != nil || o.At != e.Offset {
			t.Errorf("partition %d: committed %+v, end offset %d", e.Partition, o, e.Offset)
		}
	})
}

func TestConsumeSSL(t *testing.T) {
	b := testtls.FromEnv(t)
	cfg := config(b, "SSL", fill(t, b), t)
	cfg.SecurityProtocol = "SSL"
	consumeAll(t, b, cfg)
}

func TestConsumeMutualTLS(t *testing.T) {
	b := testtls.FromEnv(t)
	cfg := config(b, "MTLS", fill(t, b), t)
	cfg.SecurityProtocol = "SSL"
	cfg.SslCertificateLocation, cfg.SslKeyLocation = clientCert(t, b)
	consumeAll(t, b, cfg)
}

func TestConsumeSASLSSL(t *testing.T) {
	b := testtls.FromEnv(t)
	cfg := config(b, "SASL_SSL", fill(t, b), t)
	cfg.SecurityProtocol = "SASL_SSL"
	cfg.SaslMechanism = "SCRAM-SHA-512"
	cfg.SaslUsername, cfg.SaslPassword = b.User, b.Password
	consumeAll(t, b, cfg)
}

// clientCert issues a client certificate from the broker's CA.
func clientCert(t *testing.T, b *testtls.Broker) (cert, key string) {
	t.Helper()
	ca, err := testtls.LoadCA(b.Dir)
	if err != nil {
		t.Fatal(err)
	}
	is, err := ca.Client("kafkaworker-test-client")
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err = is.WriteFiles(t.TempDir(), "client")
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// startErr runs a consumer with cfg and returns the error Run fails with.
// The start-up check must fail at once, not when StartupTimeout ends: each
// case below is one retrying cannot mend.
func startErr(t *testing.T, cfg kafkaworker.Config) error {
	t.Helper()
	h := kafkaworker.HandlerFunc(func(context.Context, *kafkaworker.Record) error {
		t.Error("a handler ran, but the consumer should not have started")
		return nil
	})
	c, err := kafkaworker.New(cfg, h, kafkaworker.WithLogger(logger()), kafkaworker.WithStartupTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err = c.Run(ctx)
	if err == nil {
		t.Fatal("Run succeeded; it should have failed at start-up")
	}
	if errors.Is(err, kafkaworker.ErrBrokersUnreachable) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run waited for the brokers instead of failing at once: %v", err)
	}
	return err
}

func TestStartupFails(t *testing.T) {
	b := testtls.FromEnv(t)
	topic := fill(t, b)
	otherCA := func(t *testing.T) string {
		ca, err := testtls.NewCA("some other CA")
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "other-ca.pem")
		if err := os.WriteFile(p, ca.CertPEM(), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name     string
		listener string
		set      func(t *testing.T, c *kafkaworker.Config)
		is       func(error) bool
		says     []string
	}{
		{
			name: "untrusted", listener: "SSL",
			set:  func(t *testing.T, c *kafkaworker.Config) { c.SslCaLocation = otherCA(t) },
			is:   func(err error) bool { return errors.As(err, new(x509.UnknownAuthorityError)) },
			says: []string{"signed by an unknown authority", "kafkaworker test CA", "SslCaLocation"},
		},
		{
			name: "system-roots", listener: "SSL",
			set:  func(_ *testing.T, c *kafkaworker.Config) { c.SslCaLocation = "" },
			is:   func(err error) bool { return errors.As(err, new(x509.UnknownAuthorityError)) },
			says: []string{"signed by an unknown authority", "SslCaLocation"},
		},
		{
			name: "expired", listener: "EXPIRED",
			is: func(err error) bool {
				var e x509.CertificateInvalidError
				return errors.As(err, &e) && e.Reason == x509.Expired
			},
			says: []string{"certificate", "expired at", "renewed certificate"},
		},
		{
			name: "wrong-host", listener: "WRONGHOST",
			is:   func(err error) bool { return errors.As(err, new(x509.HostnameError)) },
			says: []string{"certificate is for kafka.invalid, not \"127.0.0.1\"", "BootstrapServers"},
		},
		{
			name: "no-client-certificate", listener: "MTLS",
			is:   func(err error) bool { return errors.Is(err, kafkaworker.ErrTLS) },
			says: []string{"refused the handshake", "SslCertificateLocation"},
		},
		{
			name: "client-certificate-from-another-CA", listener: "MTLS",
			set: func(t *testing.T, c *kafkaworker.Config) {
				ca, err := testtls.NewCA("some other CA")
				if err != nil {
					t.Fatal(err)
				}
				is, err := ca.Client("stranger")
				if err != nil {
					t.Fatal(err)
				}
				if c.SslCertificateLocation, c.SslKeyLocation, err = is.WriteFiles(t.TempDir(), "client"); err != nil {
					t.Fatal(err)
				}
			},
			is:   func(err error) bool { return errors.Is(err, kafkaworker.ErrTLS) },
			says: []string{"refused the handshake", "a certificate its truststore accepts"},
		},
		{
			name: "wrong-password", listener: "SASL_SSL",
			set: func(_ *testing.T, c *kafkaworker.Config) {
				c.SecurityProtocol, c.SaslMechanism = "SASL_SSL", "SCRAM-SHA-512"
				c.SaslUsername, c.SaslPassword = b.User, "not-"+b.Password
			},
			is:   func(err error) bool { return errors.Is(err, kafkaworker.ErrAuthentication) },
			says: []string{"authentication failed", "SaslPassword"},
		},
		{
			name: "unknown-user", listener: "SASL_SSL",
			set: func(_ *testing.T, c *kafkaworker.Config) {
				c.SecurityProtocol, c.SaslMechanism = "SASL_SSL", "SCRAM-SHA-512"
				c.SaslUsername, c.SaslPassword = "nobody", b.Password
			},
			is:   func(err error) bool { return errors.Is(err, kafkaworker.ErrAuthentication) },
			says: []string{"authentication failed", "SaslUsername"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config(b, tc.listener, topic, t)
			cfg.SecurityProtocol = "SSL"
			if tc.set != nil {
				tc.set(t, &cfg)
			}
			err := startErr(t, cfg)
			if !tc.is(err) {
				t.Errorf("error of the wrong kind: %v", err)
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not say %q: %v", s, err)
				}
			}
		})
	}
}
