package io.faultline.cli;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The progress of a long command ({@code compare}, long runs) as one line: the stage, the percent
 * done, the time elapsed and an estimate of the time left.
 *
 * <p>On a terminal the line is redrawn in place with a carriage return (at most every
 * {@link #REDRAW_NANOS}); lines that must stay (a stage's result, a warning) are printed above it
 * with {@link #note}. Anywhere else (a file, a pipe, CI logs) there is no in-place redraw: each
 * stage change prints one plain line with the same fields, and notes print as they are.
 *
 * <p>{@link #lines()} adapts a command that reports progress as text lines. JMH's
 * {@code # Run progress: P% complete} lines become the percent (on a terminal; elsewhere they
 * pass through). CompareHarness's lines
 * {@code <cmd>: [i/n] label ...} start stage i of n, {@code <cmd>: [i/n] label <result>} end it (a
 * note), indented {@code <cmd>:   label ... r/N} lines are progress within the stage (shown in
 * place on a terminal, as they are elsewhere); every other line is a note.
 */
final class ProgressLine {
    static final long REDRAW_NANOS = 100_000_000L;
    private static final Pattern STAGE = Pattern.compile("^(\\w+): \\[(\\d+)/(\\d+)] (.*)$");
    private static final Pattern STEP = Pattern.compile("^\\w+: {3}(.*?)(\\d+)/(\\d+)$");
    /** JMH's own progress: {@code # Run progress: 12.50% complete, ETA 00:01:30}. */
    private static final Pattern JMH_PROGRESS = Pattern.compile("^# Run progress: ([\\d.]+)% complete, ETA .*$");
    /** JMH's benchmark being run: {@code # Benchmark: io.faultline.bench.FaultService.fault}. */
    private static final Pattern JMH_BENCHMARK = Pattern.compile("^# Benchmark: (\\S+)$");

    private final PrintStream out;
    private final boolean terminal;
    private final String command;
    private final long start;
    private String stage = "";
    private String detail = "";
    private double fraction;
    private long lastDraw;
    private boolean drawn;
    private int stageIndex;
    private int stages;

    ProgressLine(PrintStream out, boolean terminal, String command) {
        this(out, terminal, command, System.nanoTime());
    }

    ProgressLine(PrintStream out, boolean terminal, String command, long startNanos) {
        this.out = out;
        this.terminal = terminal;
        this.command = command;
        this.start = startNanos;
    }

    /** Progress on {@code err}, redrawn in place if it is this process's stderr and the console is a terminal. */
    static ProgressLine on(PrintStream err, String command) {
        return new ProgressLine(err, err == System.err && Terminal.isTerminal(System.out), command);
    }

    /** Stage {@code name} begins, with {@code fraction} (0..1) of the whole done. */
    synchronized void stage(String name, double fraction) {
        this.stage = name;
        this.detail = "";
        this.fraction = Math.max(this.fraction, Math.min(1, fraction));
        if (terminal) {
            draw(true);
        } else {
            out.println(text());
            out.flush();
        }
    }

    /** Progress inside the stage: {@code detail} shown after its name, {@code fraction} of the whole done. */
    synchronized void step(String detail, double fraction) {
        this.detail = detail;
        this.fraction = Math.max(this.fraction, Math.min(1, fraction));
        if (terminal) {
            draw(false);
        }
    }

    /**
     * For work measured by time or count, not stages: {@code fraction} (0..1) of {@code stage} done.
     * A terminal redraws the line; elsewhere a plain line is printed each time the percent passes
     * a multiple of {@link #PLAIN_STEP_PERCENT}.
     */
    synchronized void at(String name, double fraction) {
        int before = (int) (this.fraction * 100) / PLAIN_STEP_PERCENT;
        this.stage = name;
        this.fraction = Math.max(this.fraction, Math.min(1, fraction));
        if (terminal) {
            draw(false);
        } else if ((int) (this.fraction * 100) / PLAIN_STEP_PERCENT > before) {
            out.println(text());
            out.flush();
        }
    }

    /** Without a terminal, {@link #at} prints a line every this many percent. */
    static final int PLAIN_STEP_PERCENT = 10;

    /** A line that stays: printed above the progress line (on a terminal) or as it is. */
    synchronized void note(String line) {
        if (terminal && drawn) {
            out.print("\r\u001b[2K");
        }
        out.println(line);
        if (terminal && drawn) {
            out.print(text());
        }
        out.flush();
    }

    /** The work is over: a terminal's progress line is cleared. */
    synchronized void done() {
        if (terminal && drawn) {
            out.print("\r\u001b[2K");
            out.flush();
            drawn = false;
        }
    }

    /** The line as it is drawn now: {@code compare: 25% [3/12] uffd/continue fault rounds 40/100, 0:40 elapsed, about 2:00 left}. */
    synchronized String text() {
        long elapsed = System.nanoTime() - start;
        String left = fraction >= 0.01 && fraction < 1 ? ", about " + clock((long) (elapsed / fraction * (1 - fraction))) + " left" : "";
        return String.format(Locale.ROOT, "%s: %3.0f%% %s%s%s, %s elapsed%s", command, fraction * 100,
                stages > 0 ? "[" + stageIndex + "/" + stages + "] " : "", stage, detail.isEmpty() ? "" : " " + detail,
                clock(elapsed), left);
    }

    private void draw(boolean force) {
        long now = System.nanoTime();
        if (!force && now - lastDraw < REDRAW_NANOS) {
            return;
        }
        lastDraw = now;
        out.print("\r\u001b[2K" + text());
        out.flush();
        drawn = true;
    }

    static String clock(long nanos) {
        long s = nanos / 1_000_000_000L;
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }

    /** A stream whose lines drive this progress line (see the class comment). */
    PrintStream lines() {
        return new PrintStream(new OutputStream() {
            private final ByteArrayOutputStream line = new ByteArrayOutputStream();

            @Override
            public void write(int b) {
                if (b == '\n') {
                    line(line.toString(StandardCharsets.UTF_8));
                    line.reset();
                } else {
                    line.write(b);
                }
            }
        }, true, StandardCharsets.UTF_8);
    }

    /** One line of a command's progress text. */
    synchronized void line(String text) {
        Matcher jmh = JMH_PROGRESS.matcher(text);
        if (jmh.matches()) {
            if (terminal) {
                at(stage, Double.parseDouble(jmh.group(1)) / 100);
            } else {
                note(text);
            }
            return;
        }
        Matcher benchmark = JMH_BENCHMARK.matcher(text);
        if (benchmark.matches()) {
            stage = benchmark.group(1).substring(benchmark.group(1).lastIndexOf('.', benchmark.group(1).lastIndexOf('.') - 1) + 1);
            note(text);
            return;
        }
        Matcher s = STAGE.matcher(text);
        if (s.matches()) {
            int i = Integer.parseInt(s.group(2));
            int n = Math.max(1, Integer.parseInt(s.group(3)));
            String rest = s.group(4);
            stageIndex = i;
            stages = n;
            if (rest.endsWith(" ...")) {
                stage(rest.substring(0, rest.length() - 4), (i - 1) / (double) n);
            } else {
                fraction = Math.max(fraction, i / (double) n);
                if (terminal) {
                    note(text);
                } else {
                    out.println(text + " -- " + text().substring(command.length() + 2));
                    out.flush();
                }
            }
            return;
        }
        Matcher m = STEP.matcher(text);
        if (m.matches() && stages > 0) {
            long r = Long.parseLong(m.group(2));
            long n = Math.max(1, Long.parseLong(m.group(3)));
            String what = m.group(1).strip();
            if (what.startsWith(stage)) {
                what = what.substring(stage.length()).strip();
            }
            double within = Math.min(1, r / (double) n) * 0.9;
            if (terminal) {
                step(what + " " + r + "/" + n, (stageIndex - 1 + within) / stages);
            } else {
                fraction = Math.max(fraction, (stageIndex - 1 + within) / stages);
                out.println(text);
                out.flush();
            }
            return;
        }
        note(text);
    }
}
