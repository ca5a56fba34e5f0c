// SPDX-License-Identifier: MIT
// Wait objects join glib's GPollFDs as HANDLEs; a callback may remove any,
// itself included, so removals while dispatching only mark the slot.
#include "lib/win32/main_loop.hh"

#include "lib/win32/backend.hh"

#include <vector>

namespace qaio::win32 {

namespace {

struct wait_object {
    HANDLE handle;
    WaitObjectFunc *func;
    void *opaque;
};

struct polling_cb {
    PollingFunc *func;
    void *opaque;
};

std::vector<wait_object> wait_objects;
bool dispatching = false;  // removals only clear `handle` meanwhile
std::vector<polling_cb> polling_cbs;

} // namespace

int add_wait_object(HANDLE handle, WaitObjectFunc *func, void *opaque) noexcept
{
    int live = 0;
    for (const wait_object &w : wait_objects) {
        if (w.handle == handle) {
            return -1;
        }
        live += w.handle != nullptr;
    }
    if (live >= MAXIMUM_WAIT_OBJECTS) {
        return -1;
    }
    wait_objects.push_back({handle, func, opaque});
    return 0;
}

void del_wait_object(HANDLE handle) noexcept
{
    for (size_t i = 0; i < wait_objects.size(); i++) {
        if (wait_objects[i].handle == handle) {
            if (dispatching) {
                wait_objects[i].handle = nullptr;
            } else {
                wait_objects.erase(wait_objects.begin() + static_cast<ptrdiff_t>(i));
            }
            return;
        }
    }
}

int add_polling_cb(PollingFunc *func, void *opaque) noexcept
{
    polling_cbs.push_back({func, opaque});
    return 0;
}

void del_polling_cb(PollingFunc *func, void *opaque) noexcept
{
    for (size_t i = 0; i < polling_cbs.size(); i++) {
        if (polling_cbs[i].func == func && polling_cbs[i].opaque == opaque) {
            polling_cbs.erase(polling_cbs.begin() + static_cast<ptrdiff_t>(i));
            return;
        }
    }
}

bool run_polling_cbs() noexcept
{
    int work = 0;
    // By index: callbacks may add or remove callbacks.
    for (size_t i = 0; i < polling_cbs.size(); i++) {
        work |= polling_cbs[i].func(polling_cbs[i].opaque);
    }
    return work != 0;
}

void append_wait_objects(GArray *fds) noexcept
{
    for (const wait_object &w : wait_objects) {
        GPollFD pfd = {reinterpret_cast<gintptr>(w.handle), G_IO_IN, 0};
        g_array_append_val(fds, pfd);
    }
}

void dispatch_wait_objects(GArray *fds, guint end) noexcept
{
    // Only those appended: callbacks may add wait objects.
    size_t count = fds->len - end;
    dispatching = true;
    for (size_t i = 0; i < count; i++) {
        const wait_object w = wait_objects[i];
        if (w.handle && g_array_index(fds, GPollFD, end + i).revents) {
            w.func(w.opaque);
        }
    }
    dispatching = false;
    std::erase_if(wait_objects, [](const wait_object &w) { return !w.handle; });
    g_array_set_size(fds, end);
}

void fd_register(int fd, AioContext *ctx) noexcept
{
    auto &b = static_cast<handle_backend &>(loop::context::from(ctx)->backend());
    WSAEventSelect(static_cast<SOCKET>(fd), b.notifier_event(),
                   FD_READ | FD_ACCEPT | FD_CLOSE | FD_CONNECT | FD_WRITE | FD_OOB);
}

} // namespace qaio::win32
