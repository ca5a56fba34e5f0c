// SPDX-License-Identifier: MIT
// extern "C" definitions of the qemu_lockcnt_* functions of qemu/lockcnt.h;
// each forwards to qaio::loop::lockcnt.  On Linux QemuLockCnt is one futex
// word that callers embed (AioContext's list lock in QEMU), so its size is
// asserted here.
#include "cabi/export.hh"
#include "lib/loop/lockcnt.hh"

#include <cstddef>

#ifdef CONFIG_LINUX
static_assert(sizeof(QemuLockCnt) == 4, "QemuLockCnt must be 4 bytes on Linux");
#endif
#ifdef _WIN32
// QEMU 7.2 on Windows: a QemuMutex (an SRWLOCK and a flag) beside the count.
static_assert(sizeof(QemuMutex) == 16, "QemuMutex must be 16 bytes on Windows");
static_assert(sizeof(QemuLockCnt) == 24, "QemuLockCnt must be 24 bytes on Windows");
static_assert(offsetof(QemuLockCnt, count) == 16, "QemuLockCnt.count at 16 on Windows");
#endif

namespace lc = qaio::loop::lockcnt;

QAIO_EXPORT void qemu_lockcnt_init(QemuLockCnt *lockcnt)
{
    lc::init(lockcnt);
}

QAIO_EXPORT void qemu_lockcnt_destroy(QemuLockCnt *lockcnt)
{
    lc::destroy(lockcnt);
}

QAIO_EXPORT void qemu_lockcnt_inc(QemuLockCnt *lockcnt)
{
    lc::inc(lockcnt);
}

QAIO_EXPORT void qemu_lockcnt_dec(QemuLockCnt *lockcnt)
{
    lc::dec(lockcnt);
}

QAIO_EXPORT bool qemu_lockcnt_dec_and_lock(QemuLockCnt *lockcnt)
{
    return lc::dec_and_lock(lockcnt);
}

QAIO_EXPORT bool qemu_lockcnt_dec_if_lock(QemuLockCnt *lockcnt)
{
    return lc::dec_if_lock(lockcnt);
}

QAIO_EXPORT void qemu_lockcnt_lock(QemuLockCnt *lockcnt)
{
    lc::lock(lockcnt);
}

QAIO_EXPORT void qemu_lockcnt_unlock(QemuLockCnt *lockcnt)
{
    lc::unlock(lockcnt);
}

QAIO_EXPORT void qemu_lockcnt_inc_and_unlock(QemuLockCnt *lockcnt)
{
    lc::inc_and_unlock(lockcnt);
}

QAIO_EXPORT unsigned qemu_lockcnt_count(QemuLockCnt *lockcnt)
{
    return lc::count(lockcnt);
}
