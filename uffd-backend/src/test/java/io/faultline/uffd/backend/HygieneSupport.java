package io.faultline.uffd.backend;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** What /proc/self says is ours: fds, mappings, threads. */
final class HygieneSupport {
    private HygieneSupport() {
    }

    /** Descriptors whose target is our memfd, a userfaultfd or an eventfd. */
    static List<String> ourFds() {
        List<String> out = new ArrayList<>();
        try (Stream<Path> entries = Files.list(Path.of("/proc/self/fd"))) {
            for (Path e : entries.toList()) {
                try {
                    String target = Files.readSymbolicLink(e).toString();
                    if (target.contains("faultline-heap") || target.contains("userfaultfd") || target.contains("eventfd")) {
                        out.add(e.getFileName() + " -> " + target);
                    }
                } catch (IOException gone) {
                    // the listing's own descriptor
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    static List<String> maps() {
        try {
            return Files.readAllLines(Path.of("/proc/self/maps"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Mappings of our memfd. */
    static List<String> ourMappings() {
        return maps().stream().filter(l -> l.contains("faultline-heap")).toList();
    }

    static List<String> mappingsOverlapping(long address, long length) {
        return maps().stream().filter(line -> {
            String[] range = line.substring(0, line.indexOf(' ')).split("-");
            long start = Long.parseUnsignedLong(range[0], 16);
            long end = Long.parseUnsignedLong(range[1], 16);
            return start < address + length && address < end;
        }).toList();
    }

    /** Threads named by our native code or backend (faultline-uffd). */
    static List<String> ourThreads() {
        List<String> out = new ArrayList<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : tasks.toList()) {
                try {
                    String comm = Files.readString(t.resolve("comm")).strip();
                    if (comm.startsWith("faultline-uffd")) {
                        out.add(t.getFileName() + ":" + comm);
                    }
                } catch (IOException gone) {
                    // exited meanwhile
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }
}
