package health

import (
	"time"

	"github.com/kafkaworker/kafkaworker"
)

// Blocked is a record held by the block policy (kafkaworker.BlockPolicy):
// its retries are used up and it is retried until it succeeds or an
// operator releases it (Consumer.Release).
type Blocked struct {
	Topic     string    `json:"topic"`
	Partition int32     `json:"partition"`
	Offset    int64     `json:"offset"`
	Since     time.Time `json:"since"`
	Attempts  int       `json:"attempts"`
	Error     string    `json:"error"`
}

// blocked lists the blocked records of s, by partition then offset.
func blocked(s *kafkaworker.Stats) []Blocked {
	var out []Blocked
	for _, p := range s.Partitions {
		for _, b := range p.Blocked {
			msg := ""
			if b.Err != nil {
				msg = b.Err.Error()
			}
			out = append(out, Blocked{p.Topic, p.Partition, b.Offset, b.Since, b.Attempts, msg})
		}
	}
	return out
}
