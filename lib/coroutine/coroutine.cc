// SPDX-License-Identifier: MIT
// Coroutine lifecycle and the enter/yield protocol (objects: coroutine.hh).
//
// Entering.  aio_co_enter() from a coroutine in its own context does not
// nest a switch: it appends the target to the running coroutine's
// co_queue_wakeup.  When a coroutine comes back to enter(), its wake-up queue
// goes in front of what is still pending, so wake-ups run depth-first in the
// order made, and mutual hand-offs loop here instead of recursing.  Before
// each switch the target must have no `scheduled` marker (the abort names
// who scheduled it) and no caller (it runs, or waits for one it entered).
// An ended coroutine switches to its caller with COROUTINE_TERMINATE and is
// recycled there; its entry loop then waits for the next entry function.
//
// Pools, with QEMU 7.2's bounds: a free list per thread of up to the pool
// size (64 plus qemu_coroutine_inc_pool_size's) and a global release pool
// of up to twice that; the rest goes to destroy().  An ended coroutine tries
// this thread's list first (QEMU tries the release pool first, two atomic
// operations per coroutine for the same bounds).  create() takes the whole
// release pool when its own list is empty and the release pool holds more
// than 64, so threads that only end coroutines feed those that create them.
// The release pool is pushed or emptied whole, so it has no ABA problem.
#include "lib/coroutine/coroutine.hh"

#include "lib/coroutine/stack_pool.hh"
#include "lib/support/current_context.hh"
#include "lib/support/fatal.hh"
#include "lib/support/knobs.hh"

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <new>
#include <pthread.h>

namespace qaio::coroutine {

namespace detail {
thread_local thread_state *tls_thread = nullptr;
} // namespace detail

namespace {

using detail::thread_state;
using detail::tls_thread;

constexpr unsigned pool_batch_min = 64;
std::atomic<unsigned> pool_max{64};
std::atomic<Coroutine *> release_head{nullptr};
std::atomic<unsigned> release_size{0};

pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;
pthread_key_t exit_key;

// QAIO_STATS counters; only counted once the knob was seen set.
std::atomic<bool> stats_on{false};
std::atomic<uint64_t> n_created{0};
std::atomic<uint64_t> n_pool_misses{0};
std::atomic<uint64_t> n_release_refills{0};

void thread_exit(void *opaque) noexcept
{
    auto *ts = static_cast<thread_state *>(opaque);
    // Still reachable through tls_thread while the pool drains: retiring a
    // coroutine may switch into it from this thread.
    while (Coroutine *co = ts->pool_) {
        ts->pool_ = co->pool_next.sle_next;
        destroy(co);
    }
    tls_thread = nullptr;
    delete ts;
}

void print_stats() noexcept
{
    stack_stats s = stack_counters();
    slab_stats slabs = slab_counters();
    std::fprintf(stderr, "qaio-stats: coroutines created=%" PRIu64 " pool_misses=%" PRIu64
                 " release_refills=%" PRIu64 " dormant_hits=%" PRIu64
                 " dormant_refused=%" PRIu64 " stacks_mapped=%" PRIu64
                 " stacks_unmapped=%" PRIu64 " stack_slabs_mapped=%" PRIu64
                 " stack_slabs_unmapped=%" PRIu64 "\n",
                 n_created.load(), n_pool_misses.load(), n_release_refills.load(),
                 s.dormant_hits, s.dormant_refused, slabs.stacks_taken,
                 slabs.stacks_given_back, slabs.slabs_mapped, slabs.slabs_unmapped);
}

void process_init() noexcept
{
    pthread_key_create(&exit_key, thread_exit);
    if (support::knob_flag(support::knob::stats)) {
        stats_on.store(true, std::memory_order_relaxed);
        support::stats_report_at_exit(print_stats);
    }
}

bool counting() noexcept
{
    return stats_on.load(std::memory_order_relaxed);
}

__attribute__((noinline, cold)) thread_state *thread_init() noexcept
{
    pthread_once(&exit_key_once, process_init);
    auto *ts = new (std::nothrow) thread_state{};
    QAIO_CHECK(ts, "out of memory allocating a thread's coroutine state");
    fiber_adopt_thread(&ts->leader_.fiber_);
    // thread_exit() runs at thread exit (not for the thread calling exit()).
    pthread_setspecific(exit_key, ts);
    tls_thread = ts;
    return ts;
}

// The empty asm makes the read impure.
__attribute__((always_inline)) inline thread_state *read_thread_state() noexcept
{
    thread_state *ts = tls_thread;
    asm volatile("" : "+r"(ts));
    if (__builtin_expect(ts == nullptr, 0)) {
        ts = thread_init();
    }
    return ts;
}

// For code around switches, which calls it again after each: out of line
// and opaque, so every call computes the thread-local address afresh, LTO
// or not.
__attribute__((noinline, noclone)) thread_state *this_thread() noexcept
{
    return read_thread_state();
}

// Inlined into the steps and the pool, which never switch (and are noinline,
// so no switching caller absorbs them).
__attribute__((always_inline)) inline thread_state *thread_here() noexcept
{
    thread_state *ts = tls_thread;
    if (__builtin_expect(ts == nullptr, 0)) {
        ts = thread_init();
    }
    return ts;
}

inline coroutine *running_in(thread_state *ts) noexcept
{
    return ts->current_ ? ts->current_ : &ts->leader_;
}

// `ts`: this thread's state, fetched since the last switch.
inline void switch_in(thread_state *ts, coroutine *from, coroutine *to, int action,
                      bool final = false) noexcept
{
    ts->current_ = to;
    backend_switch(from, to, action, final);
}

coroutine *fresh() noexcept
{
    stack_slot stack = take_stack();
    // The object sits at the top of its own stack, which grows down from it.
    char *top = stack.map_ + stack.size_ - sizeof(coroutine);
    auto *co = new (top) coroutine{};
    co->stack_ = stack;
    char *base = stack.map_ + page_size();
    fiber_create(&co->fiber_, base, static_cast<size_t>(top - base));
    backend_prepare(co);
    return co;
}

// Unmaps a coroutine for good.  Under ASan its fiber is entered once more so
// that it can leave with no fake stack to keep (see switch.hh).
void retire(coroutine *co) noexcept
{
    if (retire_needs_switch && co->started_) {
        thread_state *ts = this_thread();
        coroutine *self = running_in(ts);
        co->c_.caller = &self->c_;
        switch_in(ts, self, co, action_retire);
    }
    fiber_destroy(&co->fiber_);
    // A copy: the object lives on the stack being given back.
    stack_slot stack = co->stack_;
    give_back_stack(stack);
}

// The thread's pool is empty: take the release pool if it is worth it.
__attribute__((noinline)) Coroutine *refill(thread_state *ts) noexcept
{
    if (release_size.load(std::memory_order_relaxed) <= pool_batch_min) {
        return nullptr;
    }
    // A hint: pushes racing with the exchanges count for the next refill.
    release_size.exchange(0, std::memory_order_relaxed);
    // Acquire: pairs with the release CAS in recycle() (the pushed fields).
    Coroutine *list = release_head.exchange(nullptr, std::memory_order_acquire);
    unsigned n = 0;
    for (Coroutine *c = list; c; c = c->pool_next.sle_next) {
        n++;
    }
    ts->pool_ = list;
    ts->pool_size_ = n;
    if (counting()) {
        n_release_refills.fetch_add(1, std::memory_order_relaxed);
    }
    return list;
}

// An ended coroutine (no caller, nothing queued) goes back to a pool: this
// thread's while it has room, else the release pool, else for good.
void recycle(Coroutine *co) noexcept
{
    co->caller = nullptr;
    unsigned max = pool_max.load(std::memory_order_relaxed);
    thread_state *ts = thread_here();
    if (__builtin_expect(ts->pool_size_ < max, 1)) {
        co->pool_next.sle_next = ts->pool_;
        ts->pool_ = co;
        ts->pool_size_++;
        return;
    }
    if (release_size.load(std::memory_order_relaxed) < 2 * max) {
        Coroutine *head = release_head.load(std::memory_order_relaxed);
        do {
            co->pool_next.sle_next = head;
            // Release: pairs with the acquire exchange in refill().
        } while (!release_head.compare_exchange_weak(head, co, std::memory_order_release,
                                                     std::memory_order_relaxed));
        release_size.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    destroy(co);
}

[[noreturn, gnu::cold]] void fail_scheduled(Coroutine *co, const char *by) noexcept
{
    QAIO_FATAL("qemu_aio_coroutine_enter: Co-routine was already scheduled in '%s' "
               "(coroutine %p, entry %p): it must not be entered until then",
               by, static_cast<void *>(co), reinterpret_cast<void *>(co->entry));
}

[[noreturn, gnu::cold]] void fail_reentered(Coroutine *co) noexcept
{
    QAIO_FATAL("Co-routine re-entered recursively (coroutine %p, entry %p, entered by "
               "%p): it is running, or waiting for a coroutine it entered",
               static_cast<void *>(co), reinterpret_cast<void *>(co->entry),
               static_cast<void *>(co->caller));
}

} // namespace

// ---- the entry loop ----------------------------------------------------------

void run_coroutine(coroutine *self) noexcept
{
    self->started_ = true;
    for (;;) {
        Coroutine *c = &self->c_;
        c->entry(c->entry_arg);
        // Ended: back to whoever entered us, who recycles us.
        QAIO_CHECK(c->caller, "coroutine %p (entry %p) ended with no caller to return to",
                   static_cast<void *>(c), reinterpret_cast<void *>(c->entry));
        int action = switch_to(c, c->caller, COROUTINE_TERMINATE);
        if (action == action_retire) {
            // Our stack is going away: leave the fiber for good (from
            // whichever thread we now run on).
            switch_in(this_thread(), self, of(c->caller), action_retire, true);
            __builtin_unreachable();
        }
        // COROUTINE_ENTER: reused with a new entry function.
    }
}

coroutine *running() noexcept
{
    return running_in(this_thread());
}

// ---- qemu/coroutine.h ----------------------------------------------------------

Coroutine *create(CoroutineEntry *entry, void *opaque) noexcept
{
    thread_state *ts = thread_here();
    Coroutine *co = ts->pool_;
    if (__builtin_expect(co == nullptr, 0)) {
        co = refill(ts);
    }
    if (__builtin_expect(co != nullptr, 1)) {
        ts->pool_ = co->pool_next.sle_next;
        ts->pool_size_--;
    } else {
        co = make();
        if (counting()) {
            n_pool_misses.fetch_add(1, std::memory_order_relaxed);
        }
    }
    if (counting()) {
        n_created.fetch_add(1, std::memory_order_relaxed);
    }
    co->entry = entry;
    co->entry_arg = opaque;
    QSIMPLEQ_INIT(&co->co_queue_wakeup);
    return co;
}

namespace {

// Checks `to` and makes it the coroutine f->self_ switches to next.
inline coroutine *prepare_entry(thread_state *ts, enter_frame *f, Coroutine *to) noexcept
{
    const char *by = __atomic_load_n(&to->scheduled, __ATOMIC_RELAXED);
    if (__builtin_expect(by != nullptr, 0)) {
        fail_scheduled(to, by);
    }
    if (__builtin_expect(to->caller != nullptr, 0)) {
        fail_reentered(to);
    }
    to->caller = &f->self_->c_;
    __atomic_store_n(&to->ctx, f->ctx_, __ATOMIC_RELAXED);
    // Whoever learns of `to` from what it does next (a CoMutex queue, an
    // aio_co_schedule) must see its context: pairs with the acquire load in
    // aio_co_wake().  (TSan does not model fences; there the publications
    // themselves, all release operations, carry the ordering.)
#if !defined(QAIO_TSAN)
    std::atomic_thread_fence(std::memory_order_release);
#endif
    f->to_ = to;
    ts->current_ = of(to);
    return of(to);
}

__attribute__((always_inline)) inline coroutine *
start_entry(AioContext *ctx, Coroutine *co, enter_frame *f) noexcept
{
    thread_state *ts = thread_here();
    f->self_ = running_in(ts);
    f->ctx_ = ctx;
    f->pending_ = nullptr;
    return prepare_entry(ts, f, co);
}

} // namespace

__attribute__((noinline)) coroutine *enter_start(AioContext *ctx, Coroutine *co,
                                                 enter_frame *f) noexcept
{
    return start_entry(ctx, co, f);
}

__attribute__((noinline)) coroutine *enter_start_here(Coroutine *co, enter_frame *f) noexcept
{
    return start_entry(support::current_context(), co, f);
}

__attribute__((noinline)) coroutine *enter_resumed(enter_frame *f, int action) noexcept
{
    Coroutine *to = f->to_;
    // What `to` woke runs next, ahead of what was pending.
    Coroutine *woken = to->co_queue_wakeup.sqh_first;
    if (woken) {
        *to->co_queue_wakeup.sqh_last = f->pending_;
        f->pending_ = woken;
        QSIMPLEQ_INIT(&to->co_queue_wakeup);
    }
    if (action == COROUTINE_TERMINATE) {
        QAIO_CHECK(to->locks_held == 0,
                   "coroutine %p (entry %p) ended holding %zu CoMutex/CoRwlock lock(s)",
                   static_cast<void *>(to), reinterpret_cast<void *>(to->entry),
                   to->locks_held);
        recycle(to);
    } else {
        QAIO_CHECK(action == COROUTINE_YIELD,
                   "coroutine %p came back with action %d instead of a yield or its end",
                   static_cast<void *>(to), action);
    }
    Coroutine *next = f->pending_;
    if (!next) {
        return nullptr;
    }
    f->pending_ = next->co_queue_next.sqe_next;
    // Still enter_start()'s thread: `to` came back here.
    return prepare_entry(thread_here(), f, next);
}

__attribute__((noinline)) switch_pair yield_start() noexcept
{
    thread_state *ts = thread_here();
    coroutine *self = running_in(ts);
    Coroutine *to = self->c_.caller;
    QAIO_CHECK(to != nullptr,
               "Co-routine is yielding to no one: qemu_coroutine_yield() called outside "
               "a coroutine (thread's leader %p)", static_cast<void *>(self));
    self->c_.caller = nullptr;
    ts->current_ = of(to);
    return {self, of(to)};
}

__attribute__((noinline)) void switch_start(coroutine *to) noexcept
{
    thread_here()->current_ = to;
}

// ---- the entry points, unless the backend has them in assembly ------------
#if !defined(QAIO_SWITCH_ASM)

void enter(AioContext *ctx, Coroutine *co) noexcept
{
    enter_frame f;
    coroutine *to = enter_start(ctx, co, &f);
    do {
        int action = backend_switch(f.self_, to, COROUTINE_ENTER, false);
        to = enter_resumed(&f, action);
    } while (to);
}

void enter_here(Coroutine *co) noexcept
{
    enter(support::current_context(), co);
}

void yield() noexcept
{
    switch_pair p = yield_start();
    backend_switch(p.from_, p.to_, COROUTINE_YIELD, false);
    // Resumed, possibly by another thread: nothing thread-local is reused.
}

int switch_to(Coroutine *from, Coroutine *to, int action) noexcept
{
    switch_start(of(to));
    return backend_switch(of(from), of(to), action, false);
}

#endif

Coroutine *self() noexcept
{
    return &running_in(this_thread())->c_;
}

// One call for the CoMutex fast path; opaque like this_thread().
__attribute__((noinline, noclone)) self_and_lock_slot self_with_lock_slot() noexcept
{
    thread_state *ts = read_thread_state();
    return {&running_in(ts)->c_, ts->lock_slot_};
}

void set_lock_slot(void *slot) noexcept
{
    this_thread()->lock_slot_ = slot;
}

bool in_coroutine() noexcept
{
    coroutine *cur = this_thread()->current_;
    return cur && cur->c_.caller;
}

void inc_pool_size(unsigned n) noexcept
{
    pool_max.fetch_add(n, std::memory_order_relaxed);
}

void dec_pool_size(unsigned n) noexcept
{
    unsigned old = pool_max.fetch_sub(n, std::memory_order_relaxed);
    QAIO_CHECK(old >= n, "qemu_coroutine_dec_pool_size(%u) with a pool size of %u: more removed "
               "than added", n, old);
}

// ---- coroutine_int.h ---------------------------------------------------------

Coroutine *make() noexcept
{
    coroutine *co = dormant_take();
    if (!co) {
        co = fresh();
    }
    std::memset(&co->c_, 0, sizeof(co->c_));
    return &co->c_;
}

void destroy(Coroutine *c) noexcept
{
    coroutine *co = of(c);
    if (!dormant_put(co)) {
        retire(co);
    }
}

} // namespace qaio::coroutine
