/* SPDX-License-Identifier: MIT */
/*
 * The main loop: the main AioContext, the iohandler context and the big QEMU
 * lock.  qemu_init_main_loop() makes the calling thread the main thread and
 * attaches both contexts to glib's default GMainContext; main_loop_wait()
 * runs one iteration of it and then the main-loop timers.
 *
 * The big-lock functions are QEMU's (softmmu/cpus.c in a system emulator);
 * libqaio carries the stand-ins QEMU's tools link (the lock is never held),
 * libqaio-core.a leaves them to the QEMU tree.  QEMU 9.0 renamed them
 * (qemu_mutex_iothread_locked -> bql_locked ...): API level 10.0 has the new
 * names, 7.2 the old ones.
 */
#ifndef QEMU_MAIN_LOOP_H
#define QEMU_MAIN_LOOP_H

#include "block/aio.h"
#include "qemu/notify.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SIG_IPI SIGUSR1

int qemu_init_main_loop(Error **errp);
void main_loop_wait(int nonblocking);
AioContext *qemu_get_aio_context(void);
void qemu_notify_event(void);

typedef void IOReadHandler(void *opaque, const uint8_t *buf, int size);
typedef int IOCanReadHandler(void *opaque);

void qemu_set_fd_handler(int fd, IOHandler *fd_read, IOHandler *fd_write,
                         void *opaque);
void event_notifier_set_handler(EventNotifier *e,
                                EventNotifierHandler *handler);
GSource *iohandler_get_g_source(void);
AioContext *iohandler_get_aio_context(void);

#if QAIO_QEMU_API_AT_LEAST(10, 0)
bool bql_locked(void);
void bql_lock_impl(const char *file, int line);
void bql_unlock(void);
#define bql_lock() bql_lock_impl(__FILE__, __LINE__)
/* While blocked (nested), bql_unlock() must not be called. */
void bql_block_unlock(bool increase);
/* Makes bql_locked() true in a program without the real lock (tests). */
void rust_bql_mock_lock(void);
void qemu_cond_wait_bql(QemuCond *cond);
void qemu_cond_timedwait_bql(QemuCond *cond, int ms);

/* BQL_LOCK_GUARD(): holds the big lock to the end of the scope, unless the
 * thread already held it. */
typedef struct BQLLockAuto BQLLockAuto;
static inline BQLLockAuto *bql_auto_lock(const char *file, int line)
{
    if (bql_locked()) {
        return NULL;
    }
    bql_lock_impl(file, line);
    /* Any non-NULL value makes the scope's end call bql_auto_unlock. */
    return (BQLLockAuto *)(uintptr_t)1;
}
static inline void bql_auto_unlock(BQLLockAuto *l)
{
    (void)l;
    bql_unlock();
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BQLLockAuto, bql_auto_unlock)
#define BQL_LOCK_GUARD() \
    g_autoptr(BQLLockAuto) glue(qaio_bql_guard_, __LINE__) \
        __attribute__((unused)) = bql_auto_lock(__FILE__, __LINE__)
#else
bool qemu_mutex_iothread_locked(void);
void qemu_mutex_lock_iothread_impl(const char *file, int line);
void qemu_mutex_unlock_iothread(void);
#define qemu_mutex_lock_iothread() \
    qemu_mutex_lock_iothread_impl(__FILE__, __LINE__)
#endif
/* True when the thread's current context is the main context. */
bool qemu_in_main_thread(void);

#if !QAIO_QEMU_API_AT_LEAST(10, 0)
void qemu_fd_register(int fd);
#endif

QEMUBH *qemu_bh_new_full(QEMUBHFunc *cb, void *opaque, const char *name,
                         MemReentrancyGuard *reentrancy_guard);
#define qemu_bh_new(cb, opaque) \
    qemu_bh_new_full((cb), (opaque), (stringify(cb)), NULL)
#define qemu_bh_new_guarded(cb, opaque, guard) \
    qemu_bh_new_full((cb), (opaque), (stringify(cb)), guard)
void qemu_bh_schedule_idle(QEMUBH *bh);

enum {
    MAIN_LOOP_POLL_FILL,
    MAIN_LOOP_POLL_ERR,
    MAIN_LOOP_POLL_OK,
};

typedef struct MainLoopPoll {
    int state;
    uint32_t timeout;
    GArray *pollfds;
} MainLoopPoll;

void main_loop_poll_add_notifier(Notifier *notify);
void main_loop_poll_remove_notifier(Notifier *notify);

#ifdef QAIO_BUILDING_LIBQAIO
/* The library calls the big lock by these names, the same at every level. */
#if QAIO_QEMU_API_AT_LEAST(10, 0)
#define qaio_big_lock_held() bql_locked()
#define qaio_big_lock_take() bql_lock_impl(__FILE__, __LINE__)
#define qaio_big_lock_drop() bql_unlock()
#else
#define qaio_big_lock_held() qemu_mutex_iothread_locked()
#define qaio_big_lock_take() qemu_mutex_lock_iothread_impl(__FILE__, __LINE__)
#define qaio_big_lock_drop() qemu_mutex_unlock_iothread()
#endif
#endif

#ifdef __cplusplus
}
#endif

#endif
