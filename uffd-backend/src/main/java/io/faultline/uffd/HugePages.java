package io.faultline.uffd;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether the kernel hands out 2 MiB transparent huge pages to a range advised
 * {@code MADV_HUGEPAGE}: its setting {@code /sys/kernel/mm/transparent_hugepage/enabled} reads
 * {@code [always]} or {@code [madvise]}. With {@code [never]} (or no such file) the advice is
 * accepted and does nothing.
 */
public final class HugePages {
    /** The x86-64 PMD size: one huge page. */
    public static final long SIZE = 2L << 20;
    static final Path ENABLED = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");

    private HugePages() {
    }

    /** True if the kernel gives huge pages to advised ranges. */
    public static boolean offered() {
        try {
            String s = Files.readString(ENABLED);
            return s.contains("[always]") || s.contains("[madvise]");
        } catch (IOException | SecurityException e) {
            return false;
        }
    }
}
