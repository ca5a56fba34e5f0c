/* SPDX-License-Identifier: MIT */
/*
 * The Coroutine structure and the backend interface.  Internal in QEMU, but
 * QEMU's own coroutine test includes it and copies sizeof(Coroutine) bytes,
 * so the layout (88 bytes on x86-64) is part of the contract.  A backend's
 * coroutine embeds it as its first member.
 */
#ifndef QEMU_COROUTINE_INT_H
#define QEMU_COROUTINE_INT_H

#include "qemu/queue.h"
#include "qemu/coroutine.h"

#ifdef __cplusplus
extern "C" {
#endif

#define COROUTINE_STACK_SIZE (1 << 20)

typedef enum {
    COROUTINE_YIELD = 1,
    COROUTINE_TERMINATE = 2,
    COROUTINE_ENTER = 3,
} CoroutineAction;

struct Coroutine {
    CoroutineEntry *entry;
    void *entry_arg;
    Coroutine *caller;

    /* Link in the free pool. */
    QSLIST_ENTRY(Coroutine) pool_next;

    size_t locks_held;

    /* The context the coroutine was last entered in. */
    AioContext *ctx;

    /* Name of the function that scheduled it, while it is scheduled. */
    const char *scheduled;

    QSIMPLEQ_ENTRY(Coroutine) co_queue_next;

    /* Coroutines to run after this one yields or terminates. */
    QSIMPLEQ_HEAD(, Coroutine) co_queue_wakeup;

    QSLIST_ENTRY(Coroutine) co_scheduled_next;
};

Coroutine *qemu_coroutine_new(void);
void qemu_coroutine_delete(Coroutine *co);
CoroutineAction qemu_coroutine_switch(Coroutine *from, Coroutine *to,
                                      CoroutineAction action);

#ifdef __cplusplus
}
#endif

#endif
