// SPDX-License-Identifier: MIT
// Stand-ins for QEMU's deferred calls (util/defer-call.c, qemu/defer-call.h
// since 8.2): a thread opens a section with defer_call_begin(), and every
// defer_call(fn, opaque) made until the outermost defer_call_end() runs
// there, once per (fn, opaque) pair, in the order first asked; outside a
// section it runs at once.  The block engines of the 10.0 level submit
// through it, so that a caller batching several requests in one section
// costs one system call.  Part of the support runtime: libqaio only, and
// exported at the 10.0 level (qemu/defer-call.h there); in a QEMU tree,
// libqaio-core.a calls QEMU's own.
#include "lib/support/fatal.hh"

#include <cstdlib>
#include <utility>

#define QAIO_RUNTIME_EXPORT extern "C" __attribute__((visibility("default")))

QAIO_RUNTIME_EXPORT void defer_call_begin(void);
QAIO_RUNTIME_EXPORT void defer_call_end(void);
QAIO_RUNTIME_EXPORT void defer_call(void (*fn)(void *), void *opaque);

namespace {

struct deferred {
    void (*fn)(void *);
    void *opaque;
};

// The calling thread's section: its depth, and the calls deferred to its end
// (a growing array; a thread that never defers allocates nothing).
struct defer_section {
    unsigned depth = 0;
    unsigned count = 0;
    unsigned capacity = 0;
    deferred *calls = nullptr;

    ~defer_section() { free(calls); }
};

thread_local defer_section section;

} // namespace

void defer_call_begin(void)
{
    section.depth++;
}

void defer_call_end(void)
{
    QAIO_CHECK(section.depth > 0, "defer_call_end without defer_call_begin");
    if (--section.depth > 0) {
        return;
    }
    // Taken out of the section first: one of them may open a section of
    // its own, whose calls are its business.
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

void defer_call(void (*fn)(void *), void *opaque)
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
