/*
 * userfaultfd ABI additions missing from older kernel headers (Debian 12 ships 6.1).
 * Values are those of include/uapi/linux/userfaultfd.h in Linux 6.8+; the Java constants in
 * io.faultline.uffd.sys.Userfaultfd must match them (checked by a test through fl_uffd_request).
 */
#ifndef FL_UFFD_H
#define FL_UFFD_H

#include <linux/types.h>
#include <linux/userfaultfd.h>

#ifndef _UFFDIO_MOVE
#define _UFFDIO_MOVE (0x05)
#endif

#ifndef _UFFDIO_POISON
#define _UFFDIO_POISON (0x08)
#endif

#ifndef UFFD_FEATURE_POISON
#define UFFD_FEATURE_POISON (1 << 14)
#endif

#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif

#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE (1 << 16)
#endif

#ifndef UFFDIO_MOVE
struct uffdio_move {
	__u64 dst;
	__u64 src;
	__u64 len;
#define UFFDIO_MOVE_MODE_DONTWAKE ((__u64)1 << 0)
#define UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES ((__u64)1 << 1)
	__u64 mode;
	/* bytes moved, or a negated errno */
	__s64 move;
};
#define UFFDIO_MOVE _IOWR(UFFDIO, _UFFDIO_MOVE, struct uffdio_move)
#endif

#endif /* FL_UFFD_H */
