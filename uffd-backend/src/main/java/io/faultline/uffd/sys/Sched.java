package io.faultline.uffd.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * {@code sched_setscheduler} and {@code sched_getscheduler} of one thread, named by its thread id
 * (Linux schedules threads: the id of another thread of this process works, and only that thread
 * changes). An unprivileged process may lower a thread of its own to {@link #SCHED_IDLE}; moving
 * it back needs {@code CAP_SYS_NICE} (or a large enough {@code RLIMIT_NICE}).
 */
public final class Sched {
    /** The default time-sharing policy. */
    public static final int SCHED_OTHER = 0;
    /**
     * The lowest weight the fair scheduler knows: a thread runs when nothing else wants its CPU,
     * and otherwise only now and then, for one short slice, so that it does not starve.
     */
    public static final int SCHED_IDLE = 5;

    private static final MethodHandle SET = Libc.downcall(
        "sched_setscheduler", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle GET = Libc.downcall(
        "sched_getscheduler", FunctionDescriptor.of(JAVA_INT, JAVA_INT));

    private Sched() {
    }

    /** {@code sched_setscheduler(tid, policy, {priority})}. */
    public static void setScheduler(int tid, int policy, int priority) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = Libc.capture();
            MemorySegment param = arena.allocate(JAVA_INT);
            param.set(JAVA_INT, 0, priority);
            int rc;
            try {
                rc = (int) SET.invokeExact(capture, tid, policy, param);
            } catch (Throwable t) {
                throw Libc.rethrow(t);
            }
            if (rc != 0) {
                throw new SyscallException(
                    "sched_setscheduler(tid=" + tid + ", policy=" + policy + ", priority=" + priority + ")", Libc.errno(capture));
            }
        }
    }

    /** {@code sched_getscheduler(tid)}: the thread's policy, e.g. {@link #SCHED_IDLE}. */
    public static int getScheduler(int tid) {
        MemorySegment capture = Libc.capture();
        int policy;
        try {
            policy = (int) GET.invokeExact(capture, tid);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
        if (policy < 0) {
            throw new SyscallException("sched_getscheduler(tid=" + tid + ")", Libc.errno(capture));
        }
        return policy;
    }
}
