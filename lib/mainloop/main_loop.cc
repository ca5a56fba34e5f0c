// SPDX-License-Identifier: MIT
// qemu_init_main_loop and main_loop_wait.  An iteration: poll notifiers
// (FILL) add fds and shorten the timeout, main-loop timers bound it, glib
// prepares and lists its fds after the notifiers', the big lock is dropped
// for the poll only, glib checks and dispatches, the notifiers see OK/ERR,
// the main-loop timers run.
#include "lib/mainloop/main_loop.hh"

#include "lib/loop/bh.hh"
#include "lib/loop/context.hh"
#include "lib/support/fatal.hh"
#include "lib/timer/clock.hh"
#include "lib/timer/timer_list.hh"
#ifdef _WIN32
#include "lib/win32/main_loop.hh"
#endif

#include <cerrno>

// The big lock and the record/replay lock: QEMU's, or the support runtime's.
#include "qemu/main-loop.h"
extern "C" void replay_mutex_lock(void);
extern "C" void replay_mutex_unlock(void);

namespace qaio::mainloop {

namespace {

struct main_loop {
    QEMUTimerListGroup *tlg = nullptr;
    loop::bh *notify_bh = nullptr;
    GArray *pollfds = nullptr;      // the notifiers' fds, then glib's
    guint glib_capacity = 16;       // slots offered to g_main_context_query
    QLIST_HEAD(, Notifier) poll_notifiers = QLIST_HEAD_INITIALIZER(poll_notifiers);
};

main_loop ml;

void notify_bh_cb(void *)
{
    // Being scheduled was the wake-up.
}

void run_poll_notifiers(MainLoopPoll *mlpoll) noexcept
{
    Notifier *n = QLIST_FIRST(&ml.poll_notifiers);
    while (n) {
        Notifier *next = QLIST_NEXT(n, node);  // n may remove itself
        n->notify(n, mlpoll);
        n = next;
    }
}

int64_t soonest(int64_t a, int64_t b) noexcept
{
    return static_cast<uint64_t>(a) < static_cast<uint64_t>(b) ? a : b;
}

void attach_to_default_context(AioContext *ctx, const char *name) noexcept
{
    loop::context::from(ctx)->backend().use_g_source();
    g_source_set_name(&ctx->source, name);
    g_source_attach(&ctx->source, nullptr);
}

int glib_wait(int64_t timeout_ns) noexcept
{
    GMainContext *gctx = g_main_context_default();
    g_main_context_acquire(gctx);

    gint max_priority;
    g_main_context_prepare(gctx, &max_priority);
    guint base = ml.pollfds->len;
    gint glib_timeout;
    gint n;
    for (;;) {
        g_array_set_size(ml.pollfds, base + ml.glib_capacity);
        auto *fds = &g_array_index(ml.pollfds, GPollFD, base);
        n = g_main_context_query(gctx, max_priority, &glib_timeout, fds,
                                 static_cast<gint>(ml.glib_capacity));
        if (static_cast<guint>(n) <= ml.glib_capacity) {
            break;
        }
        ml.glib_capacity = static_cast<guint>(n);
    }
    g_array_set_size(ml.pollfds, base + n);
    if (glib_timeout >= 0) {
        timeout_ns = soonest(timeout_ns, int64_t(glib_timeout) * 1000000);
    }

#ifdef _WIN32
    // The polling callbacks first (work: no sleep), then the wait objects
    // with glib's HANDLEs.
    if (win32::run_polling_cbs()) {
        timeout_ns = 0;
    }
    guint glib_end = ml.pollfds->len;
    win32::append_wait_objects(ml.pollfds);
#endif
    qaio_big_lock_drop();
    replay_mutex_unlock();
#ifdef _WIN32
    int ret = timer::poll_ns(reinterpret_cast<GPollFD *>(ml.pollfds->data), ml.pollfds->len,
                             timeout_ns);
#else
    static_assert(sizeof(GPollFD) == sizeof(pollfd), "GPollFD is a struct pollfd");
    int ret = timer::poll_ns(reinterpret_cast<pollfd *>(ml.pollfds->data), ml.pollfds->len,
                             timeout_ns);
#endif
    replay_mutex_lock();
    qaio_big_lock_take();
#ifdef _WIN32
    win32::dispatch_wait_objects(ml.pollfds, glib_end);
#endif

    if (g_main_context_check(gctx, max_priority, &g_array_index(ml.pollfds, GPollFD, base), n)) {
        g_main_context_dispatch(gctx);
    }
    g_main_context_release(gctx);
    return ret;
}

} // namespace

int init(QEMUTimerListGroup *main_tlg, QEMUTimerListNotifyCB *timer_notify,
         const char **failed_step) noexcept
{
    QAIO_CHECK(!loop::main_context(), "qemu_init_main_loop called twice");
    timer::init_main_lists(main_tlg, timer_notify);
    ml.tlg = main_tlg;

#ifndef _WIN32
    int r = signals_init();
    if (r < 0) {
        *failed_step = "failed to create signalfd";
        return r;
    }
#endif
    loop::context *ctx = loop::context::create();
    if (!ctx) {
        *failed_step = "failed to create the main AioContext";
        return -EMFILE;
    }
    loop::set_current_context(ctx->c());
    ml.notify_bh = loop::bh_new(ctx, notify_bh_cb, nullptr, "notify_event_cb");
    ml.pollfds = g_array_new(FALSE, FALSE, sizeof(GPollFD));
    // Last: qemu_notify_event from another thread finds the BH.
    loop::set_main_context(ctx->c());
    timer::set_main_loop_waker(notify_event);

    attach_to_default_context(ctx->c(), "aio-context");
    attach_to_default_context(iohandler_context(), "io-handler");
    return 0;
}

void notify_event() noexcept
{
    if (loop::main_context()) {
        loop::bh_schedule(ml.notify_bh, 0);
    }
}

int wait(bool nonblocking) noexcept
{
    QAIO_CHECK(loop::main_context(), "main_loop_wait called before qemu_init_main_loop");
    MainLoopPoll mlpoll{MAIN_LOOP_POLL_FILL, nonblocking ? 0u : UINT32_MAX, ml.pollfds};
    g_array_set_size(ml.pollfds, 0);
    run_poll_notifiers(&mlpoll);

    int64_t timeout_ns = mlpoll.timeout == UINT32_MAX ? -1 : int64_t(mlpoll.timeout) * 1000000;
    timeout_ns = soonest(timeout_ns, timer::group_deadline_ns(ml.tlg));
    int ret = glib_wait(timeout_ns);

    mlpoll.state = ret < 0 ? MAIN_LOOP_POLL_ERR : MAIN_LOOP_POLL_OK;
    run_poll_notifiers(&mlpoll);
    timer::main_run_all(ml.tlg);
    return ret;
}

void poll_notifier_add(Notifier *n) noexcept
{
    QLIST_INSERT_HEAD(&ml.poll_notifiers, n, node);
}

void poll_notifier_remove(Notifier *n) noexcept
{
    QLIST_REMOVE(n, node);
}

} // namespace qaio::mainloop
