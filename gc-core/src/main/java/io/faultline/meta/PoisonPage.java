package io.faultline.meta;

/**
 * The bytes of a poisoned page. When a to-space page cannot be built or installed, the fault path
 * installs a page filled with {@link #BYTE} instead, so that threads blocked on it are released
 * without being shown stale or partial data; the heap's FAILED bit is set before the page is
 * installed. A mutator accessor that reads a value made only of this byte re-checks the FAILED bit
 * and throws if it is set (a legitimate value equal to the pattern costs one more load). Mirrored
 * by {@code FL_POISON_BYTE} in {@code layout.h}.
 */
public final class PoisonPage {
    private PoisonPage() {}

    public static final byte BYTE = (byte) 0xF1;
    public static final int INT = 0xF1F1_F1F1;
    public static final long LONG = 0xF1F1_F1F1_F1F1_F1F1L;
}
