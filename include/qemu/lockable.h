/* SPDX-License-Identifier: MIT */
/*
 * QemuLockable: a lock of any kind passed as an object plus its lock and
 * unlock functions, so that CoQueue can release and retake whatever lock
 * protects the caller's condition.  Callers build it with
 * QEMU_MAKE_LOCKABLE(); its layout is fixed (24 bytes).
 */
#ifndef QEMU_LOCKABLE_H
#define QEMU_LOCKABLE_H

#include "qemu/osdep.h"
#include "qemu/thread.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef void QemuLockUnlockFunc(void *);

struct QemuLockable {
    void *object;
    QemuLockUnlockFunc *lock;
    QemuLockUnlockFunc *unlock;
};

typedef struct CoMutex CoMutex;
void qemu_co_mutex_lock(CoMutex *mutex);
void qemu_co_mutex_unlock(CoMutex *mutex);

static inline __attribute__((__always_inline__)) QemuLockable *
qemu_make_lockable(void *x, QemuLockable *lockable)
{
    /* A NULL lock object yields a NULL lockable, so "no lock" stays cheap. */
    return x ? lockable : NULL;
}

static inline __attribute__((__always_inline__)) QemuLockable *
qemu_null_lockable(void *x)
{
    if (x != NULL) {
        abort();
    }
    return NULL;
}

/* Every branch of a _Generic must compile, hence the default. */
#define QML_FUNC_(x, name)                                      \
    (QemuLockUnlockFunc *)                                      \
    _Generic((x), CoMutex *: qemu_co_mutex_##name, default: (void (*)(void *))0)

#define QML_OBJ_(x, name) (&(QemuLockable) {                    \
        .object = (x),                                          \
        .lock = QML_FUNC_(x, lock),                             \
        .unlock = QML_FUNC_(x, unlock),                         \
    })

/*
 * QEMU_MAKE_LOCKABLE - a QemuLockable for a lock object (here: CoMutex) or
 * NULL for a literal NULL.  Only CoMutex is supported by qaio's headers:
 * QEMU's thread mutexes come from QEMU's own util library.
 */
#define QEMU_MAKE_LOCKABLE(x)                                   \
    _Generic((x), QemuLockable *: (x),                          \
             void *: qemu_null_lockable(x),                     \
             CoMutex *: qemu_make_lockable((x), QML_OBJ_(x, CoMutex)))

#define QEMU_MAKE_LOCKABLE_NONNULL(x)                           \
    _Generic((x), QemuLockable *: (x),                          \
             CoMutex *: QML_OBJ_(x, CoMutex))

static inline void qemu_lockable_lock(QemuLockable *x)
{
    x->lock(x->object);
}

static inline void qemu_lockable_unlock(QemuLockable *x)
{
    x->unlock(x->object);
}

#ifdef __cplusplus
}
#endif

#endif
