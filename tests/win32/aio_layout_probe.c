/*
 * Prints, as "struct field offset size" rows, how QEMU 7.2's AioContext and
 * the types it embeds are laid out by the compiler this is built with.  The
 * structs below are written from the field lists QEMU 7.2 declares (see
 * docs/win32-layout.md for where each came from); built for
 * x86_64-w64-mingw32 they give the Windows facts, built for Linux without
 * linux-aio/io_uring they must give layout.md's offsets (tlg 240,
 * external_disable_cnt 272), which checks the field list itself.
 *
 * Windows: x86_64-w64-mingw32-gcc-posix $(pkg-config --cflags glib-2.0)
 *          against the mingw glib, run under Wine (tests/win32/layout.sh).
 *
 * With -DPROBE_QEMU_10_0, QEMU 10.0's AioContext instead: bdrv_graph after
 * the lock, no external_disable_cnt nor poll_ns after tlg; built for Linux
 * it must give layout-10.0.tsv's offsets less the engines (tlg 248, size
 * 344).
 */
#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#ifdef _WIN32
#include <windows.h>
#else
#include <pthread.h>
#endif

#ifdef _WIN32
typedef struct { SRWLOCK lock; bool initialized; } ProbeQemuMutex;
typedef struct { CRITICAL_SECTION lock; bool initialized; } ProbeQemuRecMutex;
typedef struct { CONDITION_VARIABLE var; bool initialized; } ProbeQemuCond;
/* not CONFIG_LINUX: the count sits beside a mutex, no futex */
typedef struct { ProbeQemuMutex mutex; unsigned count; } ProbeQemuLockCnt;
typedef struct { HANDLE event; } ProbeEventNotifier;
#else
typedef struct { pthread_mutex_t lock; bool initialized; } ProbeQemuMutex;
typedef struct { ProbeQemuMutex m; } ProbeQemuRecMutex;
typedef struct { pthread_cond_t cond; bool initialized; } ProbeQemuCond;
typedef struct { unsigned count; } ProbeQemuLockCnt;
typedef struct { int rfd; int wfd; bool initialized; } ProbeEventNotifier;
#endif

typedef struct { void *lh_first; } ProbeListHead;                 /* QLIST_HEAD, QSLIST_HEAD */
typedef struct { void *sqh_first; void **sqh_last; } ProbeSimpleQHead; /* QSIMPLEQ_HEAD */
typedef struct { void *tl[4]; } ProbeTimerListGroup;              /* QEMU_CLOCK_MAX == 4 */

typedef struct {
    int64_t expire_time;
    void *timer_list;
    void (*cb)(void *);
    void *opaque;
    void *next;
    int attributes;
    int scale;
} ProbeQEMUTimer;

/* QEMU 7.2's AioContext with neither CONFIG_LINUX_AIO nor CONFIG_LINUX_IO_URING */
typedef struct {
    GSource source;
    ProbeQemuRecMutex lock;
#ifdef PROBE_QEMU_10_0
    void *bdrv_graph;
#endif
    ProbeListHead aio_handlers;
    ProbeListHead deleted_aio_handlers;
    uint32_t notify_me;
    ProbeQemuLockCnt list_lock;
    ProbeListHead bh_list;
    ProbeSimpleQHead bh_slice_list;
    bool notified;
    ProbeEventNotifier notifier;
    ProbeListHead scheduled_coroutines;
    void *co_schedule_bh;
    int thread_pool_min;
    int thread_pool_max;
    void *thread_pool;
    ProbeTimerListGroup tlg;
#ifndef PROBE_QEMU_10_0
    int external_disable_cnt;
#endif
    int poll_disable_cnt;
#ifndef PROBE_QEMU_10_0
    int64_t poll_ns;
#endif
    int64_t poll_max_ns;
    int64_t poll_grow;
    int64_t poll_shrink;
    int64_t aio_max_batch;
    ProbeListHead poll_aio_handlers;
    bool poll_started;
    int epollfd;
    const void *fdmon_ops;
} ProbeAioContext;

#define SIZE(type, name) printf("%s\t(sizeof)\t-\t%zu\n", name, sizeof(type))
#define FIELD(type, name, f) \
    printf("%s\t%s\t%zu\t%zu\n", name, #f, offsetof(type, f), sizeof(((type *)0)->f))

int main(void)
{
    printf("# struct\tfield\toffset\tsize   (QEMU %s, %s, glib %d.%d.%d headers)\n",
#ifdef PROBE_QEMU_10_0
           "10.0",
#else
           "7.2",
#endif
#ifdef _WIN32
           "x86_64-w64-mingw32",
#else
           "host",
#endif
           GLIB_MAJOR_VERSION, GLIB_MINOR_VERSION, GLIB_MICRO_VERSION);
    SIZE(GSource, "GSource");
    SIZE(ProbeAioContext, "AioContext");
    FIELD(ProbeAioContext, "AioContext", source);
    FIELD(ProbeAioContext, "AioContext", lock);
#ifdef PROBE_QEMU_10_0
    FIELD(ProbeAioContext, "AioContext", bdrv_graph);
#endif
    FIELD(ProbeAioContext, "AioContext", aio_handlers);
    FIELD(ProbeAioContext, "AioContext", deleted_aio_handlers);
    FIELD(ProbeAioContext, "AioContext", notify_me);
    FIELD(ProbeAioContext, "AioContext", list_lock);
    FIELD(ProbeAioContext, "AioContext", bh_list);
    FIELD(ProbeAioContext, "AioContext", bh_slice_list);
    FIELD(ProbeAioContext, "AioContext", notified);
    FIELD(ProbeAioContext, "AioContext", notifier);
    FIELD(ProbeAioContext, "AioContext", scheduled_coroutines);
    FIELD(ProbeAioContext, "AioContext", co_schedule_bh);
    FIELD(ProbeAioContext, "AioContext", thread_pool_min);
    FIELD(ProbeAioContext, "AioContext", thread_pool_max);
    FIELD(ProbeAioContext, "AioContext", thread_pool);
    FIELD(ProbeAioContext, "AioContext", tlg);
#ifndef PROBE_QEMU_10_0
    FIELD(ProbeAioContext, "AioContext", external_disable_cnt);
#endif
    FIELD(ProbeAioContext, "AioContext", poll_disable_cnt);
#ifndef PROBE_QEMU_10_0
    FIELD(ProbeAioContext, "AioContext", poll_ns);
#endif
    FIELD(ProbeAioContext, "AioContext", poll_max_ns);
    FIELD(ProbeAioContext, "AioContext", poll_grow);
    FIELD(ProbeAioContext, "AioContext", poll_shrink);
    FIELD(ProbeAioContext, "AioContext", aio_max_batch);
    FIELD(ProbeAioContext, "AioContext", poll_aio_handlers);
    FIELD(ProbeAioContext, "AioContext", poll_started);
    FIELD(ProbeAioContext, "AioContext", epollfd);
    FIELD(ProbeAioContext, "AioContext", fdmon_ops);
    SIZE(ProbeTimerListGroup, "QEMUTimerListGroup");
    SIZE(ProbeQEMUTimer, "QEMUTimer");
    FIELD(ProbeQEMUTimer, "QEMUTimer", expire_time);
    FIELD(ProbeQEMUTimer, "QEMUTimer", attributes);
    FIELD(ProbeQEMUTimer, "QEMUTimer", scale);
    SIZE(ProbeEventNotifier, "EventNotifier");
#ifdef _WIN32
    FIELD(ProbeEventNotifier, "EventNotifier", event);
    FIELD(ProbeQemuLockCnt, "QemuLockCnt", mutex);
#endif
    SIZE(ProbeQemuLockCnt, "QemuLockCnt");
    FIELD(ProbeQemuLockCnt, "QemuLockCnt", count);
    SIZE(ProbeQemuMutex, "QemuMutex");
    SIZE(ProbeQemuRecMutex, "QemuRecMutex");
    SIZE(ProbeQemuCond, "QemuCond");
    return 0;
}
