package io.faultline.uffd;

import io.faultline.uffd.sys.Mman;
import io.faultline.uffd.sys.SyscallException;

/**
 * Resident pages the allocation area no longer needs, kept instead of unmapped so that the
 * next cycle's allocation moves them into the view ({@code mremap}, a page-table move) rather than
 * taking fresh pages from the kernel. Freed memory that a process asks for again a few hundred
 * milliseconds later is expensive on a virtual machine: the guest kernel may have returned it to
 * the host meanwhile, and populating it again costs a host fault and a clear per huge page (demo
 * 7 on this project's VMs: 0.1 to 2.4 ms per 2 MiB, against 22 us for the move and 32 us to zero
 * it; {@code docs/uffd-modes.md}, "The allocation area: huge pages").
 *
 * <p>The pool holds 2 MiB chunks, each a private anonymous range at its own address (where a
 * retired view left it), at most {@code capacityBytes} of them; what does not fit is unmapped.
 *
 * <p><b>Assumptions and Guarantees:</b> every range given is mapped and no longer written or read
 * by anyone: the pool owns it. {@link #take} and {@link #give} may be called from
 * any thread; they serialize on this object. {@link #close} unmaps everything and later calls do
 * nothing. Allocation-free once the range table has grown to its working size.
 */
final class ResidentPool {
    static final long CHUNK = HugePages.SIZE;

    private final long capacityBytes;
    /** Ranges {@code [starts[i], starts[i] + lengths[i])}, {@code i < count}; taken from the last. */
    private long[] starts = new long[16];
    private long[] lengths = new long[16];
    private int count;
    private long bytes;
    private long taken;
    private boolean closed;

    ResidentPool(long capacityBytes) {
        this.capacityBytes = capacityBytes;
    }

    /**
     * Takes ownership of {@code [address, address + length)}: keeps the whole 2 MiB chunks in it
     * that fit, unmaps the rest (an unaligned head or tail, what is past the capacity).
     */
    synchronized void give(long address, long length) {
        if (length <= 0) {
            return;
        }
        long start = Math.ceilDiv(address, CHUNK) * CHUNK;
        long end = Math.max(start, Math.floorDiv(address + length, CHUNK) * CHUNK);
        if (start > address) {
            Mman.munmap(address, Math.min(start, address + length) - address);
        }
        if (address + length > end && end > address) {
            Mman.munmap(end, address + length - end);
        }
        if (end == start) {
            return;
        }
        address = start;
        length = end - start;
        long keep = closed ? 0 : Math.min(length, (capacityBytes - bytes) / CHUNK * CHUNK);
        if (keep < length) {
            Mman.munmap(address + keep, length - keep);
        }
        if (keep == 0) {
            return;
        }
        if (count == starts.length) {
            starts = java.util.Arrays.copyOf(starts, 2 * count);
            lengths = java.util.Arrays.copyOf(lengths, 2 * count);
        }
        starts[count] = address;
        lengths[count] = keep;
        count++;
        bytes += keep;
    }

    /**
     * Moves one chunk to {@code destination} (2 MiB aligned, replacing what is mapped there) and
     * returns true, or returns false if the pool is empty. The chunk holds old bytes. If the kernel
     * refuses the move the chunk is unmapped, {@code destination} is mapped afresh (private
     * anonymous, {@code huge} or small pages advised) and this returns false.
     */
    synchronized boolean take(long destination, boolean huge) {
        if (count == 0) {
            return false;
        }
        int i = count - 1;
        long length = lengths[i];
        long source = starts[i] + length - CHUNK;
        if (length == CHUNK) {
            count--;
        } else {
            lengths[i] = length - CHUNK;
        }
        bytes -= CHUNK;
        if (!move(source, CHUNK, destination, huge)) {
            Mman.munmap(source, CHUNK);
            return false;
        }
        taken += CHUNK;
        return true;
    }

    /**
     * Moves the resident range {@code [source, source + bytes)} to {@code destination} with one
     * {@code mremap}, page-table entries and all, and returns true. If the kernel refuses (a
     * kernel before 6.17 will not move a range that spans several mappings), maps the destination
     * afresh, private anonymous with {@code huge} or small pages advised ({@code MREMAP_FIXED} may
     * have unmapped it before it failed), leaves the source where it was and returns false.
     */
    static boolean move(long source, long bytes, long destination, boolean huge) {
        try {
            Mman.mremap(source, bytes, bytes, Mman.MREMAP_MAYMOVE | Mman.MREMAP_FIXED, destination);
            return true;
        } catch (SyscallException refused) {
            Mman.mmap(destination, bytes, Mman.PROT_READ | Mman.PROT_WRITE,
                Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS | Mman.MAP_NORESERVE | Mman.MAP_FIXED, -1, 0);
            HugePages.advise(destination, bytes, huge);
            return false;
        }
    }

    /** Bytes held now. */
    synchronized long bytes() {
        return bytes;
    }

    /** Bytes {@link #take} moved out over the pool's life. */
    synchronized long takenBytes() {
        return taken;
    }

    /** Unmaps every chunk; later gifts are unmapped at once. Returns the first failure, or null. */
    synchronized RuntimeException close() {
        closed = true;
        RuntimeException failure = null;
        for (int i = 0; i < count; i++) {
            try {
                Mman.munmap(starts[i], lengths[i]);
            } catch (RuntimeException e) {
                failure = failure == null ? e : failure;
            }
        }
        count = 0;
        bytes = 0;
        return failure;
    }
}
