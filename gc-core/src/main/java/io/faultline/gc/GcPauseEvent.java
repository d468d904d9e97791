package io.faultline.gc;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/**
 * JFR: one pause of the Faultline collector (mutators stopped), committed when it ends. Its
 * duration counts from the stop request, time-to-safepoint included, as {@code HeapStats} does.
 */
@Name("faultline.GcPause")
@Label("Faultline GC Pause")
@Category("Faultline")
@Description("A stop-the-world pause of the Faultline collector: init-mark, remark, flip or full")
@StackTrace(false)
final class GcPauseEvent extends jdk.jfr.Event {
    @Label("GC Id")
    long gcId;

    @Label("Kind")
    String kind;

    @Label("Cause")
    String cause;

    @Label("Pause Duration")
    @Timespan(Timespan.NANOSECONDS)
    long pauseDuration;

    @Label("Time To Safepoint")
    @Description("From the stop request until every mutator had stopped")
    @Timespan(Timespan.NANOSECONDS)
    long timeToSafepoint;
}
