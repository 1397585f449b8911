package kafkaworker

import (
	"fmt"

	"github.com/kafkaworker/kafkaworker/internal/engine"
)

// Release lets go of a record the block policy holds (listed in Stats as
// PartitionStats.Blocked): action SkipPolicy marks it done; DeadLetterPolicy
// produces it to DeadLetterTopic first, with the usual error headers, and if
// that fails the record stays blocked and the failure is logged. It is the
// operator's way out of a record that will never succeed.
//
// Release returns once the action is queued, without waiting for it: the
// record leaves Stats when it is done and its offset is then committed with
// the others. If the record's handler is running, the action applies when
// that attempt ends, unless it succeeds. Release returns ErrNotBlocked when
// this consumer owns no blocked record at those coordinates (it finished, or
// its partition moved to another member: ask that one).
func (c *Consumer) Release(topic string, partition int32, offset int64, action FailurePolicy) error {
	var a engine.Policy
	switch action {
	case SkipPolicy:
		a = engine.Skip
	case DeadLetterPolicy:
		if c.cfg.DeadLetterTopic == "" {
			return fmt.Errorf("kafkaworker: release to the dead-letter topic: no DeadLetterTopic configured")
		}
		a = engine.DeadLetter
	default:
		return fmt.Errorf("kafkaworker: release action %q: must be %q or %q", action, SkipPolicy, DeadLetterPolicy)
	}
	if err := c.eng.Release(engine.TP{Topic: topic, Partition: partition}, offset, a); err != nil {
		return fmt.Errorf("kafkaworker: release: %w", err)
	}
	return nil
}
