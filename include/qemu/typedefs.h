/* SPDX-License-Identifier: MIT */
/* Forward declarations of the types the public headers pass around. */
#ifndef QEMU_TYPEDEFS_H
#define QEMU_TYPEDEFS_H

typedef struct AioContext AioContext;
typedef struct BlockDriverState BlockDriverState;
typedef struct Coroutine Coroutine;
typedef struct Error Error;
typedef struct EventNotifier EventNotifier;
typedef struct QEMUBH QEMUBH;
typedef struct QEMUTimer QEMUTimer;
typedef struct QEMUTimerListGroup QEMUTimerListGroup;
typedef struct QEMUFile QEMUFile;
typedef struct QEMUIOVector QEMUIOVector;
typedef struct Notifier Notifier;
typedef struct QemuLockable QemuLockable;
typedef struct QemuMutex QemuMutex;
typedef struct QemuRecMutex QemuRecMutex;
typedef struct QemuCond QemuCond;
typedef struct QemuLockCnt QemuLockCnt;

#endif
