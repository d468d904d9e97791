package io.faultline.cli;

import io.faultline.gc.GcPhase;
import io.faultline.heap.PageMap;
import io.faultline.meta.PageStates;
import java.io.PrintStream;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * {@code faultline run --watch}: a live map of the heap's pages while the workload runs, drawn by
 * a daemon thread from {@link PageMap}'s racy reads. Each cell of the map stands for a group of
 * consecutive pages and shows the most telling state among them:
 *
 * <pre>
 *   X FAILED   p PROCESSING (being built)   m MAPPING (being installed)   b PROCESSED (built)
 *   u UNPROCESSED (to-space, not built yet)   # MAPPED and in use   . free (above the allocation top)
 * </pre>
 *
 * On a terminal the frame (a status line, {@link #ROWS} rows of {@link #COLUMNS} cells, a legend)
 * is redrawn in place with ANSI escapes and coloured; otherwise each interval prints one plain line
 * {@code watch: <t>s cycle <n> <phase> left <pages> faults <n> [<64 cells>]}, so a log or a pipe
 * gets a readable history instead of escape codes.
 */
final class PageMapWatch implements AutoCloseable {
    static final int COLUMNS = 64;
    static final int ROWS = 16;
    private static final String ESC = "\u001b[";

    private final PageMap map;
    private final PrintStream out;
    private final boolean terminal;
    private final long intervalNanos;
    private final long start = System.nanoTime();
    private final Thread thread;
    private volatile boolean stopped;
    private int frames;

    private PageMapWatch(PageMap map, PrintStream out, boolean terminal, long intervalMs) {
        this.map = map;
        this.out = out;
        this.terminal = terminal;
        this.intervalNanos = TimeUnit.MILLISECONDS.toNanos(intervalMs);
        this.thread = Thread.ofPlatform().daemon().name("faultline-watch").unstarted(this::loop);
    }

    /** Starts watching {@code map} on {@code out}; {@code intervalMs} 0: the default for the output. */
    static PageMapWatch start(PageMap map, PrintStream out, long intervalMs) {
        return start(map, out, Terminal.isTerminal(out), intervalMs);
    }

    /** As {@link #start(PageMap, PrintStream, long)}, drawing for a terminal or not as {@code terminal} says. */
    static PageMapWatch start(PageMap map, PrintStream out, boolean terminal, long intervalMs) {
        long ms = intervalMs > 0 ? intervalMs : terminal ? RunOptions.DEFAULT_WATCH_TTY_MS : RunOptions.DEFAULT_WATCH_PLAIN_MS;
        PageMapWatch w = new PageMapWatch(map, out, terminal, ms);
        w.draw();
        w.thread.start();
        return w;
    }

    /** The first frame is drawn by {@link #start}, the last by {@link #close}: at least two, however short the run. */
    private void loop() {
        while (true) {
            LockSupport.parkNanos(this, intervalNanos);
            if (stopped) {
                return;
            }
            draw();
        }
    }

    /** Stops the thread after one last frame (the map must still be valid: call before the heap closes). */
    @Override
    public void close() {
        stopped = true;
        LockSupport.unpark(thread);
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        draw();
    }

    /** Frames drawn so far. */
    int frames() {
        return frames;
    }

    private synchronized void draw() {
        char[] cells = cells(terminal ? COLUMNS * ROWS : COLUMNS);
        String status = status();
        if (!terminal) {
            out.println("watch: " + status + " [" + new String(cells) + "]");
            out.flush();
            frames++;
            return;
        }
        StringBuilder b = new StringBuilder(4096);
        if (frames > 0) {
            b.append(ESC).append(ROWS + 2).append('A');
        }
        b.append('\r').append(ESC).append("2K").append(status).append('\n');
        for (int r = 0; r < ROWS; r++) {
            b.append(ESC).append("2K");
            char last = 0;
            for (int c = 0; c < COLUMNS; c++) {
                char ch = cells[r * COLUMNS + c];
                if (ch != last) {
                    b.append(ESC).append(colour(ch)).append('m');
                    last = ch;
                }
                b.append(ch);
            }
            b.append(ESC).append("0m\n");
        }
        b.append(ESC).append("2K").append("X failed  p building  m installing  b built  u to build  # mapped  . free\n");
        out.print(b);
        out.flush();
        frames++;
    }

    private String status() {
        GcPhase phase = map.phase();
        long toSpace = Math.max(0, map.toSpaceEndPage() - map.toSpaceFirstPage());
        return String.format(Locale.ROOT, "%.1fs cycle %d %s left %d/%d faults %d%s",
                (System.nanoTime() - start) / 1e9, phase == null ? map.cycles() : map.phaseCycle(), phase == null ? "idle" : phase.label(),
                map.pagesLeft(), toSpace, map.faults(), map.failed() ? " FAILED" : "");
    }

    /** {@code n} cells over every page of the heap, each the most telling state of its group. */
    char[] cells(int n) {
        long pages = map.pages();
        long used = map.usedPages();
        char[] cells = new char[n];
        for (int c = 0; c < n; c++) {
            long first = pages * c / n;
            long end = Math.max(first + 1, pages * (c + 1) / n);
            int rank = 0;
            for (long p = first; p < end && p < pages; p++) {
                rank = Math.max(rank, rank(map.state(p), p < used));
            }
            cells[c] = ".#ubmpX".charAt(rank);
        }
        return cells;
    }

    /** 0 free, 1 mapped in use, 2 unprocessed, 3 processed, 4 mapping, 5 processing, 6 failed. */
    private static int rank(int state, boolean used) {
        return switch (state) {
            case PageStates.FAILED -> 6;
            case PageStates.PROCESSING -> 5;
            case PageStates.MAPPING -> 4;
            case PageStates.PROCESSED -> 3;
            case PageStates.UNPROCESSED -> 2;
            default -> used ? 1 : 0;
        };
    }

    private static String colour(char cell) {
        return switch (cell) {
            case 'X' -> "1;31";
            case 'p' -> "33";
            case 'm' -> "34";
            case 'b' -> "93";
            case 'u' -> "90";
            case '#' -> "32";
            default -> "0";
        };
    }
}
