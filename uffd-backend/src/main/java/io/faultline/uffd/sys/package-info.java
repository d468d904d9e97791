/**
 * Thin Java 25 FFM bindings to the Linux system calls the uffd backend (and its benchmarks)
 * need: one class per concept ({@link io.faultline.uffd.sys.Memfd}, {@link io.faultline.uffd.sys.Fd},
 * {@link io.faultline.uffd.sys.Mman}, {@link io.faultline.uffd.sys.Ioctl},
 * {@link io.faultline.uffd.sys.Userfaultfd}, {@link io.faultline.uffd.sys.UffdIoctls},
 * {@link io.faultline.uffd.sys.Sched}), constants named as in the kernel headers, errno captured
 * with {@code Linker.Option.captureCallState}.
 *
 * <p>Every failure is reported as a {@link io.faultline.uffd.sys.SyscallException} carrying the
 * errno. Addresses are passed and returned as {@code long} (LP64: a pointer and a {@code long}
 * share the same calling convention); wrap them with {@link io.faultline.uffd.sys.Mman#segment}.
 * The only hot-path class is {@link io.faultline.uffd.sys.UffdIoctls}, which does not allocate
 * on the Java heap per call and returns {@code -errno} instead of throwing.
 *
 * <p>Linux only (x86-64 and arm64 share every constant used here). Callers need
 * {@code --enable-native-access=ALL-UNNAMED} (or the module's name).
 */
package io.faultline.uffd.sys;
