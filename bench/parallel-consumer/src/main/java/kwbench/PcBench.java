package kwbench;

import io.confluent.parallelconsumer.ParallelConsumerOptions;
import io.confluent.parallelconsumer.ParallelConsumerOptions.CommitMode;
import io.confluent.parallelconsumer.ParallelConsumerOptions.ProcessingOrder;
import io.confluent.parallelconsumer.ParallelStreamProcessor;
import java.lang.management.ManagementFactory;
import java.security.MessageDigest;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The Confluent Parallel Consumer contender of kwbench. It takes the same
 * flags as `kwbench contend` and prints the same result line, so the Go
 * orchestrator treats it like any other contender:
 *
 * <pre>KWBENCH handled=N elapsed_s=F startup_s=F peak_rss_kib=N steady_n=N steady_s=F steady_cpu_s=F
 *         handler_mean_us=F dups=N parts=P0/D0,... [error="..."]</pre>
 *
 * (on one line; see contenders.Result in Go for the fields). The clock runs
 * from the first record handed to the handler until close() returns, which
 * commits what is done; the orchestrator then checks the committed offsets
 * against what the handlers completed.
 */
public final class PcBench {
  /** One instant of the run: records handled so far, clock and process CPU. */
  private record Mark(long n, long nanos, long cpuNanos, long handlerNs, long handlerCnt) {}

  private static final Object MARKS = new Object();
  private static final AtomicLong handlerNs = new AtomicLong(), handlerCnt = new AtomicLong();
  private static Mark from, to;

  public static void main(String[] args) throws Exception {
    String bootstrap = null, topic = null, group = null, ordering = "unordered", model = "0ms", ends = "";
    int mpc = 50, cpuIters = 250;
    long timeoutSec = 600, warmupNs = 0, windowNs = 0;
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
        case "ends" -> ends = v;
        case "warmup" -> warmupNs = goDuration(v);
        case "window" -> windowNs = goDuration(v);
        case "timeout" -> timeoutSec = Long.parseLong(v.replaceAll("s$", ""));
        default -> { /* Go-only flags are ignored */ }
      }
    }
    long created = System.nanoTime();
    String[] endList = ends.split(",");
    long want = 0;
    AtomicLongArray[] seen = new AtomicLongArray[endList.length];
    for (int p = 0; p < endList.length; p++) {
      long e = Long.parseLong(endList[p].trim());
      want += e;
      seen[p] = new AtomicLongArray((int) (e / 64 + 1));
    }
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

    final long total = want, lo = Math.max(want / 10, 1), hi = Math.max(want * 9 / 10, 1);
    final long warm = warmupNs, window = windowNs;
    final int iters = cpuIters;
    final long sleepMs = model.equals("1ms") ? 1 : model.equals("10ms") || model.equals("10ms-tail") ? 10 : 0;
    final boolean tail = model.equals("10ms-tail");
    final boolean cpu = model.equals("cpu");
    AtomicLong handled = new AtomicLong(), dups = new AtomicLong();
    AtomicLong first = new AtomicLong();
    CountDownLatch done = new CountDownLatch(1);
    ThreadLocal<MessageDigest> sha = ThreadLocal.withInitial(PcBench::sha256);
    pc.poll(ctx -> {
      if (first.get() == 0 && first.compareAndSet(0, System.nanoTime()) && window > 0) {
        Thread t = new Thread(() -> runWindow(warm, window, handled, done), "kwbench-window");
        t.setDaemon(true);
        t.start();
      }
      var rec = ctx.getSingleConsumerRecord();
      byte[] v = rec.value();
      if (sleepMs > 0) {
        long t0 = System.nanoTime();
        try {
          Thread.sleep(tail && tailSlow(v) ? 1000 : sleepMs);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new RuntimeException(e);
        }
        handlerNs.addAndGet(System.nanoTime() - t0);
        handlerCnt.incrementAndGet();
      } else if (cpu) {
        MessageDigest md = sha.get();
        byte[] sum = md.digest(v);
        for (int i = 1; i < iters; i++) sum = md.digest(sum);
        if (sum[0] == 42) handled.addAndGet(0); // keep the JIT from dropping it
      }
      int part = rec.partition();
      long off = rec.offset();
      if (part < seen.length && (off >> 6) < seen[part].length()) {
        long bit = 1L << (off & 63);
        if ((seen[part].getAndAccumulate((int) (off >> 6), bit, (a, b) -> a | b) & bit) != 0) dups.incrementAndGet();
      }
      long n = handled.incrementAndGet();
      if (window == 0) {
        if (n == lo) mark(true, n);
        else if (n == hi) mark(false, n);
      }
      if (n == total) done.countDown();
    });

    String error = null;
    if (!done.await(timeoutSec, TimeUnit.SECONDS)) error = "timeout: handled " + handled.get() + " of " + total;
    pc.close(); // stops polling, lets the work in flight finish, commits synchronously what is done
    long end = System.nanoTime();
    long f = first.get() == 0 ? end : first.get();
    StringBuilder parts = new StringBuilder();
    for (int i = 0; i < seen.length; i++) {
      long distinct = 0, prefix = 0;
      boolean inPrefix = true;
      for (int w = 0; w < seen[i].length(); w++) {
        long word = seen[i].get(w);
        for (int b = 0; b < 64; b++) {
          if ((word & (1L << b)) != 0) {
            distinct++;
            if (inPrefix) prefix++;
          } else {
            inPrefix = false;
          }
        }
      }
      if (i > 0) parts.append(',');
      parts.append(prefix).append('/').append(distinct);
    }
    long steadyN = 0, hc = 0, hns = 0;
    double steadyS = 0, steadyCpu = 0;
    synchronized (MARKS) {
      if (from != null && to != null) {
        steadyN = to.n - from.n;
        steadyS = (to.nanos - from.nanos) / 1e9;
        steadyCpu = (to.cpuNanos - from.cpuNanos) / 1e9;
        hc = to.handlerCnt - from.handlerCnt;
        hns = to.handlerNs - from.handlerNs;
      }
    }
    String line = String.format(java.util.Locale.ROOT,
        "KWBENCH handled=%d elapsed_s=%.4f startup_s=%.4f peak_rss_kib=%d steady_n=%d steady_s=%.4f steady_cpu_s=%.4f"
            + " handler_mean_us=%.1f dups=%d parts=%s",
        handled.get(), (end - f) / 1e9, (f - created) / 1e9, peakRssKiB(), steadyN, steadyS, steadyCpu,
        hc == 0 ? 0.0 : hns / 1e3 / hc, dups.get(), parts);
    if (first.get() == 0 && error == null) error = "no record handled";
    if (error != null) line += " error=\"" + error + "\"";
    System.out.println(line);
    System.out.flush();
    System.exit(0);
  }

  /** The windowed run's clock: warm-up, the window, then the signal to stop. */
  private static void runWindow(long warmNs, long windowNs, AtomicLong handled, CountDownLatch done) {
    try {
      if (done.await(warmNs, TimeUnit.NANOSECONDS)) return; // the backlog ran out during the warm-up
      mark(true, handled.get());
      done.await(windowNs, TimeUnit.NANOSECONDS);
      mark(false, handled.get());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    done.countDown();
  }

  private static void mark(boolean start, long n) {
    long cpu = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    Mark m = new Mark(n, System.nanoTime(), cpu, handlerNs.get(), handlerCnt.get());
    synchronized (MARKS) {
      if (start && from == null) from = m;
      if (!start && to == null) to = m;
    }
  }

  /** Parses the Go durations the orchestrator passes: "0s", "3s", "20s", "1m30s", "500ms". */
  static long goDuration(String v) {
    var m = java.util.regex.Pattern.compile("([0-9.]+)(ns|us|µs|ms|s|m|h)").matcher(v);
    double ns = 0;
    while (m.find()) {
      double x = Double.parseDouble(m.group(1));
      ns += x * switch (m.group(2)) {
        case "ns" -> 1;
        case "us", "µs" -> 1e3;
        case "ms" -> 1e6;
        case "s" -> 1e9;
        case "m" -> 60e9;
        default -> 3600e9;
      };
    }
    return (long) ns;
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

  /**
   * The 10ms-tail model's slow records, as contenders/handler.go decides: the value's seq
   * ({"seq":<10 digits>,...) is a multiple of 1,000.
   */
  static boolean tailSlow(byte[] v) {
    final String prefix = "{\"seq\":";
    if (v == null || v.length < prefix.length() + 10) return false;
    for (int i = 0; i < prefix.length(); i++) if (v[i] != prefix.charAt(i)) return false;
    long seq = 0;
    for (int i = prefix.length(); i < prefix.length() + 10; i++) seq = seq * 10 + (v[i] - '0');
    return seq % 1000 == 0;
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
