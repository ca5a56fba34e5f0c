// SPDX-License-Identifier: MIT
// The thread pool: blocking functions run on detached worker threads, their
// completions run from a bottom half of the pool's AioContext.
//
// A request is queued (cancel_async may complete it with -ECANCELED), active
// (a worker runs func unlocked; cancel has no effect) or done (on the done
// list, then the home thread's ready list until its callback ran).  The
// mutex guards the queue, the done list, states, results and counts.
// outstanding_ is atomic: a thread holding the AioContext lock may submit,
// as in QEMU.
//
// Threads.  cur_threads_ counts workers requested (new_threads_), being
// created (pending_threads_) and running.  A request finding more queued
// work than idle and starting workers asks for one more, up to max.  As in
// QEMU a BH creates the first of a burst (with the home thread's affinity
// and signal mask) and each new worker the next.  Invariant: while
// new_threads_ > 0 a worker is starting or the spawn BH is scheduled.  Only
// a real idle timeout retires a worker, if more than min remain and nothing
// is queued; one above max exits when it next looks for work.
//
// Concurrency.  At most run_limit_ workers run jobs: the CPU count (waking
// a worker per request on few CPUs made the scheduler the bottleneck), plus
// one for each job that slept (job_clock), less one for each that did not.
// A request, or a worker taking one while more wait, wakes an idle worker
// if one more may run and no woken one covers it, or else to watch: if no
// job finished for watch_ns the watcher runs one, so jobs that wait for
// queued ones all run.
//
// Completion.  A worker pushes the request on the done list and schedules
// the completion BH unlocked, unless a watcher exists and enough is queued:
// the loop then wakes once per batch.  The BH runs the callbacks unlocked,
// rescheduling itself before each (so a nested aio_poll sees the others)
// and cancelling that after; its last look at the done list follows the
// cancel, so no schedule is lost.
//
// Freeing.  pool_free asserts nothing is outstanding, stops, and waits until
// cur_threads_ is zero.  An exiting worker signals stopped_cond_ holding the
// mutex, its unlock being its last access (QEMU 7.1-8.0 signalled after
// it, racing with the destroy); it schedules the completion BH while still
// counted, so the BH outlives that call.
#include "lib/pool/thread_pool.hh"

#include "lib/coroutine/coroutine.hh"
#include "lib/loop/bh.hh"
#include "lib/loop/context.hh"
#include "lib/loop/level_hooks.hh"
#include "lib/support/current_context.hh"
#include "lib/support/fatal.hh"
#include "lib/support/knobs.hh"
#include "lib/support/signals_blocked.hh"
#include "lib/support/thread_name.hh"
#include "lib/timer/clock.hh"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <ctime>
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
    pthread_cond_t request_cond_;  // workers wait for requests (wait_clock)
    pthread_cond_t stopped_cond_ = PTHREAD_COND_INITIALIZER;  // pool_free waits for workers
    // Under lock_.
    request_queue queue_;
    request_queue done_;
    int64_t min_threads_ = 0;
    int64_t max_threads_ = THREAD_POOL_MAX_THREADS_DEFAULT;
    int64_t cur_threads_ = 0;
    int64_t idle_threads_ = 0;
    // Idle workers signalled and not yet back (at most idle_threads_).
    int64_t waking_threads_ = 0;
    int64_t new_threads_ = 0;
    int64_t pending_threads_ = 0;
    int64_t running_ = 0;  // see "Concurrency" on top
    int64_t run_limit_ = 1;
    int64_t cpus_ = 1;
    uint64_t finished_ = 0;         // requests whose func returned
    bool watching_ = false;         // an idle worker waits with watch_ns
    bool completion_due_ = false;   // done_ filled, completion BH not scheduled
    bool stopping_ = false;

    void start_thread_locked() noexcept;
    request *take_request_locked(long *own_sleeps, bool *wake_one) noexcept;
    // Counts one more idle worker to signal (after unlocking) if a queued
    // request no woken worker covers may run, or needs a watcher.
    bool claim_waker_locked() noexcept
    {
        bool wake = idle_threads_ > waking_threads_ && queue_.size_ > waking_threads_ &&
                    (running_ + waking_threads_ < run_limit_ || !watching_);
        waking_threads_ += wake;
        return wake;
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

// The clock of request_cond_'s deadlines: winpthreads waits against the
// wall clock whatever the attribute says.
#ifdef _WIN32
constexpr clockid_t wait_clock = CLOCK_REALTIME;
#else
constexpr clockid_t wait_clock = CLOCK_MONOTONIC;
#endif

timespec deadline_after(int64_t ns) noexcept
{
    timespec t;
    clock_gettime(wait_clock, &t);
    int64_t nsec = t.tv_nsec + ns % 1000000000;
    t.tv_sec += static_cast<time_t>(ns / 1000000000 + nsec / 1000000000);
    t.tv_nsec = static_cast<long>(nsec % 1000000000);
    return t;
}

} // namespace

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

// Schedules the completion BH unless it may wait (a watcher exists and the
// workers have enough queued); true if it unlocked.
bool thread_pool::flush_completions_locked(bool deferrable) noexcept
{
    if (!completion_due_ || (deferrable && watching_ && queue_.size_ >= 4 * run_limit_ + 4)) {
        return false;
    }
    completion_due_ = false;
    pthread_mutex_unlock(&lock_);
    loop::bh_schedule(completion_bh_, 0);
    pthread_mutex_lock(&lock_);
    return true;
}

// The next request, marked active, or nullptr: the worker exits.  May wait.
request *thread_pool::take_request_locked(long *own_sleeps, bool *wake_one) noexcept
{
    bool have_deadline = false;
    timespec deadline;
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
            *wake_one = claim_waker_locked();  // signalled by the caller, unlocked
            return r;
        }
        if (flush_completions_locked(false)) {
            continue;
        }
        bool watch = queue_.head_ && !watching_;
        uint64_t finished = finished_;
        timespec watch_deadline;
        if (watch) {
            watching_ = true;
            watch_deadline = deadline_after(watch_ns);
        } else if (!have_deadline && idle_ns_ != idle_forever) {
            deadline = deadline_after(idle_ns_);
            have_deadline = true;
        }
        idle_threads_++;
        (*own_sleeps)++;
        int rc = watch           ? pthread_cond_timedwait(&request_cond_, &lock_, &watch_deadline)
                 : have_deadline ? pthread_cond_timedwait(&request_cond_, &lock_, &deadline)
                                 : pthread_cond_wait(&request_cond_, &lock_);
        idle_threads_--;
        // Any return may be the one a signal caused (a timeout can consume
        // one too); the count only errs low, which costs a spare wake-up.
        waking_threads_ = std::min(idle_threads_, std::max<int64_t>(waking_threads_ - 1, 0));
        if (watch) {
            watching_ = false;
            // Nothing finished for a whole watch: one more may run.
            if (rc == ETIMEDOUT && queue_.head_ && finished_ == finished &&
                running_ >= run_limit_) {
                run_limit_ = running_ + 1;
            }
        } else if (rc == ETIMEDOUT) {
            // Only a real timeout with nothing queued retires a worker.
            if (!queue_.head_ && !stopping_ && cur_threads_ > min_threads_) {
                return nullptr;
            }
            have_deadline = false;  // kept for min: a new idle period
        }
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
    bool wake_one;
    while (request *r = p->take_request_locked(&clock.own_sleeps, &wake_one)) {
        pthread_mutex_unlock(&p->lock_);
        if (wake_one) {
            pthread_cond_signal(&p->request_cond_);
        }
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
            p->run_limit_ = std::min(p->run_limit_ + 1, std::max(p->max_threads_, p->cpus_));
        } else if (p->run_limit_ > p->cpus_) {
            p->run_limit_--;
        }
        r->ret = ret;
        r->state = req_state::done;
        p->completion_due_ |= !p->done_.head_;
        p->done_.push_back(r);
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
        r->ret = -ECANCELED;
        r->state = req_state::done;
        schedule = !p->done_.head_;
        p->done_.push_back(r);
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

    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, wait_clock);
    pthread_cond_init(&p->request_cond_, &attr);
    pthread_condattr_destroy(&attr);

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
    pthread_cond_broadcast(&p->request_cond_);
    while (p->cur_threads_ > 0) {
        pthread_cond_wait(&p->stopped_cond_, &p->lock_);
    }
    pthread_mutex_unlock(&p->lock_);

    loop::bh_delete(p->spawn_bh_);
    loop::bh_delete(p->completion_bh_);
    pthread_cond_destroy(&p->stopped_cond_);
    pthread_cond_destroy(&p->request_cond_);
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
    bool wake = p->claim_waker_locked();
    pthread_mutex_unlock(&p->lock_);
    // After unlocking, so the woken worker does not block on the mutex.
    if (wake) {
        pthread_cond_signal(&p->request_cond_);
    }
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
    pthread_cond_broadcast(&p->request_cond_);
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
