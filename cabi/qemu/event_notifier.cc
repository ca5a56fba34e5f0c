// SPDX-License-Identifier: MIT
// extern "C" definitions of qemu/event_notifier.h; each forwards to the
// wait backend's notifier (qaio::posix::notifier, an eventfd or pipe;
// qaio::win32::notifier, an event HANDLE).  EventNotifier is embedded by
// callers, so its layout is asserted here against QEMU 7.2's: on Windows
// QEMU declares only the HANDLE (`initialized` is in the POSIX branch
// alone), 8 bytes, which puts AioContext's tlg at 264.
#include "cabi/export.hh"

#include <cstddef>

#ifdef _WIN32
#include "lib/win32/event_notifier.hh"
namespace nt = qaio::win32::notifier;

static_assert(sizeof(EventNotifier) == 8, "EventNotifier must be 8 bytes on Windows");
static_assert(offsetof(EventNotifier, event) == 0, "EventNotifier.event at 0");
#else
#include "lib/posix/event_notifier.hh"
namespace nt = qaio::posix::notifier;

static_assert(sizeof(EventNotifier) == 12, "EventNotifier must be 12 bytes");
static_assert(offsetof(EventNotifier, rfd) == 0, "EventNotifier.rfd at 0");
static_assert(offsetof(EventNotifier, wfd) == 4, "EventNotifier.wfd at 4");
static_assert(offsetof(EventNotifier, initialized) == 8,
              "EventNotifier.initialized at 8");
#endif

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

#ifdef _WIN32
QAIO_EXPORT void *event_notifier_get_handle(EventNotifier *e)
{
    return nt::handle(e);
}
#else
QAIO_EXPORT void event_notifier_init_fd(EventNotifier *e, int fd)
{
    nt::init_fd(e, fd);
}

QAIO_EXPORT int event_notifier_get_fd(const EventNotifier *e)
{
    return nt::read_fd(e);
}

QAIO_EXPORT int event_notifier_get_wfd(const EventNotifier *e)
{
    return nt::write_fd(e);
}
#endif
