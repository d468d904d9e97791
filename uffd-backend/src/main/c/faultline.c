#include "faultline.h"
#include "fl_uffd.h"

#include <sys/ioctl.h>

int fl_version(void)
{
	return FL_VERSION;
}

int fl_cpu_supported(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("popcnt") ? 1 : 0;
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

#include "fl_protocol.h"
#include "layout.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* One row per constant that gc-core's Java code defines too (LayoutAbiTest). */
static const struct {
	const char *name;
	int64_t value;
} layout_constants[] = {
	{ "ObjectLayout.WORD_BYTES", FL_WORD_BYTES },
	{ "ObjectLayout.HEADER_BYTES", FL_HEADER_BYTES },
	{ "ObjectLayout.REF_BYTES", FL_REF_BYTES },
	{ "ObjectLayout.MIN_OBJECT_WORDS", FL_MIN_OBJECT_WORDS },
	{ "ObjectLayout.MAGIC", (int64_t)FL_MAGIC },
	{ "ObjectLayout.TYPE_NULL_GUARD", (int64_t)FL_TYPE_NULL_GUARD },
	{ "ObjectLayout.TYPE_FILLER", (int64_t)FL_TYPE_FILLER },
	{ "ObjectLayout.ONE_WORD_FILLER", (int64_t)FL_ONE_WORD_FILLER },
	{ "MetadataDescriptor.LOG_CHUNK_BYTES", FL_LOG_CHUNK_BYTES },
	{ "MetadataDescriptor.NO_OBJECT", FL_NO_OBJECT },
	{ "PageStates.MAPPED", FL_PAGE_MAPPED },
	{ "PageStates.UNPROCESSED", FL_PAGE_UNPROCESSED },
	{ "PageStates.PROCESSING", FL_PAGE_PROCESSING },
	{ "PageStates.PROCESSED", FL_PAGE_PROCESSED },
	{ "PageStates.MAPPING", FL_PAGE_MAPPING },
	{ "PageStates.FAILED", FL_PAGE_FAILED },
	{ "PoisonPage.BYTE", FL_POISON_BYTE },
	{ "PageProtocol.CLAIM_AHEAD_PAGES", FL_CLAIM_AHEAD },
	{ "PageProtocol.HINT_FOLLOW_RUNS", FL_HINT_FOLLOW_RUNS },
	{ "PageProtocol.HINT_RUN_FAULT_RUNS", FL_HINT_RUN_FAULT_RUNS },
	{ "ControlBlock.BYTES", sizeof(struct fl_control) },
	{ "ControlBlock.EPOCH", offsetof(struct fl_control, epoch) },
	{ "ControlBlock.ACTIVE_EPOCH", offsetof(struct fl_control, active_epoch) },
	{ "ControlBlock.NEXT_PAGE", offsetof(struct fl_control, next_page) },
	{ "ControlBlock.PAGES_LEFT", offsetof(struct fl_control, pages_left) },
	{ "ControlBlock.FIRST_PAGE", offsetof(struct fl_control, first_page) },
	{ "ControlBlock.END_PAGE", offsetof(struct fl_control, end_page) },
	{ "ControlBlock.FROM_TOP", offsetof(struct fl_control, from_top) },
	{ "ControlBlock.NEW_TOP", offsetof(struct fl_control, new_top) },
	{ "ControlBlock.FRONTIER_PAGE", offsetof(struct fl_control, frontier_page) },
	{ "ControlBlock.CONSUMED", offsetof(struct fl_control, consumed) },
	{ "ControlBlock.RUN_PAGES", offsetof(struct fl_control, run_pages) },
	{ "ControlBlock.FAULT_AROUND", offsetof(struct fl_control, fault_around) },
	{ "ControlBlock.POLL", offsetof(struct fl_control, poll) },
	{ "ControlBlock.FAILED_PAGE", offsetof(struct fl_control, failed_page) },
	{ "ControlBlock.FAILED_PATH", offsetof(struct fl_control, failed_path) },
	{ "ControlBlock.FAILED_ERRNO", offsetof(struct fl_control, failed_errno) },
	{ "ControlBlock.FAILED_OFFSET", offsetof(struct fl_control, failed_offset) },
	{ "ControlBlock.FAULTS", offsetof(struct fl_control, faults) },
	{ "ControlBlock.FAULT_BUILT_PAGES", offsetof(struct fl_control, fault_built_pages) },
	{ "ControlBlock.ABANDON", offsetof(struct fl_control, abandon) },
	{ "ControlBlock.RECYCLE_NEXT", offsetof(struct fl_control, recycle_next) },
	{ "ControlBlock.RELEASED", offsetof(struct fl_control, released) },
	{ "ControlBlock.RELEASE_BATCH", offsetof(struct fl_control, release_batch) },
	{ "ControlBlock.TRACE", offsetof(struct fl_control, trace) },
	{ "ControlBlock.VERBATIM_END", offsetof(struct fl_control, verbatim_end) },
	{ "ControlBlock.FAULT_HINT", offsetof(struct fl_control, fault_hint) },
	{ "ControlBlock.POLL_PAUSE", FL_POLL_PAUSE },
	{ "ControlBlock.POLL_FAILED", FL_POLL_FAILED },
	{ "ControlBlock.POLL_CLOSED", FL_POLL_CLOSED },
	{ "ControlBlock.FAILED_PAGE_RELEASE", FL_FAILED_PAGE_RELEASE },
	{ "ControlBlock.PATH_NONE", FL_PATH_NONE },
	{ "ControlBlock.PATH_COMPACTOR", FL_PATH_COMPACTOR },
	{ "ControlBlock.PATH_FAULT_THREAD", FL_PATH_FAULT_THREAD },
	{ "ControlBlock.PATH_FAULT_SIGBUS", FL_PATH_FAULT_SIGBUS },
	{ "ControlBlock.PATH_FAULT_JAVA", FL_PATH_FAULT_JAVA },
	{ "ControlBlock.PATH_BACKSTOP", FL_PATH_BACKSTOP },
	{ "ControlBlock.PATH_PAUSE", FL_PATH_PAUSE },
	{ "ControlBlock.PATH_COLLECTOR", FL_PATH_COLLECTOR },
	{ "ControlBlock.EUCLEAN", EUCLEAN },
	{ "TraceRing.HEADER_BYTES", FL_TRACE_HEADER_BYTES },
	{ "TraceRing.RECORD_BYTES", FL_TRACE_RECORD_BYTES },
	{ "TraceRing.NEXT", offsetof(struct fl_trace, next) },
	{ "TraceRing.CAPACITY", offsetof(struct fl_trace, capacity) },
	{ "TraceRing.MASK", offsetof(struct fl_trace, mask) },
	{ "TraceRing.FAULT_THRESHOLD", offsetof(struct fl_trace, fault_threshold) },
	{ "TraceRing.FAULT_SAMPLE", offsetof(struct fl_trace, fault_sample) },
	{ "TraceRing.DROPPED", offsetof(struct fl_trace, dropped) },
	{ "TraceRing.DRAINED", offsetof(struct fl_trace, drained) },
	{ "TraceRing.SEQ", offsetof(struct fl_trace_record, seq) },
	{ "TraceRing.TIME", offsetof(struct fl_trace_record, time) },
	{ "TraceRing.PAGE", offsetof(struct fl_trace_record, page) },
	{ "TraceRing.VALUE", offsetof(struct fl_trace_record, value) },
	{ "TraceRing.THREAD", offsetof(struct fl_trace_record, thread) },
	{ "TraceRing.EPOCH", offsetof(struct fl_trace_record, epoch) },
	{ "TraceRing.KIND", offsetof(struct fl_trace_record, kind) },
	{ "TraceRing.A", offsetof(struct fl_trace_record, a) },
	{ "TraceRing.B", offsetof(struct fl_trace_record, b) },
	{ "TraceRing.ORIGIN", offsetof(struct fl_trace_record, origin) },
	{ "TraceRing.KIND_STATE", FL_TRACE_STATE },
	{ "TraceRing.KIND_STATE_RANGE", FL_TRACE_STATE_RANGE },
	{ "TraceRing.KIND_FAULT", FL_TRACE_FAULT },
	{ "TraceRing.KIND_PHASE_BEGIN", FL_TRACE_PHASE_BEGIN },
	{ "TraceRing.KIND_PHASE_END", FL_TRACE_PHASE_END },
	{ "TraceRing.KIND_RELEASE", FL_TRACE_RELEASE },
	{ "TraceRing.ORIGIN_JAVA", FL_TRACE_ORIGIN_JAVA },
	{ "TraceRing.ORIGIN_NATIVE", FL_TRACE_ORIGIN_NATIVE },
	{ "TraceRing.DELIVERY_THREAD", FL_TRACE_DELIVERY_THREAD },
	{ "TraceRing.DELIVERY_SIGBUS", FL_TRACE_DELIVERY_SIGBUS },
	{ "TraceRing.DELIVERY_JAVA", FL_TRACE_DELIVERY_JAVA },
	{ "LatencyBuckets.SUB_BITS", FL_HIST_SUB_BITS },
	{ "LatencyBuckets.BUCKETS", FL_HIST_BUCKETS },
};

int64_t fl_layout_constant(const char *name)
{
	for (size_t i = 0; i < sizeof layout_constants / sizeof layout_constants[0]; i++) {
		if (strcmp(layout_constants[i].name, name) == 0)
			return layout_constants[i].value;
	}
	return INT64_MIN;
}
