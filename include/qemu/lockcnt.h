/* SPDX-License-Identifier: MIT */
/*
 * QemuLockCnt: a counter of concurrent visitors combined with a lock (QEMU
 * 10.0's header; at API level 7.2 qemu/thread.h includes it, as 7.2 declares
 * the counter there).
 */
#ifndef QEMU_LOCKCNT_H
#define QEMU_LOCKCNT_H

#include "qemu/thread.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A counter of concurrent visitors combined with a lock.  Visits
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
