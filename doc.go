// Package kafkaworker consumes Apache Kafka with many records in flight at
// once, far more than there are partitions, while committing offsets
// strictly in order, so that no crash, rebalance or shutdown skips an
// unprocessed record. It is built on franz-go.
//
// # The guarantee
//
// Every record is processed at least once. A partition's committed offset
// only ever moves past records whose handler has finished: a record that
// finishes early waits, uncommitted, for the records before it. After a
// crash, a lost session or a revoke, a partition's next owner resumes at
// the committed offset, so it may process again records that had finished
// since the last commit (commits follow every MaxMsgCountBeforeCommit
// records or CommitIntervalSeconds, whichever comes first), but never skips
// one. Kafka's
// auto-commit, which commits what was fetched rather than what was
// processed, is always off. Handlers should therefore be idempotent.
//
// # Handlers
//
// Processing code is a Handler, a one-method interface in the style of
// net/http's; HandlerFunc adapts an ordinary function:
//
//	h := kafkaworker.HandlerFunc(func(ctx context.Context, r *kafkaworker.Record) error {
//		return orders.Save(ctx, r.Value)
//	})
//
// Handle is called from up to Config.MaxProcCount goroutines at once, so it
// must be safe for concurrent use. Returning nil marks the record done.
// Returning an error retries the record with exponential backoff, up to
// Config.MaxRetries times; an error wrapped by Permanent skips the
// retries. A panic is recovered and counts as an error. The ctx passed to
// Handle ends when the record's partition is taken away or a shutdown runs
// out of time; the record is then processed again by the partition's next
// owner.
//
// # Configuration
//
// A Config needs only BootstrapServers, GroupID and Topic; every zero field
// means its documented default. The first fields carry the names of the
// .NET consumer this package ports ("Kafka" section of its
// appsettings.json: BootstrapServers, GroupId, Topic, MaxProcCount,
// MaxMsgCountBeforeCommit, CommitIntervalSeconds, EnableAutoCommit), so a
// decoder that matches names case-insensitively, such as encoding/json,
// reads that file into a Config. New validates the whole Config at once
// and returns a *ConfigError listing every problem, secrets never echoed.
//
// # Running and stopping
//
// New does not connect. Run checks that the brokers answer, the
// credentials work and the topics exist, joins the group and consumes until
// its context ends or Shutdown is called; it then stops fetching, waits up
// to Config.ShutdownTimeout for running handlers (then cancels their
// context and waits up to ShutdownMargin more), commits what is done,
// leaves the group and returns, never before every handler it started has
// returned. Cancel the context on SIGTERM for a graceful shutdown:
//
//	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
//	defer stop()
//	err := c.Run(ctx) // nil after a graceful shutdown
//
// or, as with net/http's Server, call Shutdown from another goroutine; it
// waits for Run to return, and may be called any number of times.
//
// Run returns an error that matches ErrBrokersUnreachable,
// ErrAuthentication or ErrTopicNotFound when the start-up check fails,
// ErrShutdownTimeout when handlers outlived ShutdownTimeout, and
// ErrRecordFailed when a record failed for good under the stop policy. A
// Consumer runs once.
//
// # Ordering
//
// Config.Ordering says which records of a partition may run at the same
// time; offsets are committed in order whatever it says:
//
//   - Unordered (the default): any records, up to MaxProcCount. The
//     fastest mode.
//   - KeyOrdered: records with the same key one at a time, in offset
//     order; different keys in parallel. Records without a key are not
//     ordered.
//   - PartitionOrdered: one record of a partition at a time, partitions in
//     parallel, as a classic consumer.
//
// # Failures
//
// Config.FailurePolicy says what happens to a record that still fails after
// its retries:
//
//   - DeadLetterPolicy produces it, with headers naming the error and its
//     origin, to Config.DeadLetterTopic, and counts it done only once the
//     broker has acknowledged the dead letter. It is the default when
//     DeadLetterTopic is set.
//   - BlockPolicy retries it without end and holds back only what must
//     wait for it (its key, its partition, or its partition's commit
//     point, by Ordering); the rest flows. It is listed in Stats and goes on
//     when the handler succeeds or Consumer.Release skips or dead-letters
//     it. It is the default otherwise: a failing record is never silently
//     lost, and never takes the group down.
//   - StopPolicy makes Run shut down and return ErrRecordFailed, the
//     record uncommitted. In a group the next owner of the partition meets
//     the same record and stops too.
//   - SkipPolicy logs and counts it, and moves on.
//
// # Memory and backpressure
//
// Config.MaxBufferedRecords and Config.MaxBufferedBytes bound what the
// consumer holds, the client's prefetch included (a quarter of
// MaxBufferedBytes); a partition whose window of outstanding offsets
// reaches Config.PartitionWindow is paused, so that one stuck record holds
// back only its own partition.
//
// # Observing a consumer
//
// Consumer.Stats returns a snapshot of counters and per-partition offsets.
// The health package turns it into a readiness check (an http.Handler), and
// the plugin/kwprom module, kept out of this module so that the library
// does not depend on Prometheus, exports it as Prometheus metrics.
package kafkaworker
