// SPDX-License-Identifier: MIT
// Names the calling thread.  On Windows the system keeps it as the thread
// description (1607 on; looked up at run time, as QEMU does).
#pragma once

#include <pthread.h>
#ifdef _WIN32
#include <windows.h>
#endif

namespace qaio::support {

inline void name_this_thread(const char *name) noexcept
{
    pthread_setname_np(pthread_self(), name);
#ifdef _WIN32
    using set_description = HRESULT(WINAPI *)(HANDLE, PCWSTR);
    static const auto set = reinterpret_cast<set_description>(reinterpret_cast<void *>(
        GetProcAddress(GetModuleHandleW(L"kernel32.dll"), "SetThreadDescription")));
    if (set) {
        wchar_t wide[16] = {};   // short ASCII names, as Linux's
        for (int i = 0; i < 15 && name[i]; i++) {
            wide[i] = static_cast<unsigned char>(name[i]);
        }
        set(GetCurrentThread(), wide);
    }
#endif
}

} // namespace qaio::support
