package io.faultline.gc;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/**
 * JFR: one page fault a mutator took on a to-space page not yet built, as the trace ring recorded
 * it (sampled: see {@link GcEvents#FAULT_EVENT_THRESHOLD_NANOS}). Committed by the heap's trace drain
 * thread, up to {@link GcEvents#DRAIN_MILLIS} after the fault; {@code latency} is the fault's own time.
 */
@Name("faultline.PageFault")
@Label("Faultline Page Fault")
@Category("Faultline")
@Description("A fault on a to-space page during a concurrent compaction, and how long serving it took")
@StackTrace(false)
final class PageFaultEvent extends jdk.jfr.Event {
    @Label("GC Id")
    long gcId;

    @Label("Page")
    long page;

    @Label("Delivery")
    @Description("java (software fault), thread (uffd fault-service thread) or sigbus (the faulting thread's handler)")
    String delivery;

    @Label("Result")
    @Description("built, mapped, mapped-run, owned, stale, failed or abandoned (PageProtocol.FAULT_*)")
    String result;

    @Label("Latency")
    @Timespan(Timespan.NANOSECONDS)
    long latency;
}
