/* SPDX-License-Identifier: MIT */
/*
 * check_abi.c rows for the coroutine symbols: F(name, return type, (params))
 * for functions, D(name, type) for data, with QEMU 7.2's exact types
 * (util/qemu-coroutine.c, util/coroutine-ucontext.c and the coroutine part
 * of util/async.c).
 */
#include "qemu/coroutine.h"
#include "qemu/coroutine_int.h"

#define T_COROUTINE_SYMBOLS(F, D)                                             \
    /* util/qemu-coroutine */                                                 \
    F(qemu_aio_coroutine_enter, void, (AioContext *, Coroutine *))            \
    F(qemu_coroutine_create, Coroutine *, (CoroutineEntry *, void *))         \
    F(qemu_coroutine_dec_pool_size, void, (unsigned int))                     \
    F(qemu_coroutine_enter, void, (Coroutine *))                              \
    F(qemu_coroutine_enter_if_inactive, void, (Coroutine *))                  \
    F(qemu_coroutine_entered, bool, (Coroutine *))                            \
    F(qemu_coroutine_get_aio_context, AioContext *, (Coroutine *))            \
    F(qemu_coroutine_inc_pool_size, void, (unsigned int))                     \
    F(qemu_coroutine_yield, void, (void))                                     \
    /* util/coroutine-ucontext */                                             \
    F(qemu_coroutine_delete, void, (Coroutine *))                             \
    F(qemu_coroutine_new, Coroutine *, (void))                                \
    F(qemu_coroutine_self, Coroutine *, (void))                               \
    F(qemu_coroutine_switch, CoroutineAction, (Coroutine *, Coroutine *,      \
                                               CoroutineAction))              \
    F(qemu_in_coroutine, bool, (void))                                        \
    /* util/async, coroutine part */                                          \
    F(aio_co_enter, void, (AioContext *, Coroutine *))                        \
    F(aio_co_reschedule_self, void, (AioContext *))                           \
    F(aio_co_schedule, void, (AioContext *, Coroutine *))                     \
    F(aio_co_wake, void, (Coroutine *))

/*
 * S(type, size), O(type, field, offset): Coroutine as coroutine_int.h lays
 * it out, as in layout.tsv (x86-64).  check_abi.c adds them to its
 * T_LAYOUTS table.
 */
#define T_COROUTINE_LAYOUTS(S, O)                                             \
    S(Coroutine, 88)                                                          \
    O(Coroutine, entry, 0)                                                    \
    O(Coroutine, entry_arg, 8)                                                \
    O(Coroutine, caller, 16)                                                  \
    O(Coroutine, pool_next, 24)                                               \
    O(Coroutine, locks_held, 32)                                              \
    O(Coroutine, ctx, 40)                                                     \
    O(Coroutine, scheduled, 48)                                               \
    O(Coroutine, co_queue_next, 56)                                           \
    O(Coroutine, co_queue_wakeup, 64)                                         \
    O(Coroutine, co_scheduled_next, 80)
