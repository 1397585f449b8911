package kwbench;

import io.confluent.parallelconsumer.ParallelConsumerOptions;
import io.confluent.parallelconsumer.ParallelConsumerOptions.CommitMode;
import io.confluent.parallelconsumer.ParallelConsumerOptions.ProcessingOrder;
import io.confluent.parallelconsumer.ParallelStreamProcessor;
import java.security.MessageDigest;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The Confluent Parallel Consumer contender of kwbench. It takes the same
 * flags as `kwbench contend` and prints the same result line, so the Go
 * orchestrator treats it like any other contender:
 *
 * <pre>KWBENCH handled=N elapsed_s=F startup_s=F [error="..."]</pre>
 *
 * The clock runs from the first record handed to the handler until close()
 * returns, which commits what is done; the orchestrator then checks the
 * committed offsets against the end offsets itself.
 */
public final class PcBench {
  public static void main(String[] args) throws Exception {
    String bootstrap = null, topic = null, group = null, ordering = "unordered", model = "0ms";
    int mpc = 50, cpuIters = 250;
    long records = 0, timeoutSec = 600;
    for (int i = 0; i + 1 < args.length; i += 2) {
      String k = args[i].replaceFirst("^-+", ""), v = args[i + 1];
      switch (k) {
        case "bootstrap" -> bootstrap = v;
        case "topic" -> topic = v;
        case "group" -> group = v;
        case "ordering" -> ordering = v;
        case "model" -> model = v;
        case "mpc" -> mpc = Integer.parseInt(v);
        case "cpu-iters" -> cpuIters = Integer.parseInt(v);
        case "records" -> records = Long.parseLong(v);
        case "timeout" -> timeoutSec = Long.parseLong(v.replaceAll("s$", ""));
        default -> { /* Go-only flags are ignored */ }
      }
    }
    long created = System.nanoTime();
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false); // PC requires it off
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p);

    var opts = ParallelConsumerOptions.<byte[], byte[]>builder()
        .consumer(consumer)
        .ordering(ordering.equals("key") ? ProcessingOrder.KEY
            : ordering.equals("partition") ? ProcessingOrder.PARTITION : ProcessingOrder.UNORDERED)
        .maxConcurrency(mpc)
        .commitMode(CommitMode.PERIODIC_CONSUMER_ASYNCHRONOUS) // the library's default
        .build();
    ParallelStreamProcessor<byte[], byte[]> pc = ParallelStreamProcessor.createEosStreamProcessor(opts);
    pc.subscribe(List.of(topic));

    final long want = records;
    final int iters = cpuIters;
    final long sleepMs = model.equals("1ms") ? 1 : model.equals("10ms") ? 10 : 0;
    final boolean cpu = model.equals("cpu");
    AtomicLong handled = new AtomicLong();
    AtomicLong first = new AtomicLong();
    CountDownLatch done = new CountDownLatch(1);
    ThreadLocal<MessageDigest> sha = ThreadLocal.withInitial(PcBench::sha256);
    pc.poll(ctx -> {
      if (first.get() == 0) first.compareAndSet(0, System.nanoTime());
      byte[] v = ctx.value();
      if (sleepMs > 0) {
        try {
          Thread.sleep(sleepMs);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new RuntimeException(e);
        }
      } else if (cpu) {
        MessageDigest md = sha.get();
        byte[] sum = md.digest(v);
        for (int i = 1; i < iters; i++) sum = md.digest(sum);
        if (sum[0] == 42) handled.addAndGet(0); // keep the JIT from dropping it
      }
      if (handled.incrementAndGet() == want) done.countDown();
    });

    String error = null;
    if (!done.await(timeoutSec, TimeUnit.SECONDS)) error = "timeout: handled " + handled.get() + " of " + want;
    pc.close(); // drains and commits synchronously what is done
    long end = System.nanoTime();
    long f = first.get() == 0 ? end : first.get();
    String line = String.format(java.util.Locale.ROOT, "KWBENCH handled=%d elapsed_s=%.4f startup_s=%.4f peak_rss_kib=%d",
        handled.get(), (end - f) / 1e9, (f - created) / 1e9, peakRssKiB());
    if (error != null) line += " error=\"" + error + "\"";
    System.out.println(line);
    System.out.flush();
    System.exit(0);
  }

  /** VmHWM of this JVM: wait4's rusage would include the forking parent's high-water mark. */
  private static long peakRssKiB() {
    try {
      for (String l : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
        if (l.startsWith("VmHWM:")) return Long.parseLong(l.replaceAll("[^0-9]", ""));
      }
    } catch (Exception e) {
      // not Linux: the orchestrator falls back to rusage
    }
    return 0;
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
