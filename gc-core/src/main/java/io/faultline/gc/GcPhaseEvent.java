package io.faultline.gc;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/**
 * JFR: one collector phase ({@link GcPhase}) that ended. Committed when the phase ends, so the
 * event's own start time is the phase's end; {@code phaseDuration} is how long it took.
 */
@Name("faultline.GcPhase")
@Label("Faultline GC Phase")
@Category("Faultline")
@Description("A phase of a Faultline collection cycle: init-mark, concurrent-mark, remark, plan, flip, full, "
        + "concurrent-compaction, release")
@StackTrace(false)
final class GcPhaseEvent extends jdk.jfr.Event {
    @Label("GC Id")
    long gcId;

    @Label("Phase")
    String phase;

    @Label("Cause")
    String cause;

    @Label("Pause")
    @Description("True if the world was stopped")
    boolean pause;

    @Label("Phase Duration")
    @Timespan(Timespan.NANOSECONDS)
    long phaseDuration;

    @Label("Bytes")
    @Description("init-mark: used bytes at the snapshot; plan: bytes planned; flip, full: used bytes before; "
            + "concurrent-compaction: to-space bytes built; release: from-space bytes released in the phase; else 0")
    @DataAmount
    long bytes;

    @Label("Count")
    @Description("concurrent-mark: objects marked; remark: SATB entries; init-mark: roots; concurrent-compaction: pages; "
            + "else 0")
    long count;
}
