package harness

import "github.com/kafkaworker/kafkaworker/bench/contenders"

// Matrix lists the runs of one model, in the order they run.
//
// Raw franz-go and sarama run one record per partition at a time (their
// concurrency is the 12 partitions), so they run once. kafkaworker runs
// unordered and key at every MaxProcCount, partition order at the highest
// (its concurrency is the partition count too). At 0 ms one more row runs
// kafkaworker unordered at the highest MaxProcCount with MaxBufferedBytes =
// mbb (0: no such row): the memory bound's price in throughput. The
// Parallel Consumer runs unordered and key at the highest MaxProcCount.
// At 0 ms, where commits come fastest, kafkaworker also runs with the
// seed's appsettings.json unchanged (MaxProcCount 50, a commit per 100
// records or 30 s), the other rows committing once a second.
//
// With peers, the other Go clients of issue 14 run too: confluent-kafka-go
// and segmentio/kafka-go (a goroutine per partition, concurrency 12), and
// the franz-go worker pool (batch-at-a-time commits) at the highest
// MaxProcCount.
//
// With share, kafkaworker in share-group mode (GroupType share) runs at the
// highest MaxProcCount beside the consumer-group rows, at 0 ms and 10 ms
// only: the framework's cost and the Little's-law limit.
//
// The tail model asks one question, what a slow record costs the records
// around it, so it runs only the rows that answer it: raw franz-go (the
// baseline), the worker pool (a batch waits for its slowest record),
// kafkaworker unordered and key, and the Parallel Consumer unordered, at the
// highest MaxProcCount.
func Matrix(model contenders.Model, mpcs []int, mbb int, withJava, peers, share bool) []contenders.Spec {
	with := func(c, ord string, mpc int) contenders.Spec {
		return contenders.Spec{Model: model, Contender: c, Ordering: ord, MPC: mpc}
	}
	hi := mpcs[len(mpcs)-1]
	if model == contenders.Tail {
		specs := []contenders.Spec{with("raw-franz-go", "", 0)}
		if peers {
			specs = append(specs, with("franz-go-pool", "", hi))
		}
		specs = append(specs, with("kafkaworker", "unordered", hi), with("kafkaworker", "key", hi))
		if withJava {
			specs = append(specs, with("parallel-consumer", "unordered", hi))
		}
		return specs
	}
	specs := []contenders.Spec{with("raw-franz-go", "", 0), with("sarama", "", 0)}
	if peers {
		specs = append(specs, with("confluent-kafka-go", "", 0), with("kafka-go", "", 0), with("franz-go-pool", "", hi))
	}
	for _, m := range mpcs {
		specs = append(specs, with("kafkaworker", "unordered", m))
	}
	if model == contenders.NoOp && mbb > 0 {
		s := with("kafkaworker", "unordered", hi)
		s.MaxBufferedBytes = mbb
		specs = append(specs, s)
	}
	if model == contenders.NoOp {
		s := with("kafkaworker", "unordered", 50)
		s.Seed = true
		specs = append(specs, s)
	}
	for _, m := range mpcs {
		specs = append(specs, with("kafkaworker", "key", m))
	}
	specs = append(specs, with("kafkaworker", "partition", hi))
	if share && (model == contenders.NoOp || model == contenders.Sleep10ms) {
		specs = append(specs, with("kafkaworker", contenders.Share, hi))
	}
	if withJava {
		specs = append(specs, with("parallel-consumer", "unordered", hi), with("parallel-consumer", "key", hi))
	}
	return specs
}
