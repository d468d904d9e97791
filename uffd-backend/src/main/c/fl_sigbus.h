/*
 * SIGBUS delivery (fl_sigbus.c): the process-wide handler and the registry of heaps it serves.
 */
#ifndef FL_SIGBUS_H
#define FL_SIGBUS_H

#include <stdint.h>

#define FL_SIGBUS_MAX_HEAPS 64

struct fl_heap;

/* Installs the handler (once per process) and registers h's view [begin, end). 0 or an errno (ENOSPC: 64 heaps). */
int fl_sigbus_register(struct fl_heap *h, uint64_t begin, uint64_t end);
/* Unregisters h and waits until no handler is inside its slot. */
void fl_sigbus_unregister(struct fl_heap *h);
/* Serves a SIGBUS at address in h's view, in the faulting thread (fl_backend.c). */
void fl_sigbus_serve(struct fl_heap *h, uint64_t address);

#endif /* FL_SIGBUS_H */
