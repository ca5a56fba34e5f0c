// SPDX-License-Identifier: MIT
#include "lib/win32/event_notifier.hh"

#include <cerrno>

namespace qaio::win32::notifier {

int init(EventNotifier *e, int active) noexcept
{
    // Manual reset: a set stays visible to every waiter until consumed.
    e->event = CreateEventW(nullptr, TRUE, active ? TRUE : FALSE, nullptr);
    if (!e->event) {
        errno = ENOMEM;
        return -ENOMEM;
    }
    return 0;
}

void cleanup(EventNotifier *e) noexcept
{
    if (e->event) {
        CloseHandle(handle(e));
        e->event = nullptr;
    }
}

int set(EventNotifier *e) noexcept
{
    SetEvent(handle(e));
    return 0;
}

int test_and_clear(EventNotifier *e) noexcept
{
    // A set between test and reset is consumed too: the consumer runs after it.
    bool was_set = WaitForSingleObject(handle(e), 0) == WAIT_OBJECT_0;
    if (was_set) {
        ResetEvent(handle(e));
    }
    return was_set;
}

} // namespace qaio::win32::notifier
