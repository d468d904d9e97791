package io.faultline.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * This process's resident memory as the kernel counts it ({@code /proc/self/status}): the current
 * resident set ({@code VmRSS}) and its high-water mark ({@code VmHWM}), which Linux lets a process
 * reset to the current value by writing {@code 5} to {@code /proc/self/clear_refs} (Linux 4.0+).
 * Reset, run a phase, read the mark: the kernel's own peak over that phase, missed by no sampling.
 *
 * <p>The figures are per process (the JVM's own memory is in them too), so a heap's peak is read
 * as a difference: the high-water mark over a phase minus the resident set before the heap was
 * created.
 */
public final class ResidentMemory {
    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path CLEAR_REFS = Path.of("/proc/self/clear_refs");

    private ResidentMemory() {
    }

    /** Resident bytes now ({@code VmRSS}), or -1 if the kernel does not say. */
    public static long rssBytes() {
        return field("VmRSS:");
    }

    /** The resident high-water mark ({@code VmHWM}) in bytes, or -1 if the kernel does not say. */
    public static long peakBytes() {
        return field("VmHWM:");
    }

    /**
     * Resets the high-water mark to the current resident set. Null if done, else why not (then
     * {@link #peakBytes()} still covers the whole life of the process, not one phase).
     */
    public static String resetPeak() {
        try {
            Files.writeString(CLEAR_REFS, "5");
            return null;
        } catch (IOException | RuntimeException e) {
            return "cannot reset the peak through " + CLEAR_REFS + ": " + e.getMessage();
        }
    }

    private static long field(String name) {
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith(name)) {
                    String[] parts = line.substring(name.length()).trim().split("\\s+");
                    long kib = Long.parseLong(parts[0]);
                    return kib * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
