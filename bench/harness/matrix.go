package harness

import "github.com/kafkaworker/kafkaworker/bench/contenders"

// Sizes are the records per model. Only the 0ms model reads the whole
// large topic: the others are bounded by the handler, not the framework, and
// the slowest contenders (one record per partition at a time: raw franz-go,
// sarama, partition order) manage ~12 records per handler latency, so the
// 10ms model at 1,000,000 records would run for 23 minutes each.
type Sizes map[contenders.Model]int64

// SizesFor derives the per-model counts from the 0ms count n: cpu and 1ms
// get n/5, 10ms n/10.
func SizesFor(n int64) Sizes {
	return Sizes{
		contenders.NoOp:      n,
		contenders.CPU:       max(n/5, 1000),
		contenders.Sleep1ms:  max(n/5, 1000),
		contenders.Sleep10ms: max(n/10, 1000),
	}
}

// Matrix lists the runs of one model. Contenders with no MaxProcCount
// (raw franz-go, sarama) and kafkaworker's partition mode run one record per
// partition at a time, so their concurrency is the partition count whatever
// MPC says: they run once, at the first MPC. The quick matrix keeps the
// smallest and largest MPC for kafkaworker unordered and only the
// largest for key mode and the Parallel Consumer, which is enough to check every target.
func Matrix(model contenders.Model, mpcs []int, quick bool, withJava bool) []contenders.Spec {
	base := contenders.Spec{Model: model}
	with := func(c, ord string, mpc int) contenders.Spec {
		s := base
		s.Contender, s.Ordering, s.MPC = c, ord, mpc
		return s
	}
	hi := mpcs[len(mpcs)-1]
	specs := []contenders.Spec{with("raw-franz-go", "", 0), with("sarama", "", 0)}
	unordered, keyed := mpcs, mpcs
	if quick {
		unordered, keyed = []int{mpcs[0], hi}, []int{hi}
		if len(mpcs) == 1 {
			unordered = mpcs
		}
	}
	for _, m := range unordered {
		specs = append(specs, with("kafkaworker", "unordered", m))
	}
	for _, m := range keyed {
		specs = append(specs, with("kafkaworker", "key", m))
	}
	specs = append(specs, with("kafkaworker", "partition", mpcs[0]))
	specs = append(specs, with("kafkaworker", contenders.Share, hi))
	if withJava {
		for _, ord := range []string{"unordered", "key"} {
			for _, m := range keyed {
				specs = append(specs, with("parallel-consumer", ord, m))
			}
		}
	}
	return specs
}
