package io.faultline.gc;

/**
 * The pauses of a cycle. With concurrent marking a cycle pauses three times (initial mark,
 * remark, flip); with stop-the-world marking, or when an allocation does not fit, once (full).
 */
public enum PauseKind {
    /** Snapshots the roots and turns the write barrier on: O(roots). */
    INITIAL_MARK("initialMark", "Init Mark"),
    /** Drains the barrier's buffers, finishes marking, turns the barrier off: O(SATB entries). */
    REMARK("remark", "Remark"),
    /** Plans what was allocated since the remark, updates the roots and starts the compaction. */
    FLIP("flip", "Flip"),
    /** Marks, plans and flips in one pause (stop-the-world marking, or an allocation failure). */
    FULL("full", "Full");

    private final String key;
    private final String label;

    PauseKind(String key, String label) {
        this.key = key;
        this.label = label;
    }

    /** The name in JSON and {@code HeapStats} ({@code initialMark}, {@code remark}, ...). */
    public String key() {
        return key;
    }

    /** The name in the GC log ({@code Pause Init Mark}, ...). */
    public String label() {
        return label;
    }
}
