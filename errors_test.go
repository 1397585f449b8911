package kafkaworker_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/kafkaworker/kafkaworker"
)

func TestPermanent(t *testing.T) {
	base := errors.New("bad json")
	p := kafkaworker.Permanent(base)
	if !kafkaworker.IsPermanent(p) || !errors.Is(p, base) || p.Error() != "bad json" {
		t.Fatalf("Permanent(%v) = %v", base, p)
	}
	if !kafkaworker.IsPermanent(fmt.Errorf("order 7: %w", p)) {
		t.Fatal("a wrapped permanent error is not permanent")
	}
	if kafkaworker.IsPermanent(base) || kafkaworker.Permanent(nil) != nil {
		t.Fatal("plain errors and nil must not be permanent")
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	err := kafkaworker.Config{MaxProcCount: -1, EnableAutoCommit: true, Ordering: "random"}.Validate()
	var ce *kafkaworker.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("Validate = %v, want *ConfigError", err)
	}
	keys := map[string]bool{}
	for _, p := range ce.Problems {
		keys[p.Key] = true
	}
	for _, k := range []string{"BootstrapServers", "GroupId", "Topic", "MaxProcCount", "EnableAutoCommit", "Ordering"} {
		if !keys[k] {
			t.Errorf("no problem reported for %s in %v", k, err)
		}
	}
	var fe kafkaworker.FieldError
	if !errors.As(err, &fe) {
		t.Fatal("errors.As cannot find a FieldError")
	}
}

func TestSeedDefaults(t *testing.T) {
	c := kafkaworker.Config{}.WithDefaults()
	if c.MaxProcCount != 50 || c.MaxMsgCountBeforeCommit != 100 || c.CommitIntervalSeconds != 30 || c.EnableAutoCommit {
		t.Fatalf("defaults %+v differ from the seed's", c)
	}
}
