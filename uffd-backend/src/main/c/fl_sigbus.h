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
/* The heap's view moved to [begin, end); no SIGBUS for it may be in flight (called in a pause). */
void fl_sigbus_move(struct fl_heap *h, uint64_t begin, uint64_t end);
/*
 * h is closing: every to-space page is mapped or poisoned, so a SIGBUS still in flight for its view
 * (raised before that) only needs its access retried. Stays registered until fl_sigbus_unregister,
 * which must wait until no mutator can touch the view any more (Java closes the view's arena first:
 * that handshake also waits for every handler already running in a mutator thread).
 */
void fl_sigbus_closing(struct fl_heap *h);
/* Unregisters h and waits until no handler is inside its slot. */
void fl_sigbus_unregister(struct fl_heap *h);
/* Serves a SIGBUS at address in h's view, in the faulting thread (fl_backend.c). */
void fl_sigbus_serve(struct fl_heap *h, uint64_t address);

#endif /* FL_SIGBUS_H */
