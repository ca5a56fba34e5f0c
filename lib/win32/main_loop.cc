// SPDX-License-Identifier: MIT
// The Windows half of the main loop (main_loop.hh): wait objects join the
// GPollFDs glib polls, as HANDLEs; a callback may remove any wait object,
// itself included, so removals during the dispatch only mark the slot.
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
    // By index: a callback may add or remove callbacks.
    for (size_t i = 0; i < polling_cbs.size(); i++) {
        work |= polling_cbs[i].func(polling_cbs[i].opaque);
    }
    return work != 0;
}

int poll(GArray *fds, int64_t timeout_ns) noexcept
{
    guint base = fds->len;
    size_t count = wait_objects.size();
    for (const wait_object &w : wait_objects) {
        GPollFD pfd = {reinterpret_cast<gintptr>(w.handle), G_IO_IN, 0};
        g_array_append_val(fds, pfd);
    }
    // Rounded up: a timer must not be run early.
    gint ms = timeout_ns < 0 ? -1
              : timeout_ns >= int64_t(INT32_MAX) * 1000000
                  ? INT32_MAX
                  : static_cast<gint>((timeout_ns + 999999) / 1000000);
    int ret = g_poll(reinterpret_cast<GPollFD *>(fds->data), fds->len, ms);
    dispatching = true;
    for (size_t i = 0; i < count; i++) {
        const wait_object w = wait_objects[i];
        if (w.handle && g_array_index(fds, GPollFD, base + i).revents) {
            w.func(w.opaque);
        }
    }
    dispatching = false;
    std::erase_if(wait_objects, [](const wait_object &w) { return !w.handle; });
    g_array_set_size(fds, base);
    return ret;
}

void fd_register(int fd, AioContext *ctx) noexcept
{
    auto &b = static_cast<handle_backend &>(loop::context::from(ctx)->backend());
    WSAEventSelect(static_cast<SOCKET>(fd), b.notifier_event(),
                   FD_READ | FD_ACCEPT | FD_CLOSE | FD_CONNECT | FD_WRITE | FD_OOB);
}

} // namespace qaio::win32
