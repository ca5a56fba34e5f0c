// SPDX-License-Identifier: MIT
// qemu/coroutine.h: sleeping and timeouts (QEMU's util/qemu-coroutine-sleep
// and util/qemu-co-timeout).  QemuCoSleep is embedded by callers.
#include "qemu/osdep.h"
#include "qemu/coroutine.h"

#include "cabi/export.hh"
#include "lib/colock/colock.hh"

#include <cstddef>

#if defined(__LP64__)
static_assert(sizeof(QemuCoSleep) == 8);
static_assert(offsetof(QemuCoSleep, to_wake) == 0);
#endif

QAIO_EXPORT void qemu_co_sleep_ns_wakeable(QemuCoSleep *w, QEMUClockType type, int64_t ns)
{
    qaio::colock::co_sleep_ns(w, type, ns);
}

QAIO_EXPORT void qemu_co_sleep(QemuCoSleep *w)
{
    qaio::colock::co_sleep(w);
}

QAIO_EXPORT void qemu_co_sleep_wake(QemuCoSleep *w)
{
    qaio::colock::co_sleep_wake(w);
}

QAIO_EXPORT int qemu_co_timeout(CoroutineEntry *entry, void *opaque, uint64_t timeout_ns,
                                CleanupFunc clean)
{
    return qaio::colock::co_timeout(entry, opaque, timeout_ns, clean);
}
