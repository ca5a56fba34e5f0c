// SPDX-License-Identifier: MIT
// Names the calling thread, as debuggers and the process list show it.  On
// Windows, winpthreads keeps pthread_setname_np's name to itself: the
// system's place for it is the thread description (Windows 10 1607 and
// later; looked up at run time, as QEMU does, so older systems run unnamed).
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
        wchar_t wide[16] = {};   // names are short ASCII, as Linux's 15 bytes
        for (int i = 0; i < 15 && name[i]; i++) {
            wide[i] = static_cast<unsigned char>(name[i]);
        }
        set(GetCurrentThread(), wide);
    }
#endif
}

} // namespace qaio::support
