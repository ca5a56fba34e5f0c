// SPDX-License-Identifier: MIT
// extern "C" definitions of qemu/event_notifier.h (Windows); each forwards to
// qaio::win32::notifier.  EventNotifier is embedded by callers: on Windows
// QEMU 7.2 declares only the event HANDLE (its `initialized` flag is in the
// POSIX branch alone), 8 bytes, which puts AioContext's tlg at 264.
#include "cabi/export.hh"
#include "lib/win32/event_notifier.hh"

#include <cstddef>

static_assert(sizeof(EventNotifier) == 8, "EventNotifier must be 8 bytes on Windows");
static_assert(offsetof(EventNotifier, event) == 0, "EventNotifier.event at 0");

namespace nt = qaio::win32::notifier;

QAIO_EXPORT int event_notifier_init(EventNotifier *e, int active)
{
    return nt::init(e, active);
}

QAIO_EXPORT void event_notifier_cleanup(EventNotifier *e)
{
    nt::cleanup(e);
}

QAIO_EXPORT int event_notifier_set(EventNotifier *e)
{
    return nt::set(e);
}

QAIO_EXPORT int event_notifier_test_and_clear(EventNotifier *e)
{
    return nt::test_and_clear(e);
}

QAIO_EXPORT void *event_notifier_get_handle(EventNotifier *e)
{
    return nt::handle(e);
}
