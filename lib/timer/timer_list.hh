// SPDX-License-Identifier: MIT
// Timer lists and groups.  A list belongs to one clock and keeps its armed
// timers in a 4-ary min-heap ordered by (expire_time, arming sequence):
// arming and disarming cost O(log n), the earliest deadline O(1).  A
// QEMUTimer's `next` field holds its heap slot while armed (QEMU's ABI fixes
// the struct, so the slot lives in an existing field).  Arm and disarm are
// thread-safe; callbacks run without the list lock, which is biased to the
// one thread that uses the list (list_lock.hh).
#pragma once

#include <atomic>
#include <cstdint>

#include "qemu/queue.h"
#include "qemu/timer.h"

#include "lib/timer/list_lock.hh"

// The C type is opaque to callers, so the C++ object is the struct itself.
struct QEMUTimerList {
    // One heap slot; the key is copied out of the timer so that sifting
    // compares contiguous memory.  seq and expire, read as one 128-bit
    // number, are the key (expire is never negative once armed).
    struct entry {
        uint64_t seq;
        int64_t expire;
        QEMUTimer *timer;
    };

    QEMUClockType type_;
    void *notify_opaque_;
    // Atomic: init_clocks may install the main loop's notifier while the
    // lazily created main-loop lists are in use.
    std::atomic<QEMUTimerListNotifyCB *> notify_cb_;
    // Expiry of the heap's head, -1 when empty: has_timers, expired and
    // deadline read it without the lock (the poller asks every iteration).
    std::atomic<int64_t> head_expire_{-1};

    qaio::timer::list_lock lock_;
    // Guarded by lock_.  Slots 1..count_; slot 0 is a sentinel whose key is
    // below every timer's, so that sifting up needs no bound check.
    entry *heap_;
    size_t count_ = 0;
    size_t capacity_ = 0;
    // Arming sequence: counts up from 2^63; an arming at a negative time
    // takes the lower counter, which counts down, so that it goes before
    // every timer already due at 0, as in QEMU.
    uint64_t next_seq_ = uint64_t{1} << 63;
    uint64_t prior_seq_ = (uint64_t{1} << 63) - 1;

    // Link in the clock's registry, guarded by the registry lock.
    QLIST_ENTRY(QEMUTimerList) clock_link_{};
};

namespace qaio::timer {

QEMUTimerList *list_new(QEMUClockType type, QEMUTimerListNotifyCB *cb,
                        void *opaque) noexcept;
void list_free(QEMUTimerList *tl) noexcept;
bool list_has_timers(QEMUTimerList *tl) noexcept;
bool list_expired(QEMUTimerList *tl) noexcept;
int64_t list_deadline_ns(QEMUTimerList *tl) noexcept;
QEMUClockType list_clock(QEMUTimerList *tl) noexcept;
bool list_run(QEMUTimerList *tl) noexcept;
void list_notify(QEMUTimerList *tl) noexcept;
// Expiry (absolute ns) of the earliest timer whose attributes are a subset
// of attr_mask, or -1 if none.
int64_t list_earliest_matching(QEMUTimerList *tl, int attr_mask) noexcept;

// The notifier of lists created with a NULL callback: wakes the main loop
// through the waker the main loop installs (qemu_notify_event).
void default_list_notify(void *opaque, QEMUClockType type) noexcept;
using main_loop_waker = void() noexcept;
void set_main_loop_waker(main_loop_waker *w) noexcept;

void group_init(QEMUTimerListGroup *tlg, QEMUTimerListNotifyCB *cb,
                void *opaque) noexcept;
void group_deinit(QEMUTimerListGroup *tlg) noexcept;
bool group_run(QEMUTimerListGroup *tlg) noexcept;
int64_t group_deadline_ns(QEMUTimerListGroup *tlg) noexcept;

// The main loop's group (QEMU's main_loop_tlg, owned by cabi/).  Its lists
// are created on first use, so timers work before or without init_clocks;
// main_list returns the list of @type, creating the group if needed.
QEMUTimerList *main_list(QEMUTimerListGroup *main_tlg, QEMUClockType type) noexcept;
// qemu_clock_run_all_timers: runs the main loop's lists of every clock
// usable for deadlines.
bool main_run_all(QEMUTimerListGroup *main_tlg) noexcept;
// init_clocks: creates the group unless it exists, installs @cb as the
// notifier of its lists, shrinks the timer slack; a second call is fatal.
void init_main_lists(QEMUTimerListGroup *main_tlg, QEMUTimerListNotifyCB *cb) noexcept;

// Timers.  @tl may be null only for timers that are never armed.
void timer_setup(QEMUTimer *ts, QEMUTimerList *tl, int scale, int attributes,
                 QEMUTimerCB *cb, void *opaque) noexcept;
void timer_teardown(QEMUTimer *ts) noexcept;
void timer_disarm(QEMUTimer *ts) noexcept;
void timer_arm_ns(QEMUTimer *ts, int64_t expire_ns) noexcept;
void timer_anticipate_ns(QEMUTimer *ts, int64_t expire_ns) noexcept;
// Scaled forms: expire * ts->scale, saturating instead of wrapping.
void timer_arm(QEMUTimer *ts, int64_t expire) noexcept;
void timer_anticipate(QEMUTimer *ts, int64_t expire) noexcept;
bool timer_is_pending(QEMUTimer *ts) noexcept;
bool timer_has_expired(QEMUTimer *ts, int64_t current_time) noexcept;
uint64_t timer_expiry_ns(QEMUTimer *ts) noexcept;

} // namespace qaio::timer
