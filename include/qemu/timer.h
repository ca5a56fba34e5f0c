/* SPDX-License-Identifier: MIT */
/*
 * Clocks and timers with QEMU 7.2's API.  A timer list belongs to one clock;
 * a timer list group holds one list per clock (every AioContext has one, and
 * so does the main loop).  QEMUTimer is embedded by callers, so its layout is
 * fixed; timers are kept in a heap ordered by expiry, and the `next` field
 * holds the timer's heap position rather than a list link.
 */
#ifndef QEMU_TIMER_H
#define QEMU_TIMER_H

#include "qemu/osdep.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NANOSECONDS_PER_SECOND 1000000000LL

#define SCALE_MS 1000000
#define SCALE_US 1000
#define SCALE_NS 1

typedef enum {
    QEMU_CLOCK_REALTIME = 0,
    QEMU_CLOCK_VIRTUAL = 1,
    QEMU_CLOCK_HOST = 2,
    QEMU_CLOCK_VIRTUAL_RT = 3,
    QEMU_CLOCK_MAX
} QEMUClockType;

/* Timer attributes: the timer is an external event (record/replay). */
#define QEMU_TIMER_ATTR_EXTERNAL ((int)1)
#define QEMU_TIMER_ATTR_ALL      0xffffffff

typedef struct QEMUTimerList QEMUTimerList;

struct QEMUTimerListGroup {
    QEMUTimerList *tl[QEMU_CLOCK_MAX];
};

typedef void QEMUTimerCB(void *opaque);
typedef void QEMUTimerListNotifyCB(void *opaque, QEMUClockType type);

struct QEMUTimer {
    int64_t expire_time;        /* in nanoseconds; -1 when not armed */
    QEMUTimerList *timer_list;
    QEMUTimerCB *cb;
    void *opaque;
    QEMUTimer *next;            /* qaio: heap position while armed */
    int attributes;
    int scale;
};

extern QEMUTimerListGroup main_loop_tlg;

/* Clocks */
int64_t qemu_clock_get_ns(QEMUClockType type);

static inline int64_t qemu_clock_get_ms(QEMUClockType type)
{
    return qemu_clock_get_ns(type) / SCALE_MS;
}

static inline int64_t qemu_clock_get_us(QEMUClockType type)
{
    return qemu_clock_get_ns(type) / SCALE_US;
}

bool qemu_clock_has_timers(QEMUClockType type);
bool qemu_clock_expired(QEMUClockType type);
bool qemu_clock_use_for_deadline(QEMUClockType type);
int64_t qemu_clock_deadline_ns_all(QEMUClockType type, int attr_mask);
#if QAIO_QEMU_API_AT_LEAST(10, 0)
/*
 * qemu_clock_advance_virtual_time: move QEMU_CLOCK_VIRTUAL forward to
 * @target_ns, one timer deadline at a time, running the virtual timers that
 * expire on the way (the main loop's and the main context's).  The clock is
 * set through cpus_set_virtual_clock(), which does nothing in a program
 * without a guest: there the virtual clock is the host's, and the call
 * returns once that has reached @target_ns.
 *
 * Returns: the virtual clock afterwards.
 */
int64_t qemu_clock_advance_virtual_time(int64_t target_ns);
#else
QEMUTimerList *qemu_clock_get_main_loop_timerlist(QEMUClockType type);
#endif
void qemu_clock_notify(QEMUClockType type);
void qemu_clock_enable(QEMUClockType type, bool enabled);
bool qemu_clock_run_timers(QEMUClockType type);
bool qemu_clock_run_all_timers(void);

/* Timer lists */
QEMUTimerList *timerlist_new(QEMUClockType type,
                             QEMUTimerListNotifyCB *cb, void *opaque);
void timerlist_free(QEMUTimerList *timer_list);
bool timerlist_has_timers(QEMUTimerList *timer_list);
bool timerlist_expired(QEMUTimerList *timer_list);
int64_t timerlist_deadline_ns(QEMUTimerList *timer_list);
#if !QAIO_QEMU_API_AT_LEAST(10, 0)
QEMUClockType timerlist_get_clock(QEMUTimerList *timer_list);
#endif
bool timerlist_run_timers(QEMUTimerList *timer_list);
void timerlist_notify(QEMUTimerList *timer_list);

/* Timer list groups */
void timerlistgroup_init(QEMUTimerListGroup *tlg,
                         QEMUTimerListNotifyCB *cb, void *opaque);
void timerlistgroup_deinit(QEMUTimerListGroup *tlg);
bool timerlistgroup_run_timers(QEMUTimerListGroup *tlg);
int64_t timerlistgroup_deadline_ns(QEMUTimerListGroup *tlg);

/* Timers */
void timer_init_full(QEMUTimer *ts,
                     QEMUTimerListGroup *timer_list_group, QEMUClockType type,
                     int scale, int attributes,
                     QEMUTimerCB *cb, void *opaque);

static inline void timer_init(QEMUTimer *ts, QEMUClockType type, int scale,
                              QEMUTimerCB *cb, void *opaque)
{
    timer_init_full(ts, NULL, type, scale, 0, cb, opaque);
}

static inline void timer_init_ns(QEMUTimer *ts, QEMUClockType type,
                                 QEMUTimerCB *cb, void *opaque)
{
    timer_init(ts, type, SCALE_NS, cb, opaque);
}

static inline void timer_init_us(QEMUTimer *ts, QEMUClockType type,
                                 QEMUTimerCB *cb, void *opaque)
{
    timer_init(ts, type, SCALE_US, cb, opaque);
}

static inline void timer_init_ms(QEMUTimer *ts, QEMUClockType type,
                                 QEMUTimerCB *cb, void *opaque)
{
    timer_init(ts, type, SCALE_MS, cb, opaque);
}

static inline QEMUTimer *timer_new_full(QEMUTimerListGroup *timer_list_group,
                                        QEMUClockType type,
                                        int scale, int attributes,
                                        QEMUTimerCB *cb, void *opaque)
{
    QEMUTimer *ts = g_new0(QEMUTimer, 1);
    timer_init_full(ts, timer_list_group, type, scale, attributes, cb, opaque);
    return ts;
}

static inline QEMUTimer *timer_new(QEMUClockType type, int scale,
                                   QEMUTimerCB *cb, void *opaque)
{
    return timer_new_full(NULL, type, scale, 0, cb, opaque);
}

static inline QEMUTimer *timer_new_ns(QEMUClockType type, QEMUTimerCB *cb,
                                      void *opaque)
{
    return timer_new(type, SCALE_NS, cb, opaque);
}

static inline QEMUTimer *timer_new_us(QEMUClockType type, QEMUTimerCB *cb,
                                      void *opaque)
{
    return timer_new(type, SCALE_US, cb, opaque);
}

static inline QEMUTimer *timer_new_ms(QEMUClockType type, QEMUTimerCB *cb,
                                      void *opaque)
{
    return timer_new(type, SCALE_MS, cb, opaque);
}

void timer_deinit(QEMUTimer *ts);
void timer_del(QEMUTimer *ts);

static inline void timer_free(QEMUTimer *ts)
{
    if (ts) {
        timer_del(ts);
        g_free(ts);
    }
}

void timer_mod_ns(QEMUTimer *ts, int64_t expire_time);
void timer_mod_anticipate_ns(QEMUTimer *ts, int64_t expire_time);
void timer_mod(QEMUTimer *ts, int64_t expire_timer);
void timer_mod_anticipate(QEMUTimer *ts, int64_t expire_time);
bool timer_pending(QEMUTimer *ts);
bool timer_expired(QEMUTimer *timer_head, int64_t current_time);
uint64_t timer_expire_time_ns(QEMUTimer *ts);

/* QEMU's migration helpers timer_get/timer_put belong to its migration
 * code, which standalone programs lack: not declared here. */

/* General utility functions */
int qemu_timeout_ns_to_ms(int64_t ns);
int qemu_poll_ns(GPollFD *fds, guint nfds, int64_t timeout);

static inline int64_t qemu_soonest_timeout(int64_t timeout1, int64_t timeout2)
{
    /* -1 means infinite; as uint64_t it is the largest value. */
    return ((uint64_t) timeout1 < (uint64_t) timeout2) ? timeout1 : timeout2;
}

void init_clocks(QEMUTimerListNotifyCB *notify_cb);

static inline int64_t get_max_clock_jump(void)
{
    /* Host clock jumps of up to 60 s are treated as plausible. */
    return 60 * NANOSECONDS_PER_SECOND;
}

static inline int64_t get_clock_realtime(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return tv.tv_sec * 1000000000LL + (tv.tv_usec * 1000);
}

extern int64_t clock_start;

#ifdef _WIN32
extern int64_t clock_freq;

static inline int64_t get_clock(void)
{
    LARGE_INTEGER ti;

    QueryPerformanceCounter(&ti);
    /* QueryPerformanceFrequency's ticks per second, scaled to ns. */
    return (int64_t)((__int128)ti.QuadPart * NANOSECONDS_PER_SECOND / clock_freq);
}
#else
extern int use_rt_clock;

static inline int64_t get_clock(void)
{
    if (use_rt_clock) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000000000LL + ts.tv_nsec;
    }
    /* No monotonic clock: fall back to wall time. */
    return get_clock_realtime();
}
#endif

static inline int64_t cpu_get_host_ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return (int64_t)__builtin_ia32_rdtsc();
#else
    return get_clock();
#endif
}

#ifdef __cplusplus
}
#endif

#endif
