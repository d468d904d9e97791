package io.faultline.cli;

import io.faultline.gc.HeapCorruptedException;
import io.faultline.heap.Heap;
import io.faultline.heap.HeapConfig;
import io.faultline.heap.HeapExhaustedException;
import io.faultline.heap.HeapStats;
import io.faultline.uffd.UffdOptions;
import io.faultline.verify.VerifyReport;
import io.faultline.workload.BinaryTrees;
import io.faultline.workload.GcBench;
import io.faultline.workload.GcOld;
import io.faultline.workload.RandomGraph;
import io.faultline.workload.Workload;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * {@code faultline run}: builds a heap from the options, runs the workload on it, verifies the
 * heap at the end (with {@code --verify}) and prints a summary line or, with {@code --json}, a
 * {@link RunReport} as the last stdout line.
 */
public final class RunCommand {
    private RunCommand() {
    }

    /** Runs the command; returns the exit status. Throws {@link UsageException} for a bad command line. */
    public static int execute(List<String> args, PrintStream out, PrintStream err) {
        RunOptions o = RunOptions.parse(args);
        if (o.help()) {
            out.print(RunOptions.usage());
            return Main.EXIT_OK;
        }
        BackendChoice backend;
        try {
            backend = BackendChoice.resolve(o.backend(), o.mode(), o.uffdOptions(), err);
        } catch (BackendUnavailableException e) {
            err.println("faultline: " + e.getMessage());
            return Main.EXIT_FAILED;
        }
        String modeLabel = backend.mode() == null ? backend.backend() : backend.backend() + "/" + backend.mode();
        TraceRecorder trace = null;
        if (o.trace() != null) {
            try {
                trace = new TraceRecorder(Path.of(o.trace()), modeLabel);
            } catch (IOException | RuntimeException e) {
                throw new UsageException("--trace '" + o.trace() + "': cannot write it: " + e.getMessage());
            }
        }
        HeapConfig config;
        try {
            HeapConfig.Builder b = HeapConfig.builder();
            if (trace != null) {
                b.trace(o.traceFirstCycle(), o.traceLastCycle(), HeapConfig.DEFAULT_TRACE_RING_RECORDS, trace);
            }
            if (o.runPages() != null) {
                b.runPages(o.runPages());
            }
            if (o.faultAround() != null) {
                b.faultAroundPages(o.faultAround());
            }
            config = b
                    .capacity(o.heapBytes())
                    .backend(o.injectDamage() ? DamageInjectingBackend.wrap(backend.factory()) : backend.factory())
                    .concurrentCompaction(!o.stw())
                    .concurrentMarking(!o.stwMarking())
                    .youngCycles(o.youngCycles())
                    .compactorThreads(o.gcThreads())
                    .verifyAfterGc(o.verify())
                    .checkedAccess(o.checked())
                    .gcLog(o.gcLog() ? err::println : null)
                    .build();
        } catch (IllegalArgumentException e) {
            throw new UsageException("--heap '" + ByteSize.format(o.heapBytes()) + "': " + e.getMessage());
        }
        Workload workload = workload(o);

        Heap heap;
        try {
            heap = Heap.create(config);
        } catch (RuntimeException | OutOfMemoryError e) {
            if (trace != null) {
                try {
                    trace.finish();
                } catch (IOException ignored) {
                    // the run failed already; its message below is the one that matters
                }
            }
            err.println("faultline: cannot create a " + ByteSize.format(config.capacity()) + " heap on the "
                    + backend.backend() + " backend: " + e);
            return Main.EXIT_FAILED;
        }
        PageMapWatch watch = o.watch() ? PageMapWatch.start(heap.pageMap(), out, o.watchIntervalMs()) : null;
        Thread progress = o.durationMs() >= LONG_RUN_MS && !o.watch() ? runProgress(o.durationMs(), err) : null;
        LongAdder allocated = new LongAdder();
        long wallNanos;
        boolean verified = false;
        Throwable failure = null;
        String error = null;
        HeapStats stats;
        Map<String, Long> uffd = null;
        try {
            long t0 = System.nanoTime();
            try {
                workload.run(heap, o.threads(), out, allocated);
            } catch (HeapExhaustedException e) {
                // Its message carries a snapshot of the counters taken mid-run; the report's own
                // counters (taken below, once compaction is done) are the ones to print.
                failure = e;
                error = "heap exhausted: cannot allocate " + e.requestedBytes() + " bytes after a full collection (--heap "
                        + ByteSize.format(config.capacity()) + ")";
            } catch (RuntimeException | Error e) {
                failure = e;
                error = e.toString();
            }
            wallNanos = System.nanoTime() - t0;
            if (failure == null && o.verify()) {
                try {
                    VerifyReport report = heap.verify();
                    if (!report.ok()) {
                        error = "final verification: " + report;
                    }
                } catch (RuntimeException e) {
                    failure = e;
                    error = "final verification: " + e;
                }
            }
            try {
                // A compaction still in flight is counted in gcCycles but not yet in pagesCompacted.
                heap.awaitCompaction();
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                    error = e.toString();
                }
            }
            stats = heap.stats();
            if (error == null && o.verify()) {
                verified = stats.verifiedCycles() == stats.gcCycles();
                if (!verified) {
                    err.println("faultline: the verifier checked " + stats.verifiedCycles() + " of " + stats.gcCycles()
                            + " cycles; not reporting the run as verified");
                }
            }
            if (!heap.backendCounters().isEmpty()) {
                uffd = counters(heap.backendCounters());
            }
        } finally {
            if (progress != null) {
                progress.interrupt();
                joinQuietly(progress);
            }
            if (watch != null) {
                watch.close();
            }
            heap.close();
        }
        out.flush();
        if (trace != null && !writeTrace(trace, o, heap, modeLabel + " " + workload.name(), stats, err)) {
            error = error != null ? error : "--trace '" + o.trace() + "': could not be written";
        }
        if (error != null) {
            err.println("faultline: run failed: " + error);
            if (failure != null && !(failure instanceof HeapExhaustedException)
                    && !(failure instanceof HeapCorruptedException)) {
                failure.printStackTrace(err);
            }
        }
        UffdOptions options = backend.options();
        RunReport report = new RunReport(backend.backend(), backend.requested(), backend.mode(),
                options == null ? null : options.delivery().label(), options == null ? null : options.supply().label(),
                config.runPages(), config.faultAroundPages(), workload.name(), o.threads(), o.stw() ? 0 : o.gcThreads(), !o.stw(),
                config.capacity(), stats, verified, allocated.sum(), wallNanos / 1e6, uffd, o.injectDamage(), error);
        out.println(o.json() ? report.toJson() : report.summary());
        out.flush();
        return error == null ? Main.EXIT_OK : Main.EXIT_FAILED;
    }

    /** Runs of at least this many ms ({@code --duration-ms}) show a progress line on stderr. */
    static final long LONG_RUN_MS = 5_000;

    /**
     * A daemon thread that shows how far a {@code --duration-ms} run is (elapsed over the duration)
     * on a {@link ProgressLine} until interrupted; then clears it.
     */
    private static Thread runProgress(long durationMs, PrintStream err) {
        ProgressLine line = ProgressLine.on(err, "run");
        long start = System.nanoTime();
        return Thread.ofPlatform().daemon().name("faultline-run-progress").start(() -> {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    line.at(durationMs / 1000 + " s run", (System.nanoTime() - start) / 1e6 / durationMs);
                    Thread.sleep(200);
                }
            } catch (InterruptedException e) {
                // the run is over
            } finally {
                line.done();
            }
        });
    }

    private static void joinQuietly(Thread t) {
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Finishes {@code --trace}: the CSV, the timeline PNG and a line on {@code err} saying where they
     * are, how many records they hold and how many the ring dropped. False if a file could not be
     * written.
     */
    private static boolean writeTrace(TraceRecorder trace, RunOptions o, Heap heap, String title, HeapStats stats,
                                      PrintStream err) {
        Path png = Path.of(o.timelinePng());
        try {
            trace.finish();
            TraceTimeline.write(trace, title + ", cycles " + o.traceFirstCycle() + ".." + o.traceLastCycle(), png);
        } catch (IOException | RuntimeException e) {
            err.println("faultline: --trace: " + e);
            return false;
        }
        long dropped = heap.traceRecordsDropped();
        err.printf(Locale.ROOT, "trace: %d records of cycles %d..%d in %s, timeline in %s%s%s%n", trace.records(),
                o.traceFirstCycle(), o.traceLastCycle(), o.trace(), png,
                trace.records() > 0 ? String.format(Locale.ROOT, "; time_us 0 is CLOCK_MONOTONIC %.6f s (perf record -k mono)",
                        trace.originNanos() / 1e9) : "",
                dropped > 0 ? "; " + dropped + " records dropped (the ring was full; the trace has gaps)" : "");
        if (trace.records() == 0) {
            err.println("trace: the run had " + stats.gcCycles() + " GC cycles; cycle " + o.traceFirstCycle()
                    + " never ran (lower --trace-cycles, or run longer)");
        }
        return true;
    }

    /** The backend's counters in camel case: {@code ioctlContinue}, {@code installRuns}, ... */
    private static Map<String, Long> counters(Map<String, Long> byName) {
        Map<String, Long> map = new LinkedHashMap<>();
        byName.forEach((name, value) -> {
            StringBuilder key = new StringBuilder();
            for (String part : name.toLowerCase(Locale.ROOT).split("_")) {
                key.append(key.isEmpty() ? part : Character.toUpperCase(part.charAt(0)) + part.substring(1));
            }
            map.put(key.toString(), value);
        });
        return map;
    }

    private static Workload workload(RunOptions o) {
        return switch (o.workload()) {
            case "random" -> new RandomGraph(o.seed(), o.ops(), o.durationMs());
            case "binarytrees" -> new BinaryTrees(o.depth());
            case "gcbench" -> new GcBench(o.depth());
            case "gcold" -> new GcOld(o.seed(), o.liveMb(), o.steps());
            default -> throw new UsageException("--workload '" + o.workload() + "' is not one of "
                    + String.join(", ", RunOptions.WORKLOADS));
        };
    }
}
