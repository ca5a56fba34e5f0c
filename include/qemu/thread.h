/* SPDX-License-Identifier: MIT */
/*
 * Thread primitives' layouts, and at API level 7.2 the lock counter
 * (QemuLockCnt), which QEMU 7.2 declares in this header and 10.0 in
 * qemu/lockcnt.h.  The QemuMutex family's functions come from QEMU's
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

#ifdef __cplusplus
}
#endif

#if !QAIO_QEMU_API_AT_LEAST(10, 0)
#include "qemu/lockcnt.h"
#endif

#endif
