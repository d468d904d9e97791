package io.faultline.uffd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.faultline.uffd.sys.Mman;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link ResidentPool}: whole 2 MiB chunks given are kept up to the capacity (the rest unmapped at once), a
 * take moves the chunk last given, with its bytes, to the destination and leaves nothing behind,
 * and close unmaps what is left. Mappings are read back from /proc/self/maps.
 */
class ResidentPoolTest {
    private static final long CHUNK = ResidentPool.CHUNK;
    private long region;
    private long regionBytes;

    @AfterEach
    void unmapRegion() {
        if (region != 0) {
            Mman.munmap(region, regionBytes);
        }
    }

    @Test
    void keepsUpToItsCapacityAndUnmapsTheRest() {
        long a = alignedRegion(3);
        fill(a, 3 * CHUNK, (byte) 7);
        ResidentPool pool = new ResidentPool(2 * CHUNK);
        pool.give(a, 3 * CHUNK);
        assertEquals(2 * CHUNK, pool.bytes());
        assertTrue(mapped(a, 2 * CHUNK), "the two chunks that fit stay mapped");
        assertFalse(mapped(a + 2 * CHUNK, CHUNK), "the chunk past the capacity is unmapped");
        assertEquals(null, pool.close());
        assertFalse(mapped(a, 3 * CHUNK), "close unmaps what the pool held");
    }

    @Test
    void takeMovesTheLastChunkGivenWithItsBytes() {
        long a = alignedRegion(3); // two chunks for the pool, one destination
        fill(a, CHUNK, (byte) 1);
        fill(a + CHUNK, CHUNK, (byte) 2);
        long destination = a + 2 * CHUNK;
        ResidentPool pool = new ResidentPool(8 * CHUNK);
        pool.give(a, 2 * CHUNK);

        assertTrue(pool.take(destination, true));
        assertEquals(2, byteAt(destination), "the chunk moved with its bytes");
        assertEquals(2, byteAt(destination + CHUNK - 1));
        assertFalse(mapped(a + CHUNK, CHUNK), "nothing is left where the chunk was");
        assertEquals(CHUNK, pool.bytes());
        assertEquals(CHUNK, pool.takenBytes());

        Mman.munmap(destination, CHUNK);
        assertTrue(pool.take(destination, true));
        assertEquals(1, byteAt(destination));
        assertFalse(pool.take(destination, false), "an empty pool moves nothing");
        assertEquals(2 * CHUNK, pool.takenBytes());
        assertEquals(0, pool.bytes());
        assertEquals(null, pool.close());
        assertTrue(mapped(destination, CHUNK), "a taken chunk is the taker's: close leaves it");
    }

    @Test
    void keepsOnlyWholeChunksOfAnUnalignedRange() {
        long a = alignedRegion(3);
        ResidentPool pool = new ResidentPool(8 * CHUNK);
        pool.give(a + 4096, 2 * CHUNK);
        assertEquals(CHUNK, pool.bytes(), "one whole chunk lies inside");
        assertTrue(mapped(a, 4096), "what was not given stays");
        assertFalse(mapped(a + 4096, CHUNK - 4096), "the head is unmapped");
        assertTrue(mapped(a + CHUNK, CHUNK), "the whole chunk is kept");
        assertFalse(mapped(a + 2 * CHUNK, 4096), "the tail is unmapped");
        assertTrue(mapped(a + 2 * CHUNK + 4096, CHUNK - 4096));
        assertEquals(null, pool.close());
    }

    @Test
    void aClosedPoolUnmapsWhatItIsGiven() {
        long a = alignedRegion(1);
        ResidentPool pool = new ResidentPool(8 * CHUNK);
        pool.close();
        pool.give(a, CHUNK);
        assertEquals(0, pool.bytes());
        assertFalse(mapped(a, CHUNK));
        assertFalse(pool.take(a, true));
    }

    /** Maps {@code chunks} 2 MiB-aligned chunks of private anonymous memory (unmapped after the test). */
    private long alignedRegion(int chunks) {
        long raw = Mman.mmap(0, (chunks + 1) * CHUNK, Mman.PROT_READ | Mman.PROT_WRITE,
            Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS | Mman.MAP_NORESERVE, -1, 0);
        long start = Math.ceilDiv(raw, CHUNK) * CHUNK;
        if (start > raw) {
            Mman.munmap(raw, start - raw);
        }
        long end = start + chunks * CHUNK;
        if (end < raw + (chunks + 1) * CHUNK) {
            Mman.munmap(end, raw + (chunks + 1) * CHUNK - end);
        }
        region = start;
        regionBytes = chunks * CHUNK;
        return start;
    }

    private static void fill(long address, long bytes, byte value) {
        MemorySegment.ofAddress(address).reinterpret(bytes).fill(value);
    }

    private static byte byteAt(long address) {
        return MemorySegment.ofAddress(address).reinterpret(1).get(ValueLayout.JAVA_BYTE, 0);
    }

    /** True if every byte of {@code [address, address + length)} lies in some mapping of /proc/self/maps. */
    private static boolean mapped(long address, long length) {
        long covered = 0;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                String[] range = line.substring(0, line.indexOf(' ')).split("-");
                long start = Math.max(address, Long.parseUnsignedLong(range[0], 16));
                long end = Math.min(address + length, Long.parseUnsignedLong(range[1], 16));
                if (start < end) {
                    covered += end - start;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return covered == length;
    }
}
