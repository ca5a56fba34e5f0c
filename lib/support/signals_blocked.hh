// SPDX-License-Identifier: MIT
// Blocks every signal while alive, so that a thread created meanwhile runs
// no signal handler.
#pragma once

#ifndef _WIN32
#include <csignal>
#include <pthread.h>
#endif

namespace qaio::support {

class signals_blocked {
public:
    signals_blocked() noexcept
    {
#ifndef _WIN32
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old_);
#endif
    }
    ~signals_blocked()
    {
#ifndef _WIN32
        pthread_sigmask(SIG_SETMASK, &old_, nullptr);
#endif
    }
    signals_blocked(const signals_blocked &) = delete;
    signals_blocked &operator=(const signals_blocked &) = delete;

private:
#ifndef _WIN32
    sigset_t old_;
#endif
};

} // namespace qaio::support
