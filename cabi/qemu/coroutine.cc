// SPDX-License-Identifier: MIT
// qemu/coroutine.h and qemu/coroutine_int.h: creating, entering and yielding
// coroutines, the pool size, and the backend's lower layer.
#include "qemu/osdep.h"
#include "qemu/coroutine.h"
#include "qemu/coroutine_int.h"

#include "cabi/export.hh"
#include "lib/coroutine/coroutine.hh"

namespace co = qaio::coroutine;

QAIO_EXPORT Coroutine *qemu_coroutine_create(CoroutineEntry *entry, void *opaque)
{
    return co::create(entry, opaque);
}

QAIO_EXPORT void qemu_coroutine_enter(Coroutine *coroutine)
{
    co::enter_here(coroutine);
}

QAIO_EXPORT void qemu_coroutine_enter_if_inactive(Coroutine *coroutine)
{
    if (!co::entered(coroutine)) {
        co::enter_here(coroutine);
    }
}

QAIO_EXPORT void qemu_aio_coroutine_enter(AioContext *ctx, Coroutine *coroutine)
{
    co::enter(ctx, coroutine);
}

QAIO_EXPORT void qemu_coroutine_yield(void)
{
    co::yield();
}

QAIO_EXPORT AioContext *qemu_coroutine_get_aio_context(Coroutine *coroutine)
{
    return co::context_of(coroutine);
}

QAIO_EXPORT Coroutine *qemu_coroutine_self(void)
{
    return co::self();
}

QAIO_EXPORT bool qemu_in_coroutine(void)
{
    return co::in_coroutine();
}

QAIO_EXPORT bool qemu_coroutine_entered(Coroutine *coroutine)
{
    return co::entered(coroutine);
}

QAIO_EXPORT void qemu_coroutine_inc_pool_size(unsigned int additional_pool_size)
{
    co::inc_pool_size(additional_pool_size);
}

QAIO_EXPORT void qemu_coroutine_dec_pool_size(unsigned int removing_pool_size)
{
    co::dec_pool_size(removing_pool_size);
}

QAIO_EXPORT Coroutine *qemu_coroutine_new(void)
{
    return co::make();
}

QAIO_EXPORT void qemu_coroutine_delete(Coroutine *coroutine)
{
    co::destroy(coroutine);
}

QAIO_EXPORT CoroutineAction qemu_coroutine_switch(Coroutine *from, Coroutine *to,
                                                  CoroutineAction action)
{
    return static_cast<CoroutineAction>(co::switch_to(from, to, action));
}
