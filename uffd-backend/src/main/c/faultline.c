#include "faultline.h"
#include "fl_uffd.h"

#include <sys/ioctl.h>

int fl_version(void)
{
	return FL_VERSION;
}

unsigned long fl_uffd_request(unsigned int nr)
{
	switch (nr) {
	case _UFFDIO_API:
		return UFFDIO_API;
	case _UFFDIO_REGISTER:
		return UFFDIO_REGISTER;
	case _UFFDIO_UNREGISTER:
		return UFFDIO_UNREGISTER;
	case _UFFDIO_WAKE:
		return UFFDIO_WAKE;
	case _UFFDIO_COPY:
		return UFFDIO_COPY;
	case _UFFDIO_ZEROPAGE:
		return UFFDIO_ZEROPAGE;
	case _UFFDIO_MOVE:
		return UFFDIO_MOVE;
	case _UFFDIO_CONTINUE:
		return UFFDIO_CONTINUE;
	default:
		return 0;
	}
}
