// SPDX-License-Identifier: MIT
// Timer lists and groups.  A list keeps the armed timers of one clock in a
// 4-ary min-heap ordered by (expire_time, arming sequence): O(log n) arming
// and disarming, O(1) earliest deadline.  An armed QEMUTimer's `next` holds
// its heap slot (QEMU's ABI fixes the struct).  Arm and disarm are
// thread-safe; the list lock is biased to its one user (list_lock.hh).
#pragma once

#include <atomic>
#include <cstdint>

#include "qemu/queue.h"
#include "qemu/timer.h"

#include "lib/timer/list_lock.hh"

// The C type is opaque to callers, so the C++ object is the struct itself.
struct QEMUTimerList {
    // A heap slot: the key (seq, then expire as the high half of one 128-bit
    // number; never negative once armed) copied out of the timer.
    struct entry {
        uint64_t seq;
        int64_t expire;
        QEMUTimer *timer;
    };

    QEMUClockType type_;
    void *notify_opaque_;
    // Atomic: init_clocks may set it on main-loop lists already in use.
    std::atomic<QEMUTimerListNotifyCB *> notify_cb_;
    // The head's expiry, -1 when empty, for lock-free deadline queries.
    std::atomic<int64_t> head_expire_{-1};

    qaio::timer::list_lock lock_;
    // Guarded by lock_.  Slots 1..count_; slot 0 is a sentinel below every
    // key, so that sifting up needs no bound check.
    entry *heap_ = nullptr;
    size_t count_ = 0;
    size_t capacity_ = 0;
    // Arming sequence.  One at a negative time counts down from below the
    // others, so that it goes ahead of every timer at 0, as in QEMU.
    uint64_t next_seq_ = uint64_t{1} << 63;
    uint64_t prior_seq_ = (uint64_t{1} << 63) - 1;

    // Link in the clock's registry, guarded by the registry lock.
    QLIST_ENTRY(QEMUTimerList) clock_link_{};
};

namespace qaio::timer {

QEMUTimerList *list_new(QEMUClockType type, QEMUTimerListNotifyCB *cb, void *opaque) noexcept;
void list_free(QEMUTimerList *tl) noexcept;
bool list_has_timers(QEMUTimerList *tl) noexcept;
bool list_expired(QEMUTimerList *tl) noexcept;
int64_t list_deadline_ns(QEMUTimerList *tl) noexcept;
QEMUClockType list_clock(QEMUTimerList *tl) noexcept;
bool list_run(QEMUTimerList *tl) noexcept;
void list_notify(QEMUTimerList *tl) noexcept;
// Expiry of the earliest timer with attributes within attr_mask, or -1.
int64_t list_earliest_matching(QEMUTimerList *tl, int attr_mask) noexcept;

// How lists without a notifier wake the main loop (qemu_notify_event).
using main_loop_waker = void() noexcept;
void set_main_loop_waker(main_loop_waker *w) noexcept;

void group_init(QEMUTimerListGroup *tlg, QEMUTimerListNotifyCB *cb, void *opaque) noexcept;
void group_deinit(QEMUTimerListGroup *tlg) noexcept;
bool group_run(QEMUTimerListGroup *tlg) noexcept;
int64_t group_deadline_ns(QEMUTimerListGroup *tlg) noexcept;

// The main loop's group (QEMU's main_loop_tlg, in cabi/): created on first
// use, so that timers work before or without init_clocks.
QEMUTimerList *main_list(QEMUTimerListGroup *main_tlg, QEMUClockType type) noexcept;
// qemu_clock_run_all_timers.
bool main_run_all(QEMUTimerListGroup *main_tlg) noexcept;
// init_clocks: @cb notifies the group's lists; a second call is fatal.
void init_main_lists(QEMUTimerListGroup *main_tlg, QEMUTimerListNotifyCB *cb) noexcept;

// Timers.  @tl may be null only for timers that are never armed.
void timer_setup(QEMUTimer *ts, QEMUTimerList *tl, int scale, int attributes,
                 QEMUTimerCB *cb, void *opaque) noexcept;
void timer_teardown(QEMUTimer *ts) noexcept;
void timer_disarm(QEMUTimer *ts) noexcept;
// With @only_sooner (timer_mod_anticipate), only if @ts is unarmed or later.
void timer_arm_ns(QEMUTimer *ts, int64_t expire_ns, bool only_sooner = false) noexcept;
// In @ts's scale: expire * ts->scale, saturating instead of wrapping.
void timer_arm(QEMUTimer *ts, int64_t expire, bool only_sooner = false) noexcept;
bool timer_is_pending(QEMUTimer *ts) noexcept;
bool timer_has_expired(QEMUTimer *ts, int64_t current_time) noexcept;
uint64_t timer_expiry_ns(QEMUTimer *ts) noexcept;

} // namespace qaio::timer
