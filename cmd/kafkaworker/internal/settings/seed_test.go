package settings

import (
	"crypto/sha256"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/kafkaworker/kafkaworker"
)

// seedPath is the seed's appsettings.json, committed byte for byte.
const seedPath = "../../testdata/appsettings.seed.json"

// TestSeedLoadsUnchanged proves the port's first promise: the .NET
// service's configuration file, comments and all, configures kafkaworker
// with exactly its values and validates.
func TestSeedLoadsUnchanged(t *testing.T) {
	s, warns, err := Load(Input{Path: seedPath})
	if err != nil {
		t.Fatalf("Load(seed): %v", err)
	}
	if len(warns) > 0 {
		t.Errorf("warnings for the seed: %v", warns)
	}
	want := kafkaworker.Config{
		BootstrapServers:        "localhost:9092",
		GroupID:                 "production-consumer-group-01",
		Topic:                   "orders-topic",
		MaxProcCount:            50,
		MaxMsgCountBeforeCommit: 100,
		CommitIntervalSeconds:   30,
	}
	if !reflect.DeepEqual(s.Kafka, want) {
		t.Errorf("Kafka = %+v\nwant %+v", s.Kafka, want)
	}
	if err := s.Kafka.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if s.Service != (Service{}).withDefaults() {
		t.Errorf("Service = %+v, want the defaults", s.Service)
	}
}

// TestSeedFileIsTheSeed guards the fixture against "helpful" edits: it
// must stay the seed's file byte for byte, comments and spacing included.
func TestSeedFileIsTheSeed(t *testing.T) {
	const seedSHA256 = "6f31bff5f3ee94cd72af5e2cc358d0cb32fe6bc963980a3c60e9317b00b0f938"
	got, err := os.ReadFile(seedPath)
	if err != nil {
		t.Fatal(err)
	}
	if sum := fmt.Sprintf("%x", sha256.Sum256(got)); sum != seedSHA256 {
		t.Errorf("testdata/appsettings.seed.json has sha256 %s, want the seed's %s", sum, seedSHA256)
	}
}

// TestSeedRunsAsShareGroup: the seed's file plus "GroupType": "share" (here
// as the .NET-style environment override Kafka__GroupType) configures a
// share-group consumer and validates.
func TestSeedRunsAsShareGroup(t *testing.T) {
	s, _, err := Load(Input{Path: seedPath, Env: []string{"Kafka__GroupType=Share"}})
	if err != nil {
		t.Fatalf("Load(seed + GroupType share): %v", err)
	}
	if s.Kafka.GroupType != kafkaworker.ShareGroup {
		t.Fatalf("GroupType = %q, want share", s.Kafka.GroupType)
	}
	if err := s.Kafka.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	s, _, err = Load(Input{Path: seedPath, Env: []string{"Kafka__GroupType=share", "Kafka__Ordering=key"}})
	if err == nil || !strings.Contains(err.Error(), "must be unordered with GroupType share") {
		t.Fatalf("key order in a share group: Load = %v, %v; want the refusal", s.Kafka, err)
	}
}
