// SPDX-License-Identifier: MIT
// Timer lists, groups, the main loop's group, and the timer operations.
// A list's lock guards its heap, its sequence counters and its armed timers'
// `expire_time` and `next`, and is never held across a callback or notifier.
// `expire_time` is also read unlocked (timer_pending, device code), hence
// relaxed atomics.  A timer pass disarms one due timer, then unlocks and
// calls it, so the callback may re-arm, delete or free its timer.
#include "lib/timer/timer_list.hh"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <new>

#include "lib/support/fatal.hh"
#include "lib/timer/clock.hh"

namespace qaio::timer {

namespace {

using entry = QEMUTimerList::entry;

// Four children per slot: half a binary heap's depth, so fewer moves (each a
// store into the moved timer) for a few more compares within a cache line.
constexpr size_t parent(size_t i)
{
    return (i + 2) / 4;
}

constexpr size_t first_child(size_t i)
{
    return 4 * i - 2;
}

void store_expire(QEMUTimer *ts, int64_t v) noexcept
{
    std::atomic_ref<int64_t>(ts->expire_time).store(v, std::memory_order_relaxed);
}

int64_t load_expire(QEMUTimer *ts) noexcept
{
    return std::atomic_ref<int64_t>(ts->expire_time).load(std::memory_order_relaxed);
}

// One compare and one branch for the two-part key.
bool before(const entry &a, const entry &b) noexcept
{
    using u128 = unsigned __int128;
    return (u128(uint64_t(a.expire)) << 64 | a.seq) < (u128(uint64_t(b.expire)) << 64 | b.seq);
}

// Puts @e in slot @i of @h and records the slot in its timer.
[[gnu::always_inline]] inline void place(entry *h, size_t i, const entry &e) noexcept
{
    QEMUTimer *ts = e.timer;
    h[i] = e;
    ts->next = reinterpret_cast<QEMUTimer *>(static_cast<uintptr_t>(i));
}

// Moves the hole at @i up until @e fits there; returns @e's slot.
[[gnu::always_inline]] inline size_t sift_up(entry *h, size_t i, entry e) noexcept
{
    while (before(e, h[parent(i)])) {
        place(h, i, h[parent(i)]);
        i = parent(i);
    }
    place(h, i, e);
    return i;
}

// Moves the hole at @i down (among slots 1..@n) until @e fits there.
[[gnu::always_inline]] inline size_t sift_down(entry *h, size_t n, size_t i, entry e) noexcept
{
    for (size_t c; (c = first_child(i)) <= n; i = c) {
        for (size_t k = c + 1, last = std::min(c + 3, n); k <= last; k++) {
            c = before(h[k], h[c]) ? k : c;
        }
        if (!before(h[c], e)) {
            break;
        }
        place(h, i, h[c]);
    }
    place(h, i, e);
    return i;
}

// Fills the hole at @i with @e, whichever way it has to move.
[[gnu::always_inline]] inline size_t refill(QEMUTimerList &tl, size_t i, entry e) noexcept
{
    entry *h = tl.heap_;
    return before(e, h[parent(i)]) ? sift_up(h, i, e) : sift_down(h, tl.count_, i, e);
}

// An armed timer's slot; a mismatch means its memory was reused while armed.
[[gnu::always_inline]] inline size_t slot_of(QEMUTimerList &tl, QEMUTimer *ts) noexcept
{
    size_t i = static_cast<size_t>(reinterpret_cast<uintptr_t>(ts->next));
    QAIO_CHECK(i - 1 < tl.count_ && tl.heap_[i].timer == ts,
               "timer %p claims to be armed on list %p but is not in its heap "
               "(freed, moved or overwritten while armed?)", (void *)ts, (void *)&tl);
    return i;
}

void publish_head(QEMUTimerList &tl) noexcept
{
    tl.head_expire_.store(tl.count_ ? tl.heap_[1].expire : -1, std::memory_order_release);
}

void grow(QEMUTimerList &tl) noexcept
{
    tl.capacity_ = tl.capacity_ ? 2 * tl.capacity_ : 15;
    tl.heap_ = static_cast<entry *>(std::realloc(tl.heap_, (tl.capacity_ + 1) * sizeof(entry)));
    QAIO_CHECK(tl.heap_, "out of memory growing timer list %p", (void *)&tl);
    tl.heap_[0] = entry{};
}

// Appends unarmed @e.timer; true if it is now the head.
[[gnu::always_inline]] inline bool append_locked(QEMUTimerList &tl, const entry &e) noexcept
{
    size_t i = sift_up(tl.heap_, ++tl.count_, e);
    store_expire(e.timer, e.expire);
    if (i == 1) {
        publish_head(tl);
    }
    return i == 1;
}

// Arms @ts at @expire_ns (negative: 0, but ahead of every timer due at 0, as
// in QEMU), unless @only_sooner and it is armed sooner; notifies a new head.
[[gnu::noinline]] void arm_slow(QEMUTimer *ts, int64_t expire_ns, bool only_sooner) noexcept
{
    QEMUTimerList *tl = ts->timer_list;
    QAIO_CHECK(tl, "timer %p (cb %p) armed without a timer list "
               "(not initialized, or deinitialized)", (void *)ts, (void *)ts->cb);
    bool biased = tl->lock_.lock();
    int64_t cur = load_expire(ts);
    bool head = false;
    if (!only_sooner || cur == -1 || cur > expire_ns) {
        entry e = expire_ns < 0 ? entry{tl->prior_seq_--, 0, ts} : entry{tl->next_seq_++, expire_ns, ts};
        if (cur == -1) {
            if (tl->count_ == tl->capacity_) {
                grow(*tl);
            }
            head = append_locked(*tl, e);
        } else {
            size_t from = slot_of(*tl, ts);
            size_t i = refill(*tl, from, e);
            store_expire(ts, e.expire);
            // The head's expiry changes only if this timer is or was the head.
            if (i == 1 || from == 1) {
                publish_head(*tl);
            }
            head = i == 1;
        }
    }
    tl->lock_.unlock(biased);
    if (head) {
        list_notify(tl);
    }
}

// The end of disarm_and_unlock when the slot @i it emptied was not the last.
[[gnu::noinline]] void refill_and_unlock(QEMUTimerList &tl, size_t i, bool biased) noexcept
{
    refill(tl, i, tl.heap_[tl.count_ + 1]);
    if (i == 1) {
        publish_head(tl);
    }
    tl.lock_.unlock(biased);
}

// Disarms @ts unless another thread did, then unlocks; makes no stack frame.
[[gnu::always_inline]] inline void disarm_and_unlock(QEMUTimerList &tl, QEMUTimer *ts, bool biased) noexcept
{
    if (load_expire(ts) != -1) {
        size_t i = slot_of(tl, ts);
        store_expire(ts, -1);
        if (i != tl.count_--) {
            return refill_and_unlock(tl, i, biased);
        }
        if (i == 1) {
            publish_head(tl);
        }
    }
    tl.lock_.unlock(biased);
}

[[gnu::noinline]] void disarm_slow(QEMUTimerList &tl, QEMUTimer *ts) noexcept
{
    disarm_and_unlock(tl, ts, tl.lock_.lock());
}

// The earliest timer at or below slot @i with attributes within @mask; a
// subtree whose root is not earlier than @best cannot hold an earlier one.
void search_matching(const QEMUTimerList &tl, size_t i, unsigned mask, int64_t &best) noexcept
{
    if (i > tl.count_ || (best >= 0 && tl.heap_[i].expire >= best)) {
        return;
    }
    if ((static_cast<unsigned>(tl.heap_[i].timer->attributes) & ~mask) == 0) {
        best = tl.heap_[i].expire;
        return;
    }
    for (size_t c = first_child(i); c < first_child(i) + 4; c++) {
        search_matching(tl, c, mask, best);
    }
}

int64_t saturating_scale(int64_t value, int scale) noexcept
{
    int64_t r;
    if (__builtin_mul_overflow(value, int64_t(scale), &r)) {
        return (value < 0) == (scale < 0) ? INT64_MAX : INT64_MIN;
    }
    return r;
}

std::once_flag main_lists_created;
std::atomic<bool> init_clocks_done{false};
std::atomic<main_loop_waker *> waker{nullptr};

} // namespace

void set_main_loop_waker(main_loop_waker *w) noexcept
{
    waker.store(w, std::memory_order_release);
}

QEMUTimerList *list_new(QEMUClockType type, QEMUTimerListNotifyCB *cb, void *opaque) noexcept
{
    QAIO_CHECK(unsigned(type) < QEMU_CLOCK_MAX, "invalid clock type %d", int(type));
    auto *tl = new (std::nothrow) QEMUTimerList;
    QAIO_CHECK(tl, "out of memory allocating a timer list");
    tl->type_ = type;
    tl->notify_opaque_ = opaque;
    tl->notify_cb_.store(cb, std::memory_order_relaxed);
    grow(*tl);
    clock_register_list(tl, true);
    return tl;
}

void list_free(QEMUTimerList *tl) noexcept
{
    if (!tl) {
        return;
    }
    // Unlocked: locking from another thread than its user would revoke its bias.
    QAIO_CHECK(tl->count_ == 0, "timer list %p (clock %d) freed with %zu armed timers "
               "(earliest: cb %p)", (void *)tl, int(tl->type_), tl->count_,
               (void *)tl->heap_[1].timer->cb);
    clock_register_list(tl, false);
    std::free(tl->heap_);
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
    return std::max<int64_t>(head - clock_now_ns(tl->type_), 0);
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
    } else if (main_loop_waker *w = waker.load(std::memory_order_acquire)) {
        w();  // none before the main loop exists, as in QEMU
    }
}

int64_t list_earliest_matching(QEMUTimerList *tl, int attr_mask) noexcept
{
    int64_t best = -1;
    bool biased = tl->lock_.lock();
    search_matching(*tl, 1, static_cast<unsigned>(attr_mask), best);
    tl->lock_.unlock(biased);
    return best;
}

bool list_run(QEMUTimerList *tl) noexcept
{
    // Lock-free exit for the common case: nothing armed, or nothing due.
    int64_t head = tl->head_expire_.load(std::memory_order_acquire);
    if (head < 0 || !clock_enabled(tl->type_)) {
        return false;
    }
    // One clock reading per pass, so that a callback re-arming itself ends it.
    int64_t now = clock_now_ns(tl->type_);
    if (head > now || !pass_begin(tl->type_)) {
        return false;
    }
    bool progress = false;
    bool biased = tl->lock_.lock();
    while (tl->count_ && tl->heap_[1].expire <= now) {
        QEMUTimer *ts = tl->heap_[1].timer;
        // Read under the lock: once it is dropped the callback owns the timer.
        QEMUTimerCB *cb = ts->cb;
        void *opaque = ts->opaque;
        disarm_and_unlock(*tl, ts, biased);
        cb(opaque);
        progress = true;
        biased = tl->lock_.lock();
    }
    tl->lock_.unlock(biased);
    pass_end(tl->type_);
    return progress;
}

void group_init(QEMUTimerListGroup *tlg, QEMUTimerListNotifyCB *cb, void *opaque) noexcept
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
    std::call_once(main_lists_created, [main_tlg] { group_init(main_tlg, nullptr, nullptr); });
    QAIO_CHECK(unsigned(type) < QEMU_CLOCK_MAX, "invalid clock type %d", int(type));
    return main_tlg->tl[type];
}

// Every clock counts: clock_use_for_deadline is always true in qaio.
bool main_run_all(QEMUTimerListGroup *main_tlg) noexcept
{
    main_list(main_tlg, QEMU_CLOCK_REALTIME);
    return group_run(main_tlg);
}

void init_main_lists(QEMUTimerListGroup *main_tlg, QEMUTimerListNotifyCB *cb) noexcept
{
    QAIO_CHECK(!init_clocks_done.exchange(true), "init_clocks called more than once");
    // Lists created on first use stay, with their armed timers.
    main_list(main_tlg, QEMU_CLOCK_REALTIME);
    for (int t = 0; t < QEMU_CLOCK_MAX; t++) {
        main_tlg->tl[t]->notify_cb_.store(cb, std::memory_order_release);
    }
    set_timer_slack();
}

void timer_setup(QEMUTimer *ts, QEMUTimerList *tl, int scale, int attributes,
                 QEMUTimerCB *cb, void *opaque) noexcept
{
    *ts = QEMUTimer{.expire_time = -1, .timer_list = tl, .cb = cb, .opaque = opaque,
                    .next = nullptr, .attributes = attributes, .scale = scale};
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
    // Unarmed: no lock; an arming in another thread may come before or after.
    if (!tl || load_expire(ts) == -1) {
        return;
    }
    if (tl->lock_.try_lock_biased()) {
        return disarm_and_unlock(*tl, ts, true);
    }
    disarm_slow(*tl, ts);
}

// arm_slow, with the common case (bias held, @ts unarmed, a time >= 0, room)
// inline: it calls only the notifier, so it needs no stack frame.
void timer_arm_ns(QEMUTimer *ts, int64_t expire_ns, bool only_sooner) noexcept
{
    QEMUTimerList *tl = ts->timer_list;
    if (tl && tl->lock_.try_lock_biased()) {
        if (expire_ns >= 0 && load_expire(ts) == -1 && tl->count_ < tl->capacity_) {
            bool head = append_locked(*tl, entry{tl->next_seq_++, expire_ns, ts});
            tl->lock_.unlock(true);
            if (head) {
                list_notify(tl);
            }
            return;
        }
        tl->lock_.unlock(true);
    }
    arm_slow(ts, expire_ns, only_sooner);
}

void timer_arm(QEMUTimer *ts, int64_t expire, bool only_sooner) noexcept
{
    timer_arm_ns(ts, saturating_scale(expire, ts->scale), only_sooner);
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
