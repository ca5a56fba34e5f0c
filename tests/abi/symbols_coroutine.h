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
