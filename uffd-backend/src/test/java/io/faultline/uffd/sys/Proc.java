package io.faultline.uffd.sys;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/** What the kernel says about this process: /proc/self/fd, /proc/self/maps, /proc/self/pagemap. */
final class Proc {
    private static final long PM_PRESENT = 1L << 63;

    private Proc() {
    }

    /** Open descriptors and their link targets (the listing's own descriptor excluded). */
    static Map<Integer, String> fds() {
        Map<Integer, String> fds = new TreeMap<>();
        Path dir = Path.of("/proc/self/fd");
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path entry : entries.toList()) {
                try {
                    fds.put(Integer.parseInt(entry.getFileName().toString()), Files.readSymbolicLink(entry).toString());
                } catch (IOException gone) {
                    // the directory stream's own descriptor, closed by now
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return fds;
    }

    static List<String> maps() {
        try {
            return Files.readAllLines(Path.of("/proc/self/maps"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The /proc/self/maps lines whose range intersects {@code [address, address + length)}. */
    static List<String> mappingsOverlapping(long address, long length) {
        return maps().stream().filter(line -> {
            String[] range = line.substring(0, line.indexOf(' ')).split("-");
            long start = Long.parseUnsignedLong(range[0], 16);
            long end = Long.parseUnsignedLong(range[1], 16);
            return start < address + length && address < end;
        }).toList();
    }

    /** Whether each page of {@code [address, address + pages * pageSize)} has a present PTE. */
    static boolean[] present(long address, int pages) {
        long pageSize = Mman.pageSize();
        ByteBuffer buffer = ByteBuffer.allocate(pages * 8).order(ByteOrder.nativeOrder());
        try (FileChannel pagemap = FileChannel.open(Path.of("/proc/self/pagemap"), StandardOpenOption.READ)) {
            long position = address / pageSize * 8;
            while (buffer.hasRemaining()) {
                if (pagemap.read(buffer, position + buffer.position()) < 0) {
                    throw new IOException("short read of pagemap");
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        boolean[] present = new boolean[pages];
        for (int i = 0; i < pages; i++) {
            present[i] = (buffer.getLong(i * 8) & PM_PRESENT) != 0;
        }
        return present;
    }
}
