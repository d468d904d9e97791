/*
 * libfaultline: the native part of the Faultline uffd backend.
 *
 * Everything a mutator blocked in a userfault may wait for runs here, outside HotSpot's
 * safepoint protocol (see design-notes.md). This first version exports only the ABI handshake
 * used by io.faultline.uffd.NativeLibrary.
 */
#ifndef FAULTLINE_H
#define FAULTLINE_H

/* Bumped whenever an exported signature or a shared memory layout changes. */
#define FL_VERSION 1

#define FL_EXPORT __attribute__((visibility("default")))

/* Returns FL_VERSION; the Java side refuses a library with another value. */
FL_EXPORT int fl_version(void);

/*
 * Returns the ioctl request number this library uses for the userfaultfd ioctl numbered nr
 * (_UFFDIO_API, _UFFDIO_REGISTER, ..., _UFFDIO_MOVE, _UFFDIO_CONTINUE), or 0 for an unknown nr.
 * Lets the Java bindings check that both sides encode the same requests and struct sizes.
 */
FL_EXPORT unsigned long fl_uffd_request(unsigned int nr);

#endif /* FAULTLINE_H */
