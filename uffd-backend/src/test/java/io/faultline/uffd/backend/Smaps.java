package io.faultline.uffd.backend;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The kernel's own accounting of this process's mappings ({@code /proc/self/smaps}), one field at a time. */
final class Smaps {
    /**
     * One mapping: its address range, what it maps ({@code ""} for anonymous memory; a memfd reads
     * {@code /memfd:NAME (deleted)}) and one of its fields, in bytes.
     */
    record Vma(long start, long end, String path, long bytes) {
    }

    private Smaps() {
    }

    /** Every mapping with its {@code field} (for example {@code AnonHugePages}), in address order. */
    static List<Vma> field(String field) {
        String prefix = field + ":";
        List<Vma> out = new ArrayList<>();
        try {
            long start = -1;
            long end = -1;
            String path = "";
            for (String line : Files.readAllLines(Path.of("/proc/self/smaps"))) {
                int dash = line.indexOf('-');
                int space = line.indexOf(' ');
                if (!line.isEmpty() && Character.digit(line.charAt(0), 16) >= 0 && dash > 0 && space > dash) {
                    // "start-end perms offset dev inode [path]"
                    start = Long.parseUnsignedLong(line.substring(0, dash), 16);
                    end = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
                    String[] parts = line.split("\\s+", 6);
                    path = parts.length == 6 ? parts[5] : "";
                } else if (line.startsWith(prefix)) {
                    long kb = Long.parseLong(line.substring(prefix.length()).replace("kB", "").strip());
                    out.add(new Vma(start, end, path, kb << 10));
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("/proc/self/smaps: " + e, e);
        }
        return out;
    }
}
