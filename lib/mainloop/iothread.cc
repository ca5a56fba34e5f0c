// SPDX-License-Identifier: MIT
// qaio_iothread.  running_ is only touched in the thread (the stop BH runs
// there); the BH is also the wake-up, so a stop is never lost.
#include "lib/mainloop/iothread.hh"

#include "lib/loop/bh.hh"
#include "lib/loop/context.hh"
#include "lib/support/fatal.hh"

#include <cerrno>
#include <cstdio>
#include <new>

namespace qaio::mainloop {

namespace {

void *run(void *opaque)
{
    auto *t = static_cast<QaioIOThread *>(opaque);
    loop::set_current_context(t->ctx_);
    loop::context *ctx = loop::context::from(t->ctx_);
    while (t->running_) {
        ctx->poll(true);
    }
    return nullptr;
}

void stop_bh_cb(void *opaque)
{
    static_cast<QaioIOThread *>(opaque)->running_ = false;
}

} // namespace

QaioIOThread *iothread_new(const char *name, int *err) noexcept
{
    loop::context *ctx = loop::context::create();
    if (!ctx) {
        *err = errno;
        return nullptr;
    }
    auto *t = new (std::nothrow) QaioIOThread;
    QAIO_CHECK(t, "out of memory allocating IOThread '%s'", name);
    t->ctx_ = ctx->c();
    int r = pthread_create(&t->thread_, nullptr, run, t);
    if (r != 0) {
        g_source_unref(ctx->source());
        delete t;
        *err = r;
        return nullptr;
    }
    char short_name[16];
    snprintf(short_name, sizeof(short_name), "%s", name);
    pthread_setname_np(t->thread_, short_name);
    t->joinable_ = true;
    return t;
}

void iothread_join(QaioIOThread *t) noexcept
{
    if (!t->joinable_) {
        return;
    }
    QAIO_CHECK(!pthread_equal(pthread_self(), t->thread_),
               "IOThread %p joined from itself", static_cast<void *>(t));
    loop::bh_schedule_oneshot(loop::context::from(t->ctx_), stop_bh_cb, t, "iothread_stop");
    pthread_join(t->thread_, nullptr);
    t->joinable_ = false;
}

void iothread_free(QaioIOThread *t) noexcept
{
    iothread_join(t);
    g_source_unref(&t->ctx_->source);
    delete t;
}

} // namespace qaio::mainloop
