// SPDX-License-Identifier: MIT
// The main loop's signals, as qemu_init_main_loop sets them: SIG_IPI,
// SIGIO, SIGALRM and SIGBUS blocked (later threads inherit the mask), the
// last three read from a signalfd in the iohandler context, which calls the
// installed handler, so handlers run in the main loop.  SIGINT, SIGHUP and
// SIGTERM stay asynchronous (^C under a debugger must still interrupt).
#include "lib/mainloop/main_loop.hh"

#include <cerrno>
#include <csignal>
#include <sys/signalfd.h>
#include <unistd.h>

namespace qaio::mainloop {

namespace {

void invoke_handler(const signalfd_siginfo &ssi) noexcept
{
    struct sigaction sa;
    if (sigaction(static_cast<int>(ssi.ssi_signo), nullptr, &sa) < 0) {
        return;
    }
    if (sa.sa_flags & SA_SIGINFO) {
        siginfo_t info{};
        info.si_signo = static_cast<int>(ssi.ssi_signo);
        info.si_errno = ssi.ssi_errno;
        info.si_code = ssi.ssi_code;
        info.si_pid = static_cast<pid_t>(ssi.ssi_pid);
        info.si_uid = static_cast<uid_t>(ssi.ssi_uid);
        info.si_addr = reinterpret_cast<void *>(static_cast<uintptr_t>(ssi.ssi_addr));
        info.si_status = ssi.ssi_status;
        info.si_value.sival_ptr = reinterpret_cast<void *>(static_cast<uintptr_t>(ssi.ssi_ptr));
        sa.sa_sigaction(static_cast<int>(ssi.ssi_signo), &info, nullptr);
    } else if (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN) {
        sa.sa_handler(static_cast<int>(ssi.ssi_signo));
    }
}

void sigfd_read(void *opaque)
{
    int fd = static_cast<int>(reinterpret_cast<intptr_t>(opaque));
    for (;;) {
        signalfd_siginfo ssi;
        ssize_t len = read(fd, &ssi, sizeof(ssi));
        if (len < 0 && errno == EINTR) {
            continue;
        }
        if (len != static_cast<ssize_t>(sizeof(ssi))) {
            return;  // EAGAIN: all read
        }
        invoke_handler(ssi);
    }
}

} // namespace

int signals_init() noexcept
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIG_IPI);
    sigaddset(&set, SIGIO);
    sigaddset(&set, SIGALRM);
    sigaddset(&set, SIGBUS);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);

    // SIG_IPI kicks vCPU threads; the main loop never reads it.
    sigdelset(&set, SIG_IPI);
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    set_fd_handler(fd, sigfd_read, nullptr, reinterpret_cast<void *>(static_cast<intptr_t>(fd)));
    return 0;
}

} // namespace qaio::mainloop
