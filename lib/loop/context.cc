// SPDX-License-Identifier: MIT
// AioContext creation, finalization, notify and the home thread.
#include "lib/loop/context.hh"

#include "lib/loop/level_hooks.hh"
#include "lib/support/fatal.hh"
#include "lib/support/thread_id.hh"
#include "lib/timer/timer_list.hh"

#include <new>
#include "qemu/main-loop.h"

namespace qaio::loop {

extern GSourceFuncs gsource_funcs;  // gsource.cc

static_assert(alignof(context) <= 16, "g_source_new only guarantees malloc alignment");
const size_t context::offset =
    (sizeof(AioContext) + alignof(context) - 1) / alignof(context) * alignof(context);

namespace {

void timer_list_notify(void *opaque, QEMUClockType)
{
    static_cast<context *>(opaque)->notify();
}

} // namespace

context *context::create() noexcept
{
    // The only step that can fail comes first: glib never finalizes a
    // half-built context.
    std::unique_ptr<wait_backend> backend = make_wait_backend();
    if (!backend) {
        return nullptr;
    }
    GSource *s = g_source_new(&gsource_funcs, static_cast<guint>(offset + sizeof(context)));
    auto *ctx = new (reinterpret_cast<char *>(s) + offset) context();
    ctx->backend_ = std::move(backend);
    ctx->set_home_thread();
    g_source_set_can_recurse(s, TRUE);

    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&ctx->lock_, &attr);
    pthread_mutexattr_destroy(&attr);

    AioContext *c = ctx->c();
    timer::group_init(&c->tlg, timer_list_notify, ctx);

    ctx->backend_->attach(ctx);
    co_schedule_init(ctx);
    stats_register(ctx);
    if (level_hooks.created) {
        level_hooks.created(c);
    }
    return ctx;
}

void context::finalize() noexcept
{
    if (level_hooks.finalizing) {
        level_hooks.finalizing(c());
    }
    for (attachment &a : attachments_) {
        if (a.kind) {
            a.kind->finalize(this);
            a = {};
        }
    }
    co_schedule_finalize(this);
    bh_finalize(this);
    stats_unregister(this);

    backend_.reset();  // with the handlers their owners left registered
    timer::group_deinit(&c()->tlg);
    pthread_mutex_destroy(&lock_);
    this->~context();
}

void context::notify() noexcept
{
    // Full barrier: pairs with notify_accept() for the published work, and
    // with announce_sleep() / gs_prepare() for the read of notify_me_.
    notified_.exchange(true, std::memory_order_seq_cst);
    if (notify_me_.load(std::memory_order_relaxed)) {
        backend_->wake();
        if (stats_enabled()) {
            stats_.notify_writes.fetch_add(1, std::memory_order_relaxed);
        }
    } else if (stats_enabled()) {
        stats_.notify_writes_avoided.fetch_add(1, std::memory_order_relaxed);
    }
}

void set_current_context(AioContext *ctx) noexcept
{
    support::bind_own_context(ctx);
    if (ctx) {
        context::from(ctx)->set_home_thread();
    }
}

void context::set_home_thread() noexcept
{
    home_tid_.store(support::thread_id(), std::memory_order_relaxed);
    home_thread_.store(pthread_self(), std::memory_order_relaxed);
}

// QEMU's in_aio_context_home_thread (the thread's current context, or the
// main context under the big lock) and the home thread, which extends it to
// unbound contexts: 7.2 gives them no home (aio_poll asserts) while programs
// poll them from their creator; a thread that binds one later takes it over.
void context::check_foreign_poller(const char *what) noexcept
{
    if (pthread_equal(home_thread_.load(std::memory_order_relaxed), pthread_self()) ||
        own_context() == c() || (c() == main_context() && qaio_big_lock_held())) {
        return;
    }
    char name[16] = "?";
    pthread_getname_np(pthread_self(), name, sizeof(name));
    QAIO_FATAL("%s(ctx=%p) called in thread %d (\"%s\"), which is not the context's home "
               "thread %d: a context is polled only by the thread that bound it "
               "(qemu_set_current_aio_context) or, until one does, by its creator; "
               "QEMU's main context also by a thread holding the big lock",
               what, static_cast<void *>(c()), support::thread_id(), name,
               home_tid_.load(std::memory_order_relaxed));
}

bool polled_by_this_thread_alone(AioContext *ctx) noexcept
{
    return own_context() == ctx && main_context() != ctx;
}

} // namespace qaio::loop
