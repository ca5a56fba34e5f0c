/* SPDX-License-Identifier: MIT */
/*
 * Thread primitives' layouts and the lock counter (QemuLockCnt), which QEMU 7.2
 * declares in this header.  The QemuMutex family's functions come from QEMU's
 * util/qemu-thread-*.c inside a QEMU tree; only their layouts are fixed here.
 */
#ifndef QEMU_THREAD_H
#define QEMU_THREAD_H

#include "qemu/osdep.h"
#ifdef CONFIG_POSIX
#include <pthread.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

#ifdef CONFIG_POSIX
struct QemuMutex {
    pthread_mutex_t lock;
    bool initialized;
};
struct QemuRecMutex {
    QemuMutex m;
};
struct QemuCond {
    pthread_cond_t cond;
    bool initialized;
};
#else
/* QEMU 7.2's Windows layouts (qemu/thread-win32.h): 16, 48 and 16 bytes. */
struct QemuMutex {
    SRWLOCK lock;
    bool initialized;
};
struct QemuRecMutex {
    CRITICAL_SECTION lock;
    bool initialized;
};
struct QemuCond {
    CONDITION_VARIABLE var;
    bool initialized;
};
#endif

/*
 * QemuLockCnt: a counter of concurrent visitors combined with a lock.  Visits
 * (inc/dec) proceed in parallel; the lock excludes other lock holders and any
 * visitor that would raise the count from zero.  On Linux the whole state is
 * one word: the low two bits are the lock, the rest counts visitors.
 */
struct QemuLockCnt {
#ifndef CONFIG_LINUX
    QemuMutex mutex;
#endif
    unsigned count;
};

void qemu_lockcnt_init(QemuLockCnt *lockcnt);
void qemu_lockcnt_destroy(QemuLockCnt *lockcnt);
void qemu_lockcnt_inc(QemuLockCnt *lockcnt);
void qemu_lockcnt_dec(QemuLockCnt *lockcnt);
bool qemu_lockcnt_dec_and_lock(QemuLockCnt *lockcnt);
bool qemu_lockcnt_dec_if_lock(QemuLockCnt *lockcnt);
void qemu_lockcnt_lock(QemuLockCnt *lockcnt);
void qemu_lockcnt_unlock(QemuLockCnt *lockcnt);
void qemu_lockcnt_inc_and_unlock(QemuLockCnt *lockcnt);
unsigned qemu_lockcnt_count(QemuLockCnt *lockcnt);

#ifdef __cplusplus
}
#endif

#endif
