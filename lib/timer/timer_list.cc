// SPDX-License-Identifier: MIT
// Timer lists, timer list groups, the main loop's group, and the timer
// operations themselves (see timer_list.hh for the heap layout).
//
// Locking.  A list's lock (biased, list_lock.hh) guards its heap, its sequence counter, and the
// `expire_time` and `next` fields of the timers armed on it; critical
// sections are one heap operation, never a callback or a notifier.
// `expire_time` is also read without the lock (timer_pending, callers'
// device code), so it is written through relaxed atomics; head_expire_
// mirrors the head's expiry for lock-free deadline queries.  A timer pass
// pops one due timer at a time, marks it unarmed (-1) and only then drops the
// lock and calls it, so the callback may re-arm, delete or free its timer.
#include "lib/timer/timer_list.hh"

#include <mutex>
#include <new>

#include "lib/support/fatal.hh"
#include "lib/timer/clock.hh"

namespace qaio::timer {

namespace {

using entry = QEMUTimerList::entry;

void store_expire(QEMUTimer *ts, int64_t v) noexcept
{
    std::atomic_ref<int64_t>(ts->expire_time).store(v, std::memory_order_relaxed);
}

int64_t load_expire(QEMUTimer *ts) noexcept
{
    return std::atomic_ref<int64_t>(ts->expire_time).load(std::memory_order_relaxed);
}

bool before(const entry &a, const entry &b) noexcept
{
    return a.expire < b.expire || (a.expire == b.expire && a.seq < b.seq);
}

// Records slot @i of the heap at @h in its timer.
inline void note_slot(entry *h, size_t i) noexcept
{
    h[i].timer->next = reinterpret_cast<QEMUTimer *>(static_cast<uintptr_t>(i));
}

// The sifts work on the array itself, so that the stores into timers
// (note_slot) do not make the compiler reload the vector's pointers.
void sift_up(QEMUTimerList &tl, size_t i) noexcept
{
    entry *h = tl.heap_.data();
    entry e = h[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(e, h[parent])) {
            break;
        }
        h[i] = h[parent];
        note_slot(h, i);
        i = parent;
    }
    h[i] = e;
    note_slot(h, i);
}

void sift_down(QEMUTimerList &tl, size_t i) noexcept
{
    entry *h = tl.heap_.data();
    size_t n = tl.heap_.size();
    entry e = h[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n) {
            break;
        }
        if (child + 1 < n && before(h[child + 1], h[child])) {
            child++;
        }
        if (!before(h[child], e)) {
            break;
        }
        h[i] = h[child];
        note_slot(h, i);
        i = child;
    }
    h[i] = e;
    note_slot(h, i);
}

// Moves slot @i up or down after its key changed.
void fix(QEMUTimerList &tl, size_t i) noexcept
{
    if (i > 0 && before(tl.heap_[i], tl.heap_[(i - 1) / 2])) {
        sift_up(tl, i);
    } else {
        sift_down(tl, i);
    }
}

// The heap slot of an armed timer; a mismatch means the timer's memory was
// reused or overwritten while armed, which would corrupt the heap.
size_t slot_of(QEMUTimerList &tl, QEMUTimer *ts) noexcept
{
    size_t i = static_cast<size_t>(reinterpret_cast<uintptr_t>(ts->next));
    QAIO_CHECK(i < tl.heap_.size() && tl.heap_[i].timer == ts,
               "timer %p claims to be armed on list %p but is not in its heap "
               "(freed, moved or overwritten while armed?)", (void *)ts, (void *)&tl);
    return i;
}

void remove_at(QEMUTimerList &tl, size_t i) noexcept
{
    // A pointer rather than size(): no division by the entry size.
    entry *slot = tl.heap_.data() + i;
    entry last = tl.heap_.back();
    tl.heap_.pop_back();
    if (slot != tl.heap_.data() + tl.heap_.size()) {
        *slot = last;
        fix(tl, i);
    }
}

void publish_head(QEMUTimerList &tl) noexcept
{
    tl.head_expire_.store(tl.heap_.empty() ? -1 : tl.heap_[0].expire,
                          std::memory_order_release);
}

// Arms or moves @ts to @expire (already clamped); true if it is now the head.
bool arm_locked(QEMUTimerList &tl, QEMUTimer *ts, int64_t expire) noexcept
{
    entry e{expire, tl.next_seq_++, ts};
    size_t i;
    if (load_expire(ts) != -1) {
        i = slot_of(tl, ts);
        tl.heap_[i] = e;
        store_expire(ts, expire);
        fix(tl, i);
    } else {
        i = tl.heap_.size();
        tl.heap_.push_back(e);
        store_expire(ts, expire);
        sift_up(tl, i);
    }
    // The head's expiry changes only if this timer is or was the head.
    bool head = tl.heap_[0].timer == ts;
    if (head || i == 0) {
        publish_head(tl);
    }
    return head;
}

QEMUTimerList *list_of(QEMUTimer *ts) noexcept
{
    QEMUTimerList *tl = ts->timer_list;
    QAIO_CHECK(tl, "timer %p (cb %p) armed without a timer list "
               "(not initialized, or deinitialized)", (void *)ts, (void *)ts->cb);
    return tl;
}

// Arms @ts at @expire_ns (negative: 0); with @only_sooner, only if it is
// unarmed or armed later.  Notifies the list when @ts became its head.
inline void arm(QEMUTimer *ts, int64_t expire_ns, bool only_sooner) noexcept
{
    QEMUTimerList *tl = list_of(ts);
    bool head = false;
    {
        std::lock_guard<list_lock> g(tl->lock_);
        int64_t cur = only_sooner ? load_expire(ts) : -1;
        if (cur == -1 || cur > expire_ns) {
            head = arm_locked(*tl, ts, expire_ns < 0 ? 0 : expire_ns);
        }
    }
    if (head) {
        list_notify(tl);
    }
}

// Finds the earliest timer at or below slot @i whose attributes fit @mask;
// a subtree whose root is not earlier than the best so far is skipped,
// because a heap's descendants are never earlier than their ancestor.
void search_matching(const QEMUTimerList &tl, size_t i, unsigned mask,
                     int64_t &best) noexcept
{
    if (i >= tl.heap_.size()) {
        return;
    }
    const entry &e = tl.heap_[i];
    if (best >= 0 && e.expire >= best) {
        return;
    }
    if ((static_cast<unsigned>(e.timer->attributes) & ~mask) == 0) {
        best = e.expire;
        return;
    }
    search_matching(tl, 2 * i + 1, mask, best);
    search_matching(tl, 2 * i + 2, mask, best);
}

int64_t saturating_scale(int64_t value, int scale) noexcept
{
    int64_t r;
    if (__builtin_mul_overflow(value, int64_t(scale), &r)) {
        return (value < 0) == (scale < 0) ? INT64_MAX : INT64_MIN;
    }
    return r;
}

std::atomic<bool> main_ready{false};
std::mutex main_lock;
bool init_clocks_done = false;  // guarded by main_lock

void create_main_lists_locked(QEMUTimerListGroup *tlg) noexcept
{
    if (!main_ready.load(std::memory_order_relaxed)) {
        group_init(tlg, nullptr, nullptr);
        main_ready.store(true, std::memory_order_release);
    }
}

} // namespace

// ---- lists ------------------------------------------------------------------

namespace {
std::atomic<main_loop_waker *> waker{nullptr};
}

void set_main_loop_waker(main_loop_waker *w) noexcept
{
    waker.store(w, std::memory_order_release);
}

void default_list_notify(void *, QEMUClockType) noexcept
{
    // Before the main loop exists there is nobody to wake (as QEMU's
    // qemu_notify_event before qemu_init_main_loop).
    if (main_loop_waker *w = waker.load(std::memory_order_acquire)) {
        w();
    }
}

QEMUTimerList *list_new(QEMUClockType type, QEMUTimerListNotifyCB *cb,
                        void *opaque) noexcept
{
    QAIO_CHECK(unsigned(type) < QEMU_CLOCK_MAX, "invalid clock type %d", int(type));
    auto *tl = new (std::nothrow) QEMUTimerList;
    QAIO_CHECK(tl, "out of memory allocating a timer list");
    tl->type_ = type;
    tl->notify_opaque_ = opaque;
    tl->notify_cb_.store(cb, std::memory_order_relaxed);
    clock_register_list(tl);
    return tl;
}

void list_free(QEMUTimerList *tl) noexcept
{
    if (!tl) {
        return;
    }
    // Unlocked: nobody may use a list being freed, and locking it from
    // another thread than its user would revoke its bias for nothing.
    QAIO_CHECK(tl->heap_.empty(),
               "timer list %p (clock %d) freed with %zu armed timers "
               "(earliest: timer %p, cb %p)", (void *)tl, int(tl->type_),
               tl->heap_.size(), (void *)tl->heap_[0].timer,
               (void *)tl->heap_[0].timer->cb);
    clock_unregister_list(tl);
    delete tl;
}

bool list_has_timers(QEMUTimerList *tl) noexcept
{
    return tl->head_expire_.load(std::memory_order_acquire) >= 0;
}

bool list_expired(QEMUTimerList *tl) noexcept
{
    int64_t head = tl->head_expire_.load(std::memory_order_acquire);
    return head >= 0 && head <= clock_now_ns(tl->type_);
}

int64_t list_deadline_ns(QEMUTimerList *tl) noexcept
{
    int64_t head = tl->head_expire_.load(std::memory_order_acquire);
    if (head < 0 || !clock_enabled(tl->type_)) {
        return -1;
    }
    int64_t delta = head - clock_now_ns(tl->type_);
    return delta > 0 ? delta : 0;
}

QEMUClockType list_clock(QEMUTimerList *tl) noexcept
{
    return tl->type_;
}

void list_notify(QEMUTimerList *tl) noexcept
{
    QEMUTimerListNotifyCB *cb = tl->notify_cb_.load(std::memory_order_acquire);
    if (cb) {
        cb(tl->notify_opaque_, tl->type_);
    } else {
        default_list_notify(tl->notify_opaque_, tl->type_);
    }
}

int64_t list_earliest_matching(QEMUTimerList *tl, int attr_mask) noexcept
{
    int64_t best = -1;
    std::lock_guard<list_lock> g(tl->lock_);
    search_matching(*tl, 0, static_cast<unsigned>(attr_mask), best);
    return best;
}

bool list_run(QEMUTimerList *tl) noexcept
{
    // Lock-free exit for the common case: nothing armed, or nothing due.
    int64_t head = tl->head_expire_.load(std::memory_order_acquire);
    if (head < 0 || !clock_enabled(tl->type_)) {
        return false;
    }
    // One clock reading per pass: a callback that re-arms its timer in the
    // future cannot make the pass loop forever.
    int64_t now = clock_now_ns(tl->type_);
    if (head > now || !pass_begin(tl->type_)) {
        return false;
    }
    bool progress = false;
    std::unique_lock<list_lock> lk(tl->lock_);
    while (!tl->heap_.empty() && tl->heap_[0].expire <= now) {
        QEMUTimer *ts = tl->heap_[0].timer;
        remove_at(*tl, 0);
        store_expire(ts, -1);
        publish_head(*tl);
        // Read under the lock: once it is dropped the callback owns the timer.
        QEMUTimerCB *cb = ts->cb;
        void *opaque = ts->opaque;
        lk.unlock();
        cb(opaque);
        progress = true;
        lk.lock();
    }
    lk.unlock();
    pass_end(tl->type_);
    return progress;
}

// ---- groups -----------------------------------------------------------------

void group_init(QEMUTimerListGroup *tlg, QEMUTimerListNotifyCB *cb,
                void *opaque) noexcept
{
    for (int t = 0; t < QEMU_CLOCK_MAX; t++) {
        tlg->tl[t] = list_new(QEMUClockType(t), cb, opaque);
    }
}

void group_deinit(QEMUTimerListGroup *tlg) noexcept
{
    for (int t = 0; t < QEMU_CLOCK_MAX; t++) {
        list_free(tlg->tl[t]);
        tlg->tl[t] = nullptr;
    }
}

bool group_run(QEMUTimerListGroup *tlg) noexcept
{
    bool progress = false;
    for (int t = 0; t < QEMU_CLOCK_MAX; t++) {
        progress |= list_run(tlg->tl[t]);
    }
    return progress;
}

int64_t group_deadline_ns(QEMUTimerListGroup *tlg) noexcept
{
    int64_t soonest = -1;
    for (int t = 0; t < QEMU_CLOCK_MAX; t++) {
        if (!clock_use_for_deadline(QEMUClockType(t))) {
            continue;
        }
        int64_t d = list_deadline_ns(tlg->tl[t]);
        // -1 means "none": as unsigned it is the largest value.
        if (uint64_t(d) < uint64_t(soonest)) {
            soonest = d;
        }
    }
    return soonest;
}

QEMUTimerList *main_list(QEMUTimerListGroup *main_tlg, QEMUClockType type) noexcept
{
    if (!main_ready.load(std::memory_order_acquire)) {
        std::lock_guard<std::mutex> g(main_lock);
        create_main_lists_locked(main_tlg);
    }
    QAIO_CHECK(unsigned(type) < QEMU_CLOCK_MAX, "invalid clock type %d", int(type));
    return main_tlg->tl[type];
}

bool main_run_all(QEMUTimerListGroup *main_tlg) noexcept
{
    bool progress = false;
    for (int t = 0; t < QEMU_CLOCK_MAX; t++) {
        if (clock_use_for_deadline(QEMUClockType(t))) {
            progress |= list_run(main_list(main_tlg, QEMUClockType(t)));
        }
    }
    return progress;
}

void init_main_lists(QEMUTimerListGroup *main_tlg, QEMUTimerListNotifyCB *cb) noexcept
{
    {
        std::lock_guard<std::mutex> g(main_lock);
        QAIO_CHECK(!init_clocks_done, "init_clocks called more than once");
        init_clocks_done = true;
        // The lists may already exist (created on first use); keep them and
        // the timers armed on them, and give them the main loop's notifier.
        create_main_lists_locked(main_tlg);
        for (int t = 0; t < QEMU_CLOCK_MAX; t++) {
            main_tlg->tl[t]->notify_cb_.store(cb, std::memory_order_release);
        }
    }
    set_timer_slack();
}

// ---- timers -----------------------------------------------------------------

void timer_setup(QEMUTimer *ts, QEMUTimerList *tl, int scale, int attributes,
                 QEMUTimerCB *cb, void *opaque) noexcept
{
    ts->expire_time = -1;
    ts->timer_list = tl;
    ts->cb = cb;
    ts->opaque = opaque;
    ts->next = nullptr;
    ts->attributes = attributes;
    ts->scale = scale;
}

void timer_teardown(QEMUTimer *ts) noexcept
{
    QAIO_CHECK(!timer_is_pending(ts), "timer %p (cb %p) deinitialized while armed",
               (void *)ts, (void *)ts->cb);
    ts->timer_list = nullptr;
}

void timer_disarm(QEMUTimer *ts) noexcept
{
    QEMUTimerList *tl = ts->timer_list;
    // An unarmed timer needs no lock: arming it concurrently with this call
    // may be ordered either way, and either order is a valid outcome.
    if (!tl || load_expire(ts) == -1) {
        return;
    }
    std::lock_guard<list_lock> g(tl->lock_);
    if (load_expire(ts) != -1) {
        size_t i = slot_of(*tl, ts);
        remove_at(*tl, i);
        store_expire(ts, -1);
        if (i == 0) {
            publish_head(*tl);
        }
    }
}

void timer_arm_ns(QEMUTimer *ts, int64_t expire_ns) noexcept
{
    arm(ts, expire_ns, false);
}

void timer_anticipate_ns(QEMUTimer *ts, int64_t expire_ns) noexcept
{
    arm(ts, expire_ns, true);
}

void timer_arm(QEMUTimer *ts, int64_t expire) noexcept
{
    timer_arm_ns(ts, saturating_scale(expire, ts->scale));
}

void timer_anticipate(QEMUTimer *ts, int64_t expire) noexcept
{
    timer_anticipate_ns(ts, saturating_scale(expire, ts->scale));
}

bool timer_is_pending(QEMUTimer *ts) noexcept
{
    return load_expire(ts) != -1;
}

bool timer_has_expired(QEMUTimer *ts, int64_t current_time) noexcept
{
    // An unarmed timer (-1) counts as expired, as in QEMU.
    return ts && load_expire(ts) <= saturating_scale(current_time, ts->scale);
}

uint64_t timer_expiry_ns(QEMUTimer *ts) noexcept
{
    int64_t e = load_expire(ts);
    return e == -1 ? UINT64_MAX : uint64_t(e);
}

} // namespace qaio::timer
