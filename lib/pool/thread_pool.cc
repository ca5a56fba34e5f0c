// SPDX-License-Identifier: MIT
// The thread pool: blocking functions run on detached worker threads, their
// completions run from a bottom half of the pool's AioContext.
//
// A request is queued (cancel_async may complete it with -ECANCELED), active
// (a worker runs func unlocked; cancel has no effect) or done (on the done
// list, then the home thread's ready list until its callback ran).  The
// mutex guards the queue, the done list, states, results and counts;
// outstanding_ is atomic (as in QEMU, a holder of the AioContext lock may
// submit from any thread).
//
// Threads.  cur_threads_ counts workers requested (new_threads_), being
// created (pending_threads_) and running.  A request finding more queued
// work than idle and starting workers asks for one more, up to max; a BH
// creates the first of a burst (with the home thread's affinity and signal
// mask) and each new worker the next, as in QEMU.  Invariant: while
// new_threads_ > 0 a worker is starting or the spawn BH is scheduled.  An
// idle timeout retires a worker if more than min remain and nothing is
// queued; one above max exits when it next looks for work.
//
// Concurrency.  At most run_limit_ workers run jobs: the CPU count (one
// woken per request on few CPUs made the scheduler the bottleneck), doubled
// by a job that slept (job_clock), less one for each that did not.  A
// request, or a worker taking one while more wait, wakes an idle worker if
// one more may run and no woken one covers it.  The watcher, a worker idle
// while jobs run or wait (woken to be one only if none is or comes), runs a
// job if none finished for watch_ns: jobs that wait for queued ones run.
// Idle workers wait on their own futex word on a LIFO stack: one system
// call per wake-up, and no condvar leaving the mutex marked contended.  The
// waker holds the mutex, or the worker could exit before the wake-up.
//
// Completion.  A worker pushes the request on the done list and schedules
// the completion BH unlocked, unless a watcher exists or comes and enough
// is queued (the loop then wakes once per batch).  The BH runs callbacks
// unlocked, rescheduling itself before each (for a nested aio_poll) and
// cancelling after; its last look at the done list follows the cancel.
//
// Freeing.  pool_free asserts nothing is outstanding, stops, and waits until
// cur_threads_ is zero.  An exiting worker signals stopped_cond_ holding the
// mutex, its unlock being its last access (QEMU 7.1-8.0 signalled after it,
// racing with the destroy); it schedules the completion BH while still
// counted, so the BH outlives that call.
#include "lib/pool/thread_pool.hh"

#include "lib/coroutine/coroutine.hh"
#include "lib/loop/bh.hh"
#include "lib/loop/context.hh"
#include "lib/loop/level_hooks.hh"
#include "lib/support/current_context.hh"
#include "lib/support/fatal.hh"
#include "lib/support/futex.hh"
#include "lib/support/knobs.hh"
#include "lib/support/signals_blocked.hh"
#include "lib/support/thread_name.hh"
#include "lib/timer/clock.hh"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <new>
#include <pthread.h>
#ifndef _WIN32
#include <sys/resource.h>  // RUSAGE_THREAD
#endif
#include <thread>
#include <type_traits>

namespace qaio::pool {

namespace {

constexpr int64_t default_idle_ms = 10 * 1000;
// idle_ns_ for a knob beyond what int64_t nanoseconds hold: no deadline.
constexpr int64_t idle_forever = INT64_MAX;

constexpr int64_t blocking_job_ns = 20 * 1000;  // shorter ones did not sleep
constexpr int64_t watch_ns = 1000 * 1000;  // the watcher's period

enum class req_state : int { queued, active, done };

enum : unsigned { woken_to_run = 1, woken_to_watch };

struct idle_slot {
    std::atomic<unsigned> woken{0};  // set under the mutex
    idle_slot *next = nullptr;       // idle stack
};

struct request {
    BlockAIOCB common;  // first: callers see the request as this AIOCB
    thread_pool *pool;
    ThreadPoolFunc *func;
    void *arg;
    request *next;  // request queue, done list or ready list
    request *prev;
    int ret;
    req_state state;
};
// Allocated raw by aiocb_get, freed with g_free: no constructor/destructor.
static_assert(std::is_standard_layout_v<request> && offsetof(request, common) == 0);
static_assert(std::is_trivially_destructible_v<request>);

// Doubly linked FIFO (request queue and done list): cancel unlinks in O(1).
struct request_queue {
    request *head_ = nullptr;
    request *tail_ = nullptr;
    int64_t size_ = 0;

    void push_back(request *r) noexcept
    {
        r->next = nullptr;
        r->prev = tail_;
        (tail_ ? tail_->next : head_) = r;
        tail_ = r;
        size_++;
    }
    void remove(request *r) noexcept
    {
        (r->prev ? r->prev->next : head_) = r->next;
        (r->next ? r->next->prev : tail_) = r->prev;
        size_--;
    }
};

} // namespace

class thread_pool {
public:
    loop::context *ctx_;
    loop::bh *completion_bh_;
    loop::bh *spawn_bh_;
    int64_t idle_ns_;

    // Submitted requests whose completion has not run yet.
    std::atomic<int64_t> outstanding_{0};
    request *ready_ = nullptr;  // home thread only, linked by next

    pthread_mutex_t lock_ = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t stopped_cond_ = PTHREAD_COND_INITIALIZER;  // pool_free waits for workers
    // Under lock_.
    request_queue queue_;
    request_queue done_;
    int64_t min_threads_ = 0;
    int64_t max_threads_ = THREAD_POOL_MAX_THREADS_DEFAULT;
    int64_t cur_threads_ = 0;
    int64_t idle_threads_ = 0;       // waiting, woken or not
    int64_t waking_threads_ = 0;     // woken and not yet back
    idle_slot *idle_top_ = nullptr;  // not woken, the watcher apart
    idle_slot *watcher_ = nullptr;
    bool watcher_woken_ = false;  // a worker woken to watch is not back yet
    int64_t new_threads_ = 0;
    int64_t pending_threads_ = 0;
    int64_t running_ = 0;  // see "Concurrency" on top
    int64_t run_limit_ = 1;
    int64_t cpus_ = 1;
    uint64_t finished_ = 0;         // requests whose func returned
    bool completion_due_ = false;   // done_ filled, completion BH not scheduled
    bool stopping_ = false;

    void start_thread_locked() noexcept;
    request *take_request_locked(long *own_sleeps) noexcept;
    // Wakes an idle worker if a queued request no woken worker covers may
    // run, or needs a watcher.
    void wake_one_locked() noexcept
    {
        bool run = running_ + waking_threads_ < run_limit_;
        if (queue_.size_ <= waking_threads_ || (!run && (watcher_ || watcher_woken_))) {
            return;
        }
        if (idle_slot *s = idle_top_ ? idle_top_ : run ? watcher_ : nullptr) {
            watcher_woken_ |= !run;
            wake_locked(s, run ? woken_to_run : woken_to_watch);
        }
    }
    // Takes s (the stack's top or the watcher) and wakes it for why.
    void wake_locked(idle_slot *s, unsigned why) noexcept
    {
        (s == idle_top_ ? idle_top_ : watcher_) = s == idle_top_ ? s->next : nullptr;
        s->woken.store(why, std::memory_order_relaxed);
        waking_threads_++;
        support::futex_wake(&s->woken, 1);
    }
    void wake_all_locked() noexcept;
    // Moves r, with its result, to the done list; true if that was empty.
    bool finish_locked(request *r, int ret) noexcept
    {
        r->ret = ret;
        r->state = req_state::done;
        done_.push_back(r);
        return done_.head_ == r;
    }
    bool flush_completions_locked(bool deferrable) noexcept;
};

namespace {

void *worker_main(void *opaque) noexcept;

// Requests one more worker (see the invariant on top).
void add_worker_locked(thread_pool *p) noexcept
{
    p->cur_threads_++;
    p->new_threads_++;
    if (p->pending_threads_ == 0) {
        loop::bh_schedule(p->spawn_bh_, 0);
    }
}

void spawn_bh_cb(void *opaque)
{
    auto *p = static_cast<thread_pool *>(opaque);
    pthread_mutex_lock(&p->lock_);
    if (p->new_threads_ > 0) {
        p->start_thread_locked();
    }
    pthread_mutex_unlock(&p->lock_);
}

// Waits unlocked until s is woken (true) or ns (huge: forever) have passed.
bool wait_woken(idle_slot *s, int64_t ns) noexcept
{
    int64_t now = timer::monotonic_ns();
    int64_t end = ns > idle_forever - now ? idle_forever : now + ns;
    for (; s->woken.load(std::memory_order_acquire) == 0; now = timer::monotonic_ns()) {
        if (now >= end) {
            return false;
        }
        support::futex_wait(&s->woken, 0, end == idle_forever ? -1 : end - now);
    }
    return true;
}

} // namespace

// Wakes every idle worker to look at the limits.
void thread_pool::wake_all_locked() noexcept
{
    while (idle_slot *s = idle_top_ ? idle_top_ : watcher_) {
        wake_locked(s, woken_to_run);
    }
}

void thread_pool::start_thread_locked() noexcept
{
    new_threads_--;
    pending_threads_++;

    // No signals on workers: a handler must not run holding the pool's mutex.
    pthread_t tid;
    int r;
    {
        support::signals_blocked quiet;
        r = pthread_create(&tid, nullptr, worker_main, this);
    }
    QAIO_CHECK(r == 0, "thread pool %p: cannot create a worker thread: %s",
               static_cast<void *>(this), std::strerror(r));
    pthread_detach(tid);
}

// Schedules the completion BH unless it may wait (a watcher exists or one
// woken to watch, which flushes first, and the workers have enough queued);
// true if it unlocked.
bool thread_pool::flush_completions_locked(bool deferrable) noexcept
{
    bool watched = watcher_ || watcher_woken_;
    if (!completion_due_ || (deferrable && watched && queue_.size_ >= 4 * run_limit_ + 4)) {
        return false;
    }
    completion_due_ = false;
    pthread_mutex_unlock(&lock_);
    loop::bh_schedule(completion_bh_, 0);
    pthread_mutex_lock(&lock_);
    return true;
}

// The next request, marked active, or nullptr: the worker exits.  May wait.
request *thread_pool::take_request_locked(long *own_sleeps) noexcept
{
    int64_t idle_since = timer::monotonic_ns();
    for (;;) {
        if (stopping_ || cur_threads_ > max_threads_) {
            flush_completions_locked(false);  // it may have been the watcher
            return nullptr;
        }
        if (queue_.head_ && running_ < run_limit_) {
            // A watcher starting a job no longer covers a deferred BH.
            if (flush_completions_locked(true)) {
                continue;
            }
            request *r = queue_.head_;
            queue_.remove(r);
            r->state = req_state::active;
            running_++;
            wake_one_locked();
            return r;
        }
        if (flush_completions_locked(false)) {
            continue;
        }
        idle_slot slot;
        bool watch = !watcher_ && (queue_.head_ || running_ > 0);
        uint64_t finished = finished_;
        slot.next = idle_top_;  // unused by the watcher
        (watch ? watcher_ : idle_top_) = &slot;
        idle_threads_++;
        (*own_sleeps)++;
        int64_t idle_left = idle_ns_ - (timer::monotonic_ns() - idle_since);
        pthread_mutex_unlock(&lock_);
        wait_woken(&slot, watch ? std::min(watch_ns, idle_left) : idle_left);
        pthread_mutex_lock(&lock_);
        idle_threads_--;
        if (unsigned why = slot.woken.load(std::memory_order_relaxed)) {
            waking_threads_--;  // the waker unlinked it
            watcher_woken_ &= why != woken_to_watch;
            continue;
        }
        if (watch) {
            watcher_ = nullptr;
            // Nothing finished for a whole watch: one more may run.
            if (queue_.head_ && finished_ == finished && running_ >= run_limit_) {
                run_limit_ = running_ + 1;
            }
            if (timer::monotonic_ns() - idle_since < idle_ns_) {
                continue;
            }
        } else {
            idle_slot **at = &idle_top_;
            while (*at != &slot) {
                at = &(*at)->next;
            }
            *at = slot.next;
        }
        // Only a real timeout with nothing queued retires a worker.
        if (!queue_.head_ && !stopping_ && cur_threads_ > min_threads_) {
            return nullptr;
        }
        idle_since = timer::monotonic_ns();  // kept for min: a new idle period
    }
}

namespace {

// Whether a job slept (I/O, a lock) rather than ran: its thread's voluntary
// context switches, less the worker's own waits (wall time cannot tell a
// preempted job from a sleeping one), read only after a long job.
struct job_clock {
    long own_sleeps = 0;
    int64_t started = 0;
#ifdef RUSAGE_THREAD
    long switches = voluntary_switches();

    static long voluntary_switches() noexcept
    {
        rusage u;
        return getrusage(RUSAGE_THREAD, &u) == 0 ? u.ru_nvcsw : 0;
    }
#endif

    void start() noexcept { started = timer::monotonic_ns(); }
    bool blocked() noexcept
    {
        if (timer::monotonic_ns() - started < blocking_job_ns) {
            return false;
        }
#ifdef RUSAGE_THREAD
        long now = voluntary_switches();
        bool slept = now - switches > own_sleeps;
        switches = now;
        own_sleeps = 0;
        return slept;
#else
        return true;
#endif
    }
};

void *worker_main(void *opaque) noexcept
{
    auto *p = static_cast<thread_pool *>(opaque);
    support::name_this_thread("worker");

    pthread_mutex_lock(&p->lock_);
    p->pending_threads_--;
    if (p->new_threads_ > 0) {
        p->start_thread_locked();
    }
    job_clock clock;
    while (request *r = p->take_request_locked(&clock.own_sleeps)) {
        pthread_mutex_unlock(&p->lock_);
        clock.start();
        int ret = r->func(r->arg);
        bool blocked = clock.blocked();
        if (pthread_mutex_trylock(&p->lock_) != 0) {
            clock.own_sleeps++;  // a wait of the worker's own, not the job's
            pthread_mutex_lock(&p->lock_);
        }
        p->running_--;
        p->finished_++;
        if (blocked) {
            p->run_limit_ = std::min(p->run_limit_ * 2, std::max(p->max_threads_, p->cpus_));
        } else if (p->run_limit_ > p->cpus_) {
            p->run_limit_--;
        }
        p->completion_due_ |= p->finish_locked(r, ret);
        // Still counted in cur_threads_: the BH outlives this call.
        p->flush_completions_locked(true);
    }
    p->cur_threads_--;
    // The unlock is the last access to *p (see "Freeing" on top).
    pthread_cond_signal(&p->stopped_cond_);
    pthread_mutex_unlock(&p->lock_);
    return nullptr;
}

void completion_bh_cb(void *opaque)
{
    auto *p = static_cast<thread_pool *>(opaque);
    loop::context *ctx = p->ctx_;
    // At 10.0 the pass is one defer_call section, as in QEMU.
    const loop::deferral *defer = loop::level_hooks.defer;
    if (defer) {
        defer->begin();
    }
    ctx->acquire();
    for (;;) {
        if (!p->ready_) {
            pthread_mutex_lock(&p->lock_);
            p->ready_ = p->done_.head_;  // the rest linked by next
            p->done_ = {};
            p->completion_due_ = false;
            pthread_mutex_unlock(&p->lock_);
            if (!p->ready_) {
                break;
            }
        }
        request *r = p->ready_;
        p->ready_ = r->next;
        if (r->common.cb) {
            loop::bh_schedule(p->completion_bh_, 0);
            ctx->release();
            r->common.cb(r->common.opaque, r->ret);
            ctx->acquire();
            loop::bh_cancel(p->completion_bh_);
        }
        // After the callback: freeing the pool from one is reported.
        p->outstanding_.fetch_sub(1, std::memory_order_relaxed);
        aiocb_unref(r);
    }
    ctx->release();
    if (defer) {
        defer->end();
    }
}

void request_cancel_async(BlockAIOCB *acb)
{
    auto *r = reinterpret_cast<request *>(acb);
    thread_pool *p = r->pool;
    bool schedule = false;
    pthread_mutex_lock(&p->lock_);
    if (r->state == req_state::queued) {
        p->queue_.remove(r);
        schedule = p->finish_locked(r, -ECANCELED);
    }
    pthread_mutex_unlock(&p->lock_);
    if (schedule) {
        loop::bh_schedule(p->completion_bh_, 0);
    }
}

// QEMU 7.2's AIOCBInfo asks a request for its context; 10.0's no longer does.
[[maybe_unused]] AioContext *request_aio_context(BlockAIOCB *acb)
{
    return reinterpret_cast<request *>(acb)->pool->ctx_->c();
}

const AIOCBInfo request_info =
    QAIO_AIOCB_INFO(request_cancel_async, request_aio_context, sizeof(request));

// thread_pool_submit_co's waiter, on the coroutine's stack.
struct co_waiter {
    Coroutine *co;
    int ret;

    static void done(void *opaque, int ret)
    {
        auto *w = static_cast<co_waiter *>(opaque);
        w->ret = ret;
        loop::co_wake(w->co);
    }
};

// QAIO_THREAD_POOL_IDLE_MS in nanoseconds, saturating to idle_forever.
int64_t idle_ns_from_knob() noexcept
{
    int64_t ms = support::knob_int(support::knob::thread_pool_idle_ms).value_or(default_idle_ms);
    if (ms < idle_forever / 1000000) {
        return ms * 1000000;
    }
    static std::atomic<bool> said{false};
    if (!said.exchange(true, std::memory_order_relaxed)) {
        support::knob_adjusted(support::knob::thread_pool_idle_ms,
                               "at least %" PRId64 " ms (292 years): idle workers never exit",
                               idle_forever / 1000000);
    }
    return idle_forever;
}

} // namespace

thread_pool *pool_new(loop::context *ctx) noexcept
{
    if (!ctx) {
        AioContext *main = loop::main_context();
        QAIO_CHECK(main, "thread_pool_new(NULL) before qemu_init_main_loop");
        ctx = loop::context::from(main);
    }
    auto *p = new (std::nothrow) thread_pool;
    QAIO_CHECK(p, "out of memory allocating a thread pool");
    p->ctx_ = ctx;
    p->idle_ns_ = idle_ns_from_knob();
    p->cpus_ = std::max(1u, std::thread::hardware_concurrency());
    p->run_limit_ = p->cpus_;
    p->completion_bh_ = loop::bh_new(ctx, completion_bh_cb, p, "thread-pool-completion");
    p->spawn_bh_ = loop::bh_new(ctx, spawn_bh_cb, p, "thread-pool-spawn");
    update_params(p, ctx);
    return p;
}

void pool_free(thread_pool *p) noexcept
{
    int64_t left = p->outstanding_.load(std::memory_order_relaxed);
    QAIO_CHECK(left == 0, "thread pool %p freed with %lld request(s) outstanding (every completion "
               "must have run, and the pool cannot be freed from a completion callback)",
               static_cast<void *>(p), static_cast<long long>(left));

    pthread_mutex_lock(&p->lock_);
    p->stopping_ = true;
    p->cur_threads_ -= p->new_threads_;  // never to be created
    p->new_threads_ = 0;
    p->wake_all_locked();
    while (p->cur_threads_ > 0) {
        pthread_cond_wait(&p->stopped_cond_, &p->lock_);
    }
    pthread_mutex_unlock(&p->lock_);

    loop::bh_delete(p->spawn_bh_);
    loop::bh_delete(p->completion_bh_);
    pthread_cond_destroy(&p->stopped_cond_);
    pthread_mutex_destroy(&p->lock_);
    delete p;
}

BlockAIOCB *submit(thread_pool *p, ThreadPoolFunc *func, void *arg, BlockCompletionFunc *cb,
                   void *opaque) noexcept
{
    auto *r = static_cast<request *>(aiocb_get(&request_info, nullptr, cb, opaque));
    r->pool = p;
    r->func = func;
    r->arg = arg;
    r->ret = -EINPROGRESS;
    r->state = req_state::queued;
    p->outstanding_.fetch_add(1, std::memory_order_relaxed);

    pthread_mutex_lock(&p->lock_);
    p->queue_.push_back(r);
    if (p->queue_.size_ > p->idle_threads_ + p->new_threads_ + p->pending_threads_ &&
        p->cur_threads_ < p->max_threads_) {
        add_worker_locked(p);
    }
    p->wake_one_locked();
    pthread_mutex_unlock(&p->lock_);
    return &r->common;
}

int submit_co(thread_pool *p, ThreadPoolFunc *func, void *arg) noexcept
{
    QAIO_CHECK(coroutine::in_coroutine(),
               "thread_pool_submit_co(%p) called outside a coroutine", static_cast<void *>(p));
    co_waiter w = {coroutine::self(), -EINPROGRESS};
    submit(p, func, arg, co_waiter::done, &w);
    coroutine::yield();
    return w.ret;
}

void update_params(thread_pool *p, loop::context *ctx) noexcept
{
    pthread_mutex_lock(&p->lock_);
    p->min_threads_ = ctx->thread_pool_min();
    p->max_threads_ = ctx->thread_pool_max();
    while (p->cur_threads_ < p->min_threads_) {
        add_worker_locked(p);
    }
    // Workers above the new max, and idle ones, look at the limits again.
    p->wake_all_locked();
    pthread_mutex_unlock(&p->lock_);
}

// The context's pool, finalized before the engines'.
const loop::attachment_kind pool_attachment = {0, context_pool_finalize};

thread_pool *context_pool(loop::context *ctx) noexcept
{
    auto *p = static_cast<thread_pool *>(ctx->attached(pool_attachment));
    if (!p) {
        p = pool_new(ctx);
        ctx->attach(pool_attachment, p);
    }
    return p;
}

thread_pool *current_context_pool() noexcept
{
    return context_pool(loop::context::from(support::current_context()));
}

void set_context_params(loop::context *ctx, int64_t min, int64_t max) noexcept
{
    ctx->set_thread_pool_limits(min, max);
    if (auto *p = static_cast<thread_pool *>(ctx->attached(pool_attachment))) {
        update_params(p, ctx);
    }
}

void context_pool_finalize(loop::context *ctx) noexcept
{
    if (auto *p = static_cast<thread_pool *>(ctx->attached(pool_attachment))) {
        pool_free(p);
        ctx->attach(pool_attachment, nullptr);
    }
}

} // namespace qaio::pool
