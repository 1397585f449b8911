// New refuses a bad configuration before anything connects: every
// malformed or out-of-range setting, alone or all at once, comes back as a
// *ConfigError naming exactly the keys at fault, and the SASL password
// never appears in it.

package kafkaworker_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kafkaworker/kafkaworker"
)

// secretPassword is set as SaslPassword in every configuration below; it must
// never appear in an error.
const secretPassword = "pa55-Sekr1t-do-not-echo"

// Every malformed or out-of-range setting is refused by New with a
// *ConfigError naming exactly the keys at fault, and the SASL password never
// appears in the error.
func TestBadInputConfigRefusedWithEveryKey(t *testing.T) {
	valid := func() kafkaworker.Config {
		return kafkaworker.Config{BootstrapServers: "broker-1:9092,broker-2:9092", GroupID: "g", Topic: "orders",
			SecurityProtocol: "SASL_SSL", SaslMechanism: "SCRAM-SHA-512", SaslUsername: "app"}
	}
	tests := []struct {
		name string
		set  func(*kafkaworker.Config)
		want []string // the keys New must name, and no others
	}{
		{"negative MaxProcCount", func(c *kafkaworker.Config) { c.MaxProcCount, c.PartitionWindow, c.MaxBufferedRecords = -1, 1024, 4096 }, []string{"MaxProcCount"}},
		{"negative MaxMsgCountBeforeCommit", func(c *kafkaworker.Config) { c.MaxMsgCountBeforeCommit = -5 }, []string{"MaxMsgCountBeforeCommit"}},
		{"negative CommitIntervalSeconds", func(c *kafkaworker.Config) { c.CommitIntervalSeconds = -1 }, []string{"CommitIntervalSeconds"}},
		{"auto-commit on", func(c *kafkaworker.Config) { c.EnableAutoCommit = true }, []string{"EnableAutoCommit"}},
		{"negative PartitionWindow", func(c *kafkaworker.Config) { c.PartitionWindow, c.MaxBufferedRecords = -1, 4096 }, []string{"PartitionWindow"}},
		{"negative MaxBufferedRecords", func(c *kafkaworker.Config) { c.MaxBufferedRecords = -1 }, []string{"MaxBufferedRecords"}},
		{"MaxBufferedRecords below PartitionWindow", func(c *kafkaworker.Config) { c.PartitionWindow, c.MaxBufferedRecords = 2000, 1000 }, []string{"MaxBufferedRecords"}},
		{"negative RetryBackoffMin", func(c *kafkaworker.Config) { c.RetryBackoffMin = -time.Second }, []string{"RetryBackoffMin"}},
		{"RetryBackoffMax below RetryBackoffMin", func(c *kafkaworker.Config) { c.RetryBackoffMin, c.RetryBackoffMax = 2*time.Second, time.Second }, []string{"RetryBackoffMax"}},
		{"negative ShutdownTimeout", func(c *kafkaworker.Config) { c.ShutdownTimeout = -time.Second }, []string{"ShutdownTimeout"}},
		{"negative SessionTimeout", func(c *kafkaworker.Config) { c.SessionTimeout = -time.Second }, []string{"SessionTimeout"}},
		{"negative RevokeTimeout", func(c *kafkaworker.Config) { c.RevokeTimeout = -time.Second }, []string{"RevokeTimeout"}},
		{"RevokeTimeout equal to RebalanceTimeout", func(c *kafkaworker.Config) { c.RevokeTimeout, c.RebalanceTimeout = 30*time.Second, 30*time.Second }, []string{"RevokeTimeout"}},
		{"RevokeTimeout above the default RebalanceTimeout", func(c *kafkaworker.Config) { c.RevokeTimeout = 90 * time.Second }, []string{"RevokeTimeout"}},
		{"RebalanceTimeout below the default RevokeTimeout", func(c *kafkaworker.Config) { c.RebalanceTimeout = 10 * time.Second }, []string{"RevokeTimeout"}},
		{"bad Ordering", func(c *kafkaworker.Config) { c.Ordering = "fifo" }, []string{"Ordering"}},
		{"bad FailurePolicy", func(c *kafkaworker.Config) { c.FailurePolicy = "retry-forever" }, []string{"FailurePolicy"}},
		{"bad GroupType", func(c *kafkaworker.Config) { c.GroupType = "queue" }, []string{"GroupType"}},
		{"key order in a share group", func(c *kafkaworker.Config) { c.GroupType, c.Ordering = kafkaworker.ShareGroup, kafkaworker.KeyOrdered }, []string{"Ordering"}},
		{"partition order in a share group", func(c *kafkaworker.Config) {
			c.GroupType, c.Ordering = kafkaworker.ShareGroup, kafkaworker.PartitionOrdered
		}, []string{"Ordering"}},
		{"negative ShareMembers", func(c *kafkaworker.Config) { c.GroupType, c.ShareMembers = kafkaworker.ShareGroup, -1 }, []string{"ShareMembers"}},
		{"negative MaxRecordsPerSecond", func(c *kafkaworker.Config) { c.MaxRecordsPerSecond = -1 }, []string{"MaxRecordsPerSecond"}},
		{"bad AutoOffsetReset", func(c *kafkaworker.Config) { c.AutoOffsetReset = "smallest" }, []string{"AutoOffsetReset"}},
		{"bad SecurityProtocol", func(c *kafkaworker.Config) { c.SecurityProtocol = "TLS" }, []string{"SecurityProtocol"}},
		{"SASL without credentials", func(c *kafkaworker.Config) {
			c.SecurityProtocol, c.SaslMechanism, c.SaslUsername, c.SaslPassword = "SASL_SSL", "PLAIN", "", ""
		}, []string{"SaslPassword", "SaslUsername"}},
		{"SASL without a mechanism", func(c *kafkaworker.Config) { c.SecurityProtocol, c.SaslMechanism = "SASL_PLAINTEXT", "" }, []string{"SaslMechanism"}},
		{"SASL with an unknown mechanism", func(c *kafkaworker.Config) {
			c.SecurityProtocol, c.SaslMechanism, c.SaslUsername = "SASL_SSL", "GSSAPI", "app"
		}, []string{"SaslMechanism"}},
		{"SASL settings on PLAINTEXT", func(c *kafkaworker.Config) { c.SecurityProtocol, c.SaslMechanism = "PLAINTEXT", "PLAIN" }, []string{"SecurityProtocol"}},
		{"certificate without key", func(c *kafkaworker.Config) {
			c.SecurityProtocol, c.SslCertificateLocation = "SASL_SSL", "/etc/kw/client.pem"
		}, []string{"SslKeyLocation"}},
		{"key without certificate", func(c *kafkaworker.Config) { c.SecurityProtocol, c.SslKeyLocation = "SASL_SSL", "/etc/kw/client.key" }, []string{"SslKeyLocation"}},
		{"dead-letter policy without a topic", func(c *kafkaworker.Config) { c.FailurePolicy = kafkaworker.DeadLetterPolicy }, []string{"DeadLetterTopic"}},
		{"dead-letter topic is the consumed Topic", func(c *kafkaworker.Config) { c.DeadLetterTopic = "orders" }, []string{"DeadLetterTopic"}},
		{"no BootstrapServers", func(c *kafkaworker.Config) { c.BootstrapServers = "" }, []string{"BootstrapServers"}},
		{"blank BootstrapServers", func(c *kafkaworker.Config) { c.BootstrapServers = " , " }, []string{"BootstrapServers"}},
		{"BootstrapServers without a port", func(c *kafkaworker.Config) { c.BootstrapServers = "broker-1" }, []string{"BootstrapServers"}},
		{"one of the BootstrapServers without a port", func(c *kafkaworker.Config) { c.BootstrapServers = "broker-1:9092,broker-2" }, []string{"BootstrapServers"}},
		{"no GroupId", func(c *kafkaworker.Config) { c.GroupID = "" }, []string{"GroupId"}},
		{"a SASL password without a SASL protocol", func(c *kafkaworker.Config) {
			c.SecurityProtocol, c.SaslMechanism, c.SaslUsername = "PLAINTEXT", "", ""
		}, []string{"SecurityProtocol"}},
		{"no Topic", func(c *kafkaworker.Config) { c.Topic = "" }, []string{"Topic"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
			cfg.SaslPassword = secretPassword
			tt.set(&cfg)
			c, err := kafkaworker.New(cfg, nopHandler)
			if c != nil || err == nil {
				t.Fatalf("New accepted %+v", tt.name)
			}
			got := configErrorKeys(t, err)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("New reported keys %v, want %v:\n%v", got, tt.want, err)
			}
			for _, k := range tt.want {
				if !strings.Contains(err.Error(), k+"=") {
					t.Fatalf("error text does not name %s:\n%v", k, err)
				}
			}
		})
	}

	// Everything wrong at once: one error lists every key.
	cfg := kafkaworker.Config{
		BootstrapServers: "broker-1", MaxProcCount: -1, MaxMsgCountBeforeCommit: -1, CommitIntervalSeconds: -1,
		EnableAutoCommit: true, Ordering: "fifo", RetryBackoffMin: -1, ShutdownTimeout: -1, RevokeTimeout: time.Hour,
		AutoOffsetReset: "smallest", FailurePolicy: kafkaworker.DeadLetterPolicy, SecurityProtocol: "SASL_SSL",
		SaslPassword: secretPassword, SslCertificateLocation: "/etc/kw/client.pem",
	}
	_, err := kafkaworker.New(cfg, nopHandler)
	got := configErrorKeys(t, err)
	for _, k := range []string{"AutoOffsetReset", "BootstrapServers", "CommitIntervalSeconds", "DeadLetterTopic",
		"EnableAutoCommit", "GroupId", "MaxMsgCountBeforeCommit", "MaxProcCount", "Ordering", "RetryBackoffMin",
		"RevokeTimeout", "SaslMechanism", "SaslUsername", "ShutdownTimeout", "SslKeyLocation", "Topic"} {
		if !slices.Contains(got, k) {
			t.Errorf("everything wrong: %s not reported in\n%v", k, err)
		}
	}
	// Config.Validate, which New calls, says the same; each problem is a
	// FieldError that errors.As finds.
	verr := cfg.Validate()
	if keys := configErrorKeys(t, verr); !slices.Equal(keys, got) {
		t.Errorf("Validate reported keys %v, New %v", keys, got)
	}
	var fe kafkaworker.FieldError
	if !errors.As(verr, &fe) {
		t.Errorf("errors.As cannot find a FieldError in %v", verr)
	}
}

// The dead-letter topic must not be any consumed topic, not only Topic: a
// consumer reading its own dead letters fails them again, forever.
func TestBadInputDeadLetterTopicAmongTopicsRefused(t *testing.T) {
	for _, cfg := range []kafkaworker.Config{
		{BootstrapServers: "b:9092", GroupID: "g", Topic: "orders", Topics: []string{"orders-dlt"}, DeadLetterTopic: "orders-dlt"},
		{BootstrapServers: "b:9092", GroupID: "g", Topics: []string{"orders", "orders-dlt"}, DeadLetterTopic: "orders-dlt"},
	} {
		_, err := kafkaworker.New(cfg, nopHandler)
		if err == nil {
			t.Fatalf("DeadLetterTopic %q also in Topics %v is accepted: Validate compares it with Topic only", cfg.DeadLetterTopic, cfg.Topics)
		}
		if got := configErrorKeys(t, err); !slices.Equal(got, []string{"DeadLetterTopic"}) {
			t.Fatalf("New = %v, want a DeadLetterTopic problem", err)
		}
	}
}

// A negative MaxProcCount is one problem: New must not also blame
// PartitionWindow or MaxBufferedRecords, left at zero (their defaults).
func TestBadInputNegativeMaxProcCountBlamesOnlyIt(t *testing.T) {
	_, err := kafkaworker.New(kafkaworker.Config{BootstrapServers: "b:9092", GroupID: "g", Topic: "t", MaxProcCount: -1}, nopHandler)
	got := configErrorKeys(t, err)
	if len(got) > 1 && got[0] == "MaxProcCount" {
		t.Fatalf("unset PartitionWindow/MaxBufferedRecords are reported as invalid when MaxProcCount is negative:\n%v", err)
	}
	if !slices.Equal(got, []string{"MaxProcCount"}) {
		t.Fatalf("New reported keys %v, want [MaxProcCount]:\n%v", got, err)
	}
}

// BootstrapServers that contain a colon but are no host:port are refused by
// New, not found out by Run (as a raw franz-go parse error or a misleading
// "brokers unreachable").
func TestBadInputBootstrapServersNotHostPort(t *testing.T) {
	var accepted []string
	for _, seeds := range []string{"broker-1:http", "broker-1:99999", "kafka://broker-1:9092", "broker-1:9092:9093", ":9092"} {
		_, err := kafkaworker.New(kafkaworker.Config{BootstrapServers: seeds, GroupID: "g", Topic: "t"}, nopHandler)
		if err == nil {
			accepted = append(accepted, seeds)
			continue
		}
		if got := configErrorKeys(t, err); !slices.Equal(got, []string{"BootstrapServers"}) {
			t.Fatalf("New(%q) = %v, want a BootstrapServers problem", seeds, err)
		}
	}
	if len(accepted) > 0 {
		t.Fatalf("New accepts BootstrapServers %q: Validate only checks for a colon", accepted)
	}
}

// configErrorKeys returns the sorted keys of err, which must be a
// *ConfigError that never echoes the SASL password.
func configErrorKeys(t *testing.T, err error) []string {
	t.Helper()
	var ce *kafkaworker.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T), want *ConfigError", err, err)
	}
	if strings.Contains(err.Error(), secretPassword) || strings.Contains(fmt.Sprintf("%#v", ce), secretPassword) {
		t.Fatalf("the error echoes SaslPassword:\n%v", err)
	}
	var keys []string
	for _, p := range ce.Problems {
		if p.Msg == "" {
			t.Errorf("problem %s has no message", p.Key)
		}
		if !slices.Contains(keys, p.Key) {
			keys = append(keys, p.Key)
		}
	}
	slices.Sort(keys)
	return keys
}
