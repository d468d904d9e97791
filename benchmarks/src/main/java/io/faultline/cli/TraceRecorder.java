package io.faultline.cli;

import io.faultline.gc.GcEvents;
import io.faultline.gc.GcPhase;
import io.faultline.meta.PageStates;
import io.faultline.meta.TraceRing;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * What {@code faultline run --trace FILE} does with the heap's trace records: writes each as one
 * CSV line as the heap's drain thread hands it over, and keeps what the timeline needs (each page's
 * state intervals, the faults, the phases) for {@link TraceTimeline}.
 *
 * <p>CSV columns: {@code time_us} (since the first record), {@code cycle}, {@code kind}
 * ({@code state}, {@code state-range}, {@code fault}, {@code phase-begin}, {@code phase-end},
 * {@code release}), {@code page} (release: the first from-space page), {@code pages}
 * (state-range: pages in the range), {@code from}, {@code to} (page
 * states, {@link PageStates#name}), {@code phase}, {@code thread} (Java thread id, or the native
 * pthread id), {@code origin} ({@code java}/{@code native}), {@code mode} (the run's backend mode),
 * {@code delivery} and {@code result} (faults), {@code latency_us} (faults) and {@code bytes}
 * (phase-end, release).
 *
 * <p>Called by one thread at a time (the drain thread, then the closing thread after it stopped).
 */
final class TraceRecorder implements TraceRing.Sink {
    static final String HEADER = "time_us,cycle,kind,page,pages,from,to,phase,thread,origin,mode,delivery,result,latency_us,bytes";
    /** Intervals kept for the timeline; beyond this the PNG shows the first ones and says so. */
    static final int MAX_INTERVALS = 4_000_000;

    private final BufferedWriter csv;
    private final String mode;
    /** Each page's current state (-1: none recorded yet) and since when; grown to the highest page seen. */
    private int[] state = new int[0];
    private long[] since = new long[0];
    private long origin = Long.MIN_VALUE;
    private long lastTime;
    private long records;
    private IOException error;
    /** The begin time of the phase whose end comes next (GcEvents writes begin and end together). */
    private long pendingPhaseBegin;

    /** Page intervals: state, page, begin, end (ns since origin), 4 longs each. */
    long[] intervals = new long[4096];
    int intervalCount;
    long intervalsDropped;
    /** Faults: time, page, latency (ns), 3 longs each. */
    long[] faults = new long[1024];
    int faultCount;
    /** Phases: ordinal, begin, end (ns since origin). */
    long[] phases = new long[64];
    int phaseCount;
    long minPage = Long.MAX_VALUE;
    long maxPage = -1;

    TraceRecorder(Path file, String mode) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        this.csv = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
        this.mode = mode;
        csv.write(HEADER);
        csv.newLine();
    }

    @Override
    public void accept(TraceRing.Event e) {
        if (origin == Long.MIN_VALUE) {
            origin = e.time();
        }
        long t = e.time() - origin;
        lastTime = Math.max(lastTime, t);
        records++;
        switch (e.kind()) {
            case TraceRing.KIND_STATE -> transition(e.page(), e.b(), t);
            case TraceRing.KIND_STATE_RANGE -> {
                for (long p = e.page(); p < e.page() + e.value(); p++) {
                    transition(p, e.b(), t);
                }
            }
            case TraceRing.KIND_FAULT -> {
                faults = grow(faults, faultCount * 3 + 3);
                faults[faultCount * 3] = t;
                faults[faultCount * 3 + 1] = e.page();
                faults[faultCount * 3 + 2] = e.value();
                faultCount++;
            }
            case TraceRing.KIND_PHASE_END -> {
                phases = grow(phases, phaseCount * 3 + 3);
                phases[phaseCount * 3] = e.a();
                phases[phaseCount * 3 + 1] = pendingPhaseBegin;
                phases[phaseCount * 3 + 2] = t;
                phaseCount++;
            }
            case TraceRing.KIND_PHASE_BEGIN -> pendingPhaseBegin = t;
            default -> {
            }
        }
        if (error == null) {
            try {
                csv.write(line(e, t));
                csv.newLine();
            } catch (IOException x) {
                error = x;
            }
        }
    }

    /** One CSV line (a StringBuilder, not String.format: a traced cycle writes tens of thousands). */
    private String line(TraceRing.Event e, long t) {
        int kind = e.kind();
        boolean stateKind = kind == TraceRing.KIND_STATE || kind == TraceRing.KIND_STATE_RANGE;
        boolean phase = kind == TraceRing.KIND_PHASE_BEGIN || kind == TraceRing.KIND_PHASE_END;
        boolean fault = kind == TraceRing.KIND_FAULT;
        StringBuilder b = new StringBuilder(128);
        micros(b, t).append(',').append(e.epoch()).append(',').append(kindName(kind)).append(',');
        if (!phase) {
            b.append(e.page());
        }
        b.append(',');
        if (kind == TraceRing.KIND_STATE_RANGE) {
            b.append(e.value());
        }
        b.append(',').append(stateKind ? stateName(e.a()) : "").append(',').append(stateKind ? stateName(e.b()) : "");
        b.append(',').append(phase ? GcPhase.values()[e.a()].label() : "");
        b.append(',').append(e.thread()).append(',').append(e.origin() == TraceRing.ORIGIN_NATIVE ? "native" : "java");
        b.append(',').append(mode);
        b.append(',').append(fault ? GcEvents.deliveryName(e.a()) : "").append(',').append(fault ? GcEvents.faultResultName(e.b()) : "");
        b.append(',');
        if (fault) {
            micros(b, e.value());
        }
        b.append(',');
        if (kind == TraceRing.KIND_PHASE_END || kind == TraceRing.KIND_RELEASE) {
            b.append(e.value());
        }
        return b.toString();
    }

    /** Nanoseconds as microseconds with three decimals ({@code 1234567} -> {@code 1234.567}). */
    static StringBuilder micros(StringBuilder b, long nanos) {
        if (nanos < 0) {
            b.append('-');
            nanos = -nanos;
        }
        long frac = nanos % 1000;
        b.append(nanos / 1000).append('.');
        if (frac < 100) {
            b.append('0');
        }
        if (frac < 10) {
            b.append('0');
        }
        return b.append(frac);
    }

    private void transition(long page, int to, long t) {
        if (page < 0 || page >= Integer.MAX_VALUE) {
            return;
        }
        int p = (int) page;
        if (p >= state.length) {
            int n = Math.max(p + 1, state.length * 2);
            int old = state.length;
            state = Arrays.copyOf(state, n);
            since = Arrays.copyOf(since, n);
            Arrays.fill(state, old, n, -1);
        }
        if (state[p] >= 0) {
            interval(state[p], page, since[p], t);
        }
        state[p] = to;
        since[p] = t;
        minPage = Math.min(minPage, page);
        maxPage = Math.max(maxPage, page);
    }

    private void interval(int s, long page, long begin, long end) {
        if (intervalCount >= MAX_INTERVALS) {
            intervalsDropped++;
            return;
        }
        intervals = grow(intervals, intervalCount * 4 + 4);
        int i = intervalCount * 4;
        intervals[i] = s;
        intervals[i + 1] = page;
        intervals[i + 2] = begin;
        intervals[i + 3] = Math.max(end, begin + 1);
        intervalCount++;
    }

    /** Closes every page's last interval at the last record's time and the CSV; throws the first write error. */
    void finish() throws IOException {
        for (int p = 0; p < state.length; p++) {
            if (state[p] >= 0) {
                interval(state[p], p, since[p], lastTime);
                state[p] = -1;
            }
        }
        try {
            csv.close();
        } catch (IOException e) {
            if (error == null) {
                error = e;
            }
        }
        if (error != null) {
            throw error;
        }
    }

    /** Records received. */
    long records() {
        return records;
    }

    /**
     * The time of the first record, {@code time_us} 0 of the CSV: CLOCK_MONOTONIC nanoseconds
     * (Java's {@code System.nanoTime} and the native path's {@code clock_gettime} read the same
     * clock, and so does {@code perf record -k mono}); {@link Long#MIN_VALUE} before any record.
     */
    long originNanos() {
        return origin;
    }

    /** Time of the last record, ns since the first. */
    long lastTime() {
        return lastTime;
    }

    String mode() {
        return mode;
    }

    static String kindName(int kind) {
        return switch (kind) {
            case TraceRing.KIND_STATE -> "state";
            case TraceRing.KIND_STATE_RANGE -> "state-range";
            case TraceRing.KIND_FAULT -> "fault";
            case TraceRing.KIND_PHASE_BEGIN -> "phase-begin";
            case TraceRing.KIND_PHASE_END -> "phase-end";
            case TraceRing.KIND_RELEASE -> "release";
            default -> "kind-" + kind;
        };
    }

    static String stateName(int s) {
        return switch (s) {
            case PageStates.MAPPED -> "MAPPED";
            case PageStates.UNPROCESSED -> "UNPROCESSED";
            case PageStates.PROCESSING -> "PROCESSING";
            case PageStates.PROCESSED -> "PROCESSED";
            case PageStates.MAPPING -> "MAPPING";
            case PageStates.FAILED -> "FAILED";
            default -> "STATE-" + s;
        };
    }

    private static long[] grow(long[] a, int need) {
        return need <= a.length ? a : Arrays.copyOf(a, Math.max(need, a.length * 2));
    }
}
