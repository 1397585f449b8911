package main

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/kafkaworker/kafkaworker"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestLoadConfigReadsTheSeed: the dozen-line loader reads the seed's file,
// comments and "GroupId" spelling included.
func TestLoadConfigReadsTheSeed(t *testing.T) {
	cfg, err := loadConfig("appsettings.json")
	if err != nil {
		t.Fatal(err)
	}
	want := kafkaworker.Config{BootstrapServers: "localhost:9092", GroupID: "production-consumer-group-01",
		Topic: "orders-topic", MaxProcCount: 50, MaxMsgCountBeforeCommit: 100, CommitIntervalSeconds: 30}
	if cfg.BootstrapServers != want.BootstrapServers || cfg.GroupID != want.GroupID || cfg.Topic != want.Topic ||
		cfg.MaxProcCount != want.MaxProcCount || cfg.MaxMsgCountBeforeCommit != want.MaxMsgCountBeforeCommit ||
		cfg.CommitIntervalSeconds != want.CommitIntervalSeconds {
		t.Errorf("loadConfig = %+v, want %+v", cfg, want)
	}
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}
}
