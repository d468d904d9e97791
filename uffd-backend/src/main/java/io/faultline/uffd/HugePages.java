package io.faultline.uffd;

import io.faultline.uffd.sys.Mman;
import io.faultline.uffd.sys.SyscallException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the kernel's transparent huge page settings offer the heap's two kinds of memory.
 *
 * <ul>
 *   <li>Anonymous memory (the allocation area): {@code /sys/kernel/mm/transparent_hugepage/enabled}.
 *       {@code [always]} or {@code [madvise]}: a range advised {@code MADV_HUGEPAGE} gets 2 MiB
 *       pages. With {@code [never]} (or no such file) the advice is accepted and does nothing.</li>
 *   <li>Shared memory (CONTINUE's memfd): {@code /sys/kernel/mm/transparent_hugepage/shmem_enabled}.
 *       {@code [always]}, {@code [within_size]}, {@code [force]}, or {@code [advise]} for a mapping
 *       advised {@code MADV_HUGEPAGE} (the backend advises its alias): the page cache holds the
 *       memfd in 2 MiB folios. Then {@code UFFDIO_CONTINUE} finds 512 pages in one folio whose
 *       metadata is in the cache, instead of one cold page-cache entry per 4 KiB page, which is
 *       most of what an install costs above its floor ({@code docs/results.md}). {@code [never]}
 *       and {@code [deny]}: 4 KiB folios.</li>
 * </ul>
 * These are host settings: the backend reads them and never writes them.
 */
public final class HugePages {
    /** The x86-64 PMD size: one huge page. */
    public static final long SIZE = 2L << 20;
    static final Path ENABLED = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");
    static final Path SHMEM_ENABLED = Path.of("/sys/kernel/mm/transparent_hugepage/shmem_enabled");

    private HugePages() {
    }

    /** True if the kernel gives huge pages to advised anonymous ranges. */
    public static boolean offered() {
        String s = setting(ENABLED);
        return s.equals("always") || s.equals("madvise");
    }

    /** True if the kernel gives 2 MiB folios to a memfd written through a mapping advised {@code MADV_HUGEPAGE}. */
    public static boolean shmemOffered() {
        String s = setting(SHMEM_ENABLED);
        return s.equals("always") || s.equals("within_size") || s.equals("advise") || s.equals("force");
    }

    /** The two settings, as {@code enabled=<word> shmem_enabled=<word>} ({@code none} where unreadable). */
    public static String describe() {
        return "enabled=" + setting(ENABLED) + " shmem_enabled=" + setting(SHMEM_ENABLED);
    }

    /**
     * Reserves {@code length} bytes of address space at a multiple of {@link #SIZE}: an
     * inaccessible private mapping ({@code PROT_NONE}, {@code MAP_NORESERVE}) that the caller
     * replaces with {@code MAP_FIXED}. The kernel places a shared mapping (a memfd without huge
     * pages) at any 4 KiB boundary, and a 2 MiB chunk of resident memory can only be moved in
     * ({@code mremap}) where the destination address is 2 MiB aligned: in a view off that boundary, no
     * chunk ever fit, and every allocation page was populated fresh.
     *
     * @throws SyscallException if a call fails (nothing stays mapped then)
     */
    public static long reserveAligned(long length) {
        long raw = Mman.mmap(0, length + SIZE, Mman.PROT_NONE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS | Mman.MAP_NORESERVE, -1, 0);
        long aligned = Math.ceilDiv(raw, SIZE) * SIZE;
        try {
            if (aligned > raw) {
                Mman.munmap(raw, aligned - raw);
            }
            long tail = raw + SIZE - aligned; // what lies past aligned + length
            if (tail > 0) {
                Mman.munmap(aligned + length, tail);
            }
        } catch (RuntimeException e) {
            Mman.munmap(raw, length + SIZE); // munmap of a range with holes unmaps what is left
            throw e;
        }
        return aligned;
    }

    /**
     * Advises {@code [address, address + bytes)} huge pages ({@code MADV_HUGEPAGE}) or small ones
     * ({@code MADV_NOHUGEPAGE}, for a host whose default is {@code always}). Returns false if the
     * kernel refused huge pages (EINVAL: built without them); one without them has small pages
     * anyway, so a refused small advice is ignored.
     */
    static boolean advise(long address, long bytes, boolean huge) {
        try {
            Mman.madvise(address, bytes, huge ? Mman.MADV_HUGEPAGE : Mman.MADV_NOHUGEPAGE);
            return true;
        } catch (SyscallException e) {
            return !huge;
        }
    }

    /** The bracketed word of a sysfs choice file, {@code none} if it cannot be read. */
    static String setting(Path file) {
        try {
            String s = Files.readString(file);
            int open = s.indexOf('[');
            int close = s.indexOf(']', open + 1);
            return open >= 0 && close > open ? s.substring(open + 1, close) : "none";
        } catch (IOException | SecurityException e) {
            return "none";
        }
    }
}
