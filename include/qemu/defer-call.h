/* SPDX-License-Identifier: MIT */
/*
 * Deferred calls (QEMU's util/defer-call.c since 8.2; the 10.0 level): a
 * thread opens a section with defer_call_begin(); each defer_call(fn,
 * opaque) made before the matching outermost defer_call_end() runs there,
 * once per distinct (fn, opaque) pair, in the order first asked.  Outside a
 * section defer_call() calls fn(opaque) at once.  Sections nest and belong
 * to the calling thread.  The block engines defer their submissions this
 * way, so that requests made in one section reach the kernel in one system
 * call.  libqaio provides these functions for standalone programs; inside a
 * QEMU tree they are QEMU's.
 */
#ifndef QEMU_DEFER_CALL_H
#define QEMU_DEFER_CALL_H

#include "qemu/osdep.h"

#ifdef __cplusplus
extern "C" {
#endif

/* QEMU 10.0's header (installed at that API level only). */
#if QAIO_QEMU_API_AT_LEAST(10, 0)
void defer_call_begin(void);
/* Ends a section; must match a defer_call_begin() of the same thread. */
void defer_call_end(void);
void defer_call(void (*fn)(void *), void *opaque);
#endif

#ifdef __cplusplus
}
#endif

#endif
