// SPDX-License-Identifier: MIT
// The generic thread pool (work_pool.hh) over GLib's exclusive GThreadPool,
// which starts and parks threads up to a changeable maximum.  GLib cannot
// wait for the work without freeing the pool: the pool counts unfinished
// items, and the worker that finishes the last one, after its destroy
// notifier (a waiter may free what the item used), wakes the waiters.
#include "lib/pool/work_pool.hh"

#include "lib/support/fatal.hh"

#include <glib.h>
#include <new>

namespace qaio::pool {

class work_pool {
public:
    struct work_item {
        work_fn fn;
        void *opaque;
        work_destroy_fn destroy;
    };

    GThreadPool *threads_ = nullptr;
    GMutex lock_;
    GCond idle_cond_;   // signalled when pending_ drops to zero
    unsigned pending_ = 0;  // submitted, not finished; under lock_

    static void run(gpointer data, gpointer user_data)
    {
        auto *item = static_cast<work_item *>(data);
        auto *p = static_cast<work_pool *>(user_data);
        item->fn(item->opaque);
        if (item->destroy) {
            item->destroy(item->opaque);
        }
        delete item;
        g_mutex_lock(&p->lock_);
        if (--p->pending_ == 0) {
            g_cond_broadcast(&p->idle_cond_);
        }
        g_mutex_unlock(&p->lock_);
    }
};

work_pool *work_pool_new() noexcept
{
    auto *p = new (std::nothrow) work_pool;
    QAIO_CHECK(p, "out of memory allocating a thread pool");
    g_mutex_init(&p->lock_);
    g_cond_init(&p->idle_cond_);
    // Exclusive, no thread until a maximum is set: this cannot fail.
    p->threads_ = g_thread_pool_new(work_pool::run, p, 0, TRUE, nullptr);
    QAIO_CHECK(p->threads_, "thread_pool_new: cannot create a GLib thread pool");
    return p;
}

void work_pool_free(work_pool *p) noexcept
{
    g_mutex_lock(&p->lock_);
    bool queued = p->pending_ > 0;
    g_mutex_unlock(&p->lock_);
    // Queued work runs first; a pool never sized gets one thread for it.
    if (queued && g_thread_pool_get_max_threads(p->threads_) == 0) {
        work_pool_set_max_threads(p, 1);
    }
    work_pool_wait(p);
    g_thread_pool_free(p->threads_, FALSE, TRUE);
    g_cond_clear(&p->idle_cond_);
    g_mutex_clear(&p->lock_);
    delete p;
}

void work_pool_submit(work_pool *p, work_fn fn, void *opaque, work_destroy_fn destroy) noexcept
{
    auto *item = new (std::nothrow) work_pool::work_item{fn, opaque, destroy};
    QAIO_CHECK(item, "out of memory queueing thread pool work");
    g_mutex_lock(&p->lock_);
    p->pending_++;
    g_mutex_unlock(&p->lock_);
    // GLib starts a thread here if none is idle and the maximum allows.
    g_thread_pool_push(p->threads_, item, nullptr);
}

void work_pool_wait(work_pool *p) noexcept
{
    g_mutex_lock(&p->lock_);
    while (p->pending_ > 0) {
        g_cond_wait(&p->idle_cond_, &p->lock_);
    }
    g_mutex_unlock(&p->lock_);
}

bool work_pool_set_max_threads(work_pool *p, int max) noexcept
{
    QAIO_CHECK(max > 0, "thread_pool_set_max_threads: %d threads (must be positive)", max);
    return g_thread_pool_set_max_threads(p->threads_, max, nullptr);
}

bool work_pool_adjust_max_threads_to_work(work_pool *p) noexcept
{
    // Under the mutex so the count holds until applied (no worker takes it
    // with GLib's lock held).
    g_mutex_lock(&p->lock_);
    bool ok = work_pool_set_max_threads(p, p->pending_ > 0 ? int(p->pending_) : 1);
    g_mutex_unlock(&p->lock_);
    return ok;
}

} // namespace qaio::pool
