// SPDX-License-Identifier: MIT
// QEMU's deferred calls (qemu/defer-call.h, 8.2 on): defer_call(fn, opaque)
// in a section runs once per pair at the outermost defer_call_end(), in the
// order first asked; outside one at once.  The 10.0 engines submit through
// it.  Support runtime: libqaio only, exported at 10.0.
#include "lib/support/fatal.hh"

#include <cstdlib>
#include <utility>

#define QAIO_RUNTIME_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

struct deferred {
    void (*fn)(void *);
    void *opaque;
};

// A thread that never defers allocates nothing.
struct defer_section {
    unsigned depth = 0;
    unsigned count = 0;
    unsigned capacity = 0;
    deferred *calls = nullptr;

    ~defer_section() { free(calls); }
};

thread_local defer_section section;

} // namespace

QAIO_RUNTIME_EXPORT void defer_call_begin(void)
{
    section.depth++;
}

QAIO_RUNTIME_EXPORT void defer_call_end(void)
{
    QAIO_CHECK(section.depth > 0, "defer_call_end without defer_call_begin");
    if (--section.depth > 0) {
        return;
    }
    // A call may open a section of its own.
    defer_section run = section;
    section.count = section.capacity = 0;
    section.calls = nullptr;
    for (unsigned i = 0; i < run.count; i++) {
        run.calls[i].fn(run.calls[i].opaque);
    }
    if (!section.calls) {  // keep the array for the next section
        section.calls = std::exchange(run.calls, nullptr);
        section.capacity = run.capacity;
    }
}

QAIO_RUNTIME_EXPORT void defer_call(void (*fn)(void *), void *opaque)
{
    if (section.depth == 0) {
        fn(opaque);
        return;
    }
    for (unsigned i = 0; i < section.count; i++) {
        if (section.calls[i].fn == fn && section.calls[i].opaque == opaque) {
            return;
        }
    }
    if (section.count == section.capacity) {
        unsigned capacity = section.capacity ? 2 * section.capacity : 16;
        auto *calls = static_cast<deferred *>(realloc(section.calls, capacity * sizeof(deferred)));
        QAIO_CHECK(calls, "out of memory deferring a call");
        section.calls = calls;
        section.capacity = capacity;
    }
    section.calls[section.count++] = {fn, opaque};
}
