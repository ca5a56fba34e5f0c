// SPDX-License-Identifier: MIT
// extern "C" definitions of qemu/event_notifier.h (POSIX); each forwards to
// qaio::posix::notifier.  EventNotifier is embedded by callers, so its layout
// is asserted here against QEMU 7.2's.
#include "cabi/export.hh"
#include "lib/posix/event_notifier.hh"

#include <cstddef>

static_assert(sizeof(EventNotifier) == 12, "EventNotifier must be 12 bytes");
static_assert(offsetof(EventNotifier, rfd) == 0, "EventNotifier.rfd at 0");
static_assert(offsetof(EventNotifier, wfd) == 4, "EventNotifier.wfd at 4");
static_assert(offsetof(EventNotifier, initialized) == 8,
              "EventNotifier.initialized at 8");

namespace nt = qaio::posix::notifier;

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
