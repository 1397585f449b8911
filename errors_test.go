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

func TestSeedDefaults(t *testing.T) {
	c := kafkaworker.Config{}.WithDefaults()
	if c.MaxProcCount != 50 || c.MaxMsgCountBeforeCommit != 100 || c.CommitIntervalSeconds != 30 || c.EnableAutoCommit {
		t.Fatalf("defaults %+v differ from the seed's", c)
	}
}
