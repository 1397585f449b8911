# kafkaworker: the two commands a newcomer needs are `make demo` and `make test`.
GO          ?= go
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: demo test test-fast lint bench-go fuzz kafka-start kafka-stop

## demo: the demo on an in-process cluster (nothing to install). The
## binary is a module of its own; go.work makes this work from the root.
demo:
	$(GO) run ./cmd/kafkaworker demo

## install: the kafkaworker binary into $(GOBIN) (or ~/go/bin).
.PHONY: install
install:
	$(GO) install ./cmd/kafkaworker

## test: lint, unit tests, the kfake tier, then the real-broker tier on a
## broker started (and always stopped) by scripts/kafka.
test: lint
	scripts/test.sh all

## test-fast: lint, unit tests and the kfake tier only.
test-fast: lint
	scripts/test.sh fast

## lint: gofmt over the repository; then in every module (scripts/modules.sh,
## which fails if go.work misses one), on its own go.mod: go mod tidy,
## go vet and staticcheck. Every module is checked; the failures are
## listed at the end.
lint:
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	@mods=$$(scripts/modules.sh) || exit 1; failed=; \
	for m in $$mods; do \
		echo "== lint $$m"; \
		( cd $$m && export GOWORK=off && rc=0 && \
		  { $(GO) mod tidy -diff >/dev/null || { echo "$$m: go.mod or go.sum not tidy (cd $$m && go mod tidy)"; rc=1; }; } && \
		  { $(GO) vet ./... || rc=1; } && { $(STATICCHECK) ./... || rc=1; } && exit $$rc ) || failed="$$failed $$m"; \
	done; \
	if [ -n "$$failed" ]; then echo "lint failed in:$$failed"; exit 1; fi

## bench-go: the engine's and the window's micro-benchmarks.
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/window ./internal/engine

## fuzz: a minute of fuzzing on the offset window, then a minute each on the
## commit metadata decoder and its encode/decode round trip.
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzWindow -fuzztime 60s ./internal/window
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime 60s ./internal/offsetmeta
	$(GO) test -run '^$$' -fuzz '^FuzzRoundTrip$$' -fuzztime 60s ./internal/offsetmeta

kafka-start:
	scripts/kafka/kafka.sh start
kafka-stop:
	scripts/kafka/kafka.sh stop

## bench: kwbench on a real broker it starts on port 19092 (and always stops):
## kafkaworker vs raw franz-go, sarama, confluent-kafka-go, kafka-go, a franz-go
## worker pool and the Parallel Consumer at steady state (a 10 s window at 0 ms
## on a 64,000,000-record backlog; 20 s windows at 1 ms, 10 ms and 10 ms with a
## 1 s tail), each row the median of 3 runs, with the issues' targets; ~43
## minutes on 2 cores. Results in bench/results/DATE.md. BENCH_FLAGS=-quick:
## 4.5 minutes (no tail model, 2 s warm-up); BENCH_FLAGS="-peers=false -models 0ms,1ms,10ms": ~30.
.PHONY: bench
bench:
	cd bench && $(GO) run ./cmd/kwbench $(BENCH_FLAGS)

## bench-curves: kwbench -curves on its own broker (port 19092, started and
## always stopped): kafkaworker's CPU per record and peak RSS against
## partitions (12, 120, 1,200), MaxProcCount (10 ... 10,000 at 10 ms) and
## record size (100 B, 10 KB, 1 MB), and the commit cost against partitions
## with the seed's settings; medians of 3. ~12 minutes on 2 cores, ~6 more
## the first time (10 GB of topics). Results in
## bench/results/DATE-curves.md and DATE-curves-*.png.
.PHONY: bench-curves
bench-curves:
	cd bench && $(GO) run ./cmd/kwbench -curves $(BENCH_FLAGS)

## bench-features: issue 12's features on a real broker kwbench starts on
## port 19092 (and always stops): a BatchHandler against the single-record
## Handler on a store with 8 (and 1) connections, key order and 0.1% poison
## records to a dead-letter topic; MaxRecordsPerSecond 5,000 over 30 s;
## AdaptiveConcurrency against a downstream with a knee beside fixed
## MaxProcCount settings (3 interleaved repetitions). ~15 minutes. Results in
## bench/results/DATE-features.md.
.PHONY: bench-features
bench-features:
	cd bench && $(GO) run ./cmd/kwbench -features $(BENCH_FLAGS)

## chaos: kafkaworker processes on a real 3-node cluster (ports 9292-9294, started
## and always stopped) under kills, SIGTERMs, joins, leaves, broker restarts and
## SIGSTOPs; checks no loss, key order, drain. Report in chaos/results/.
## CHAOS_FLAGS=-seed N replays a fault schedule.
.PHONY: chaos chaos-short
chaos:
	cd chaos && $(GO) run . $(CHAOS_FLAGS)

## chaos-short: the CI preset, 100,000 records, a few minutes.
chaos-short:
	cd chaos && $(GO) run . -short $(CHAOS_FLAGS)
