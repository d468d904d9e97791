/**
 * The userfaultfd backend: availability probing ({@link io.faultline.uffd.UffdProbe}), the
 * native library with the fault path ({@link io.faultline.uffd.NativeLibrary}) and, in
 * {@link io.faultline.uffd.sys}, the FFM bindings to the system calls.
 */
package io.faultline.uffd;
