// SPDX-License-Identifier: MIT
// Clocks: time sources, the enabled flag, the per-clock registry of timer
// lists, and the wait that makes qemu_clock_enable(false) safe.
//
// Disabling.  A timer pass increments its clock's pass counter, then reads
// the enabled flag; the disabler clears the flag, then waits for the counter
// to be zero.  Both sequentially consistent: the pass sees the clock disabled
// or the disabler sees the pass.  The counter is per clock, so the wait holds
// no registry lock and a running callback may create or free timer lists.
#include "lib/support/futex.hh"
#include "lib/support/static_mutex.hh"
#include "lib/timer/clock.hh"

#include <algorithm>
#include <climits>
#include <ctime>
#include <mutex>
#include <sys/time.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "lib/support/fatal.hh"
#include "lib/timer/timer_list.hh"

// From QEMU (softmmu or its stubs), or lib/mainloop/clock_hooks.cc alone.
extern "C" int64_t cpus_get_virtual_clock(void);
extern "C" int64_t cpu_get_clock(void);

namespace qaio::timer {

namespace {

struct clock_state {
    std::atomic<bool> enabled_;
    std::atomic<unsigned> passes_{0};   // timer passes running on the clock
    std::atomic<unsigned> waiters_{0};  // disablers waiting on passes_
    support::static_mutex lists_lock_;
    QLIST_HEAD(, QEMUTimerList) lists_ = QLIST_HEAD_INITIALIZER(lists_);  // lists_lock_
};

// Constant-initialized and trivially destructible, so lists may be created
// from other constructors and freed from atexit handlers.
// REALTIME, VIRTUAL (enabled when the VM starts), HOST, VIRTUAL_RT.
constinit clock_state clocks[QEMU_CLOCK_MAX] = {{true}, {false}, {true}, {true}};

clock_state &clock_of(QEMUClockType type) noexcept
{
    QAIO_CHECK(unsigned(type) < QEMU_CLOCK_MAX, "invalid clock type %d", int(type));
    return clocks[type];
}

} // namespace

int64_t wall_ns() noexcept
{
    struct timeval tv;
    gettimeofday(&tv, nullptr);
    return tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL;
}

#ifdef _WIN32
// QEMU's Windows clock: the performance counter, in QEMU's clock_freq ticks.
int64_t counter_frequency() noexcept
{
    LARGE_INTEGER f;
    QueryPerformanceFrequency(&f);
    return f.QuadPart;
}

int64_t monotonic_ns() noexcept
{
    static const int64_t frequency = counter_frequency();
    LARGE_INTEGER t;
    QueryPerformanceCounter(&t);
    return int64_t(__int128(t.QuadPart) * NANOSECONDS_PER_SECOND / frequency);
}

// The counter never fails from Windows XP on.
bool monotonic_available() noexcept
{
    return true;
}
#else
int64_t monotonic_ns() noexcept
{
    struct timespec ts;
    if (__builtin_expect(clock_gettime(CLOCK_MONOTONIC, &ts) != 0, 0)) {
        return wall_ns();
    }
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

bool monotonic_available() noexcept
{
    struct timespec ts;
    return clock_gettime(CLOCK_MONOTONIC, &ts) == 0;
}
#endif

int64_t clock_now_ns(QEMUClockType type) noexcept
{
    switch (type) {
    case QEMU_CLOCK_REALTIME:
        return monotonic_ns();
    case QEMU_CLOCK_HOST:
        return wall_ns();
    case QEMU_CLOCK_VIRTUAL_RT:
        return cpu_get_clock();
    case QEMU_CLOCK_VIRTUAL:
    default:
        return cpus_get_virtual_clock();
    }
}

bool clock_enabled(QEMUClockType type) noexcept
{
    return clock_of(type).enabled_.load(std::memory_order_seq_cst);
}

bool clock_use_for_deadline(QEMUClockType) noexcept
{
    return true;
}

void clock_notify(QEMUClockType type) noexcept
{
    clock_state &c = clock_of(type);
    std::lock_guard<support::static_mutex> g(c.lists_lock_);
    QEMUTimerList *tl;
    QLIST_FOREACH(tl, &c.lists_, clock_link_) {
        list_notify(tl);
    }
}

void clock_enable(QEMUClockType type, bool enabled) noexcept
{
    clock_state &c = clock_of(type);
    bool was = c.enabled_.exchange(enabled, std::memory_order_seq_cst);
    if (enabled) {
        if (!was) {
            clock_notify(type);
        }
        return;
    }
    // Pairs with pass_begin's fetch_add and load (the file comment).
    c.waiters_.fetch_add(1, std::memory_order_seq_cst);
    for (unsigned n; (n = c.passes_.load(std::memory_order_seq_cst)) != 0;) {
        support::futex_wait(&c.passes_, n);
    }
    c.waiters_.fetch_sub(1, std::memory_order_relaxed);
}

bool pass_begin(QEMUClockType type) noexcept
{
    clock_state &c = clock_of(type);
    c.passes_.fetch_add(1, std::memory_order_seq_cst);
    if (c.enabled_.load(std::memory_order_seq_cst)) {
        return true;
    }
    pass_end(type);
    return false;
}

void pass_end(QEMUClockType type) noexcept
{
    clock_state &c = clock_of(type);
    // The waiter announces itself before reading passes_; reading waiters_
    // after the decrement means one of us sees the other.
    if (c.passes_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
        c.waiters_.load(std::memory_order_seq_cst) != 0) {
        support::futex_wake_all(&c.passes_);
    }
}

int64_t clock_deadline_ns_all(QEMUClockType type, int attr_mask) noexcept
{
    clock_state &c = clock_of(type);
    if (!c.enabled_.load(std::memory_order_seq_cst)) {
        return -1;
    }
    int64_t soonest = -1;
    {
        std::lock_guard<support::static_mutex> g(c.lists_lock_);
        QEMUTimerList *tl;
        QLIST_FOREACH(tl, &c.lists_, clock_link_) {
            int64_t e = list_earliest_matching(tl, attr_mask);
            if (uint64_t(e) < uint64_t(soonest)) {  // -1, none, is the largest
                soonest = e;
            }
        }
    }
    return soonest < 0 ? -1 : std::max<int64_t>(soonest - clock_now_ns(type), 0);
}

void clock_register_list(QEMUTimerList *tl, bool add) noexcept
{
    clock_state &c = clock_of(tl->type_);
    std::lock_guard<support::static_mutex> g(c.lists_lock_);
    if (add) {
        QLIST_INSERT_HEAD(&c.lists_, tl, clock_link_);
    } else {
        QLIST_REMOVE(tl, clock_link_);
    }
}

int timeout_ns_to_ms(int64_t ns) noexcept
{
    if (ns < 0) {
        return -1;
    }
    // Round up without computing ns + SCALE_MS - 1, which could overflow.
    int64_t ms = ns / SCALE_MS + (ns % SCALE_MS != 0);
    return ms > INT32_MAX ? INT32_MAX : int(ms);
}

#ifdef _WIN32
int poll_ns(GPollFD *fds, unsigned nfds, int64_t timeout) noexcept
{
    return g_poll(fds, nfds, timeout_ns_to_ms(timeout));
}
#else
int poll_ns(struct pollfd *fds, nfds_t nfds, int64_t timeout) noexcept
{
    if (timeout < 0) {
        return ppoll(fds, nfds, nullptr, nullptr);
    }
    struct timespec ts;
    int64_t sec = timeout / NANOSECONDS_PER_SECOND;
    // Keep tv_sec in range on hosts with a 32-bit time_t.
    ts.tv_sec = sec > INT32_MAX ? INT32_MAX : time_t(sec);
    ts.tv_nsec = long(timeout % NANOSECONDS_PER_SECOND);
    return ppoll(fds, nfds, &ts, nullptr);
}
#endif

void set_timer_slack() noexcept
{
#ifdef __linux__
    prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0);
#endif
}

} // namespace qaio::timer
