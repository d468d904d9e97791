package io.faultline.backend;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * How much of a range of private anonymous memory is resident, page by page, with
 * {@code mincore(2)}: the Rss of exactly that range (one semispace), not of the whole process and
 * not of a kernel VMA that may have merged both semispaces. A page that was only read counts too
 * (it maps the kernel's shared zero page), so tests measure before they read untouched memory.
 */
@SuppressWarnings("restricted") // a downcall to mincore; the tests run with --enable-native-access
final class ResidentPages {
    private static final MethodHandle MINCORE;

    static {
        Linker linker = Linker.nativeLinker();
        MINCORE = linker.downcallHandle(linker.defaultLookup().find("mincore").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS));
    }

    private ResidentPages() {
    }

    /** Resident bytes of {@code range}, whose address must be page-aligned. */
    static long bytes(MemorySegment range) {
        long page = AnonymousMapping.osPageSize();
        long pages = (range.byteSize() + page - 1) / page;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment vec = arena.allocate(pages);
            int rc = (int) MINCORE.invokeExact(range.address(), range.byteSize(), vec);
            if (rc != 0) {
                throw new IllegalStateException("mincore(0x" + Long.toHexString(range.address()) + ", "
                        + range.byteSize() + ") failed");
            }
            long resident = 0;
            for (long i = 0; i < pages; i++) {
                resident += vec.get(JAVA_BYTE, i) & 1;
            }
            return resident * page;
        } catch (Throwable t) {
            if (t instanceof RuntimeException e) {
                throw e;
            }
            throw new IllegalStateException(t);
        }
    }
}
