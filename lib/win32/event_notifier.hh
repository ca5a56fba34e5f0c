// SPDX-License-Identifier: MIT
// EventNotifier on Windows: a manual-reset event object.  It stays signalled
// until test_and_clear resets it, so a wait on its HANDLE (the context's
// WaitForMultipleObjects, glib's poll of the context GSource) sees every set
// that has not been consumed, as the POSIX eventfd is level-triggered.
#pragma once

#include "qemu/event_notifier.h"

namespace qaio::win32::notifier {

// 0, or -ENOMEM (errno too) when Windows has no event object to give.
int init(EventNotifier *e, int active) noexcept;
// Closes the event; a second cleanup, or one after a failed init, does nothing.
void cleanup(EventNotifier *e) noexcept;
int set(EventNotifier *e) noexcept;
// Whether the event was set; it is reset either way.
int test_and_clear(EventNotifier *e) noexcept;

inline HANDLE handle(EventNotifier *e) noexcept
{
    return static_cast<HANDLE>(e->event);
}

} // namespace qaio::win32::notifier
