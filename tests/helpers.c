/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers of the Check suites (see helpers.h).  Kept generic: no
 * suite's knowledge lives here, only what several suites repeat.  They fail
 * with ck_abort_msg and never call ck_assert on success (which would mark a
 * point), so they also work outside a running test, e.g. in main().
 */
#include "helpers.h"

#include <stddef.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#ifdef CONFIG_LINUX_IO_URING
#include <linux/io_uring.h>
#endif

#if defined(__x86_64__)
#define T_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define T_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

const char *const t_fdmons[] = { "poll", "epoll", "io_uring" };
const int t_n_fdmons = (int)(sizeof(t_fdmons) / sizeof(t_fdmons[0]));

void t_set_fdmon(const char *name)
{
    if (name) {
        setenv("QAIO_FDMON", name, 1);
    } else {
        unsetenv("QAIO_FDMON");
    }
}

AioContext *t_ctx_new_for_monitor(int i)
{
    AioContext *ctx;

    if (i < 0 || i >= t_n_fdmons) {
        ck_abort_msg("no fd monitor number %d", i);
    }
    t_set_fdmon(t_fdmons[i]);
    ctx = aio_context_new(&error_abort);
    t_assert_fdmon(ctx);
    return ctx;
}

void t_ctx_free(AioContext *ctx)
{
    aio_context_unref(ctx);
}

const char *t_io_uring_missing(void)
{
#if defined(CONFIG_LINUX_IO_URING) && defined(__NR_io_uring_setup)
    static char why[128];
    struct io_uring_params params;
    long fd;

    memset(&params, 0, sizeof(params));
    fd = syscall(__NR_io_uring_setup, 2, &params);
    if (fd < 0) {
        /* ENOSYS: old kernel; EPERM: disabled by sysctl or seccomp. */
        snprintf(why, sizeof(why), "the kernel refuses io_uring_setup (%s)",
                 strerror(errno));
        return why;
    }
    close((int)fd);
    return NULL;
#else
    return "qaio was configured without io_uring";
#endif
}

bool t_io_uring_available(void)
{
    return t_io_uring_missing() == NULL;
}

int t_forced_fdmon(void)
{
    const char *name = getenv("QAIO_FDMON");

    for (int i = 0; name && i < t_n_fdmons; i++) {
        if (strcmp(name, t_fdmons[i]) == 0) {
            return i;
        }
    }
    return -1;
}

int t_fdmon_lo(void)
{
    int forced = t_forced_fdmon();

    return forced >= 0 ? forced : 0;
}

int t_fdmon_hi(void)
{
    static bool said;
    int forced = t_forced_fdmon();
    const char *missing;

    if (forced >= 0) {
        return forced + 1;
    }
    /* io_uring is last in t_fdmons. */
    missing = t_io_uring_missing();
    if (!missing) {
        return t_n_fdmons;
    }
    if (!said) {
        printf("SKIP the io_uring variants: %s\n", missing);
        said = true;
    }
    return t_n_fdmons - 1;
}

bool t_fdmon_free_tests_run_here(void)
{
    return t_forced_fdmon() <= 0;
}

void t_assert_fdmon(AioContext *ctx)
{
    int forced = t_forced_fdmon();

    if (forced >= 0 && strcmp(qaio_aio_context_fd_monitor(ctx), t_fdmons[forced]) != 0) {
        ck_abort_msg("QAIO_FDMON=%s, but the context waits with %s", t_fdmons[forced],
                     qaio_aio_context_fd_monitor(ctx));
    }
}

bool t_ensure_fd_limit(long want)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return false;
    }
    if (rl.rlim_cur >= (rlim_t)want) {
        return true;
    }
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)want) {
        return false;
    }
    rl.rlim_cur = (rlim_t)want;
    return setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

int t_eventfd(void)
{
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

    if (fd < 0) {
        ck_abort_msg("eventfd: %s", strerror(errno));
    }
    return fd;
}

int t_run_in_child(void (*fn)(void), char *out, size_t size)
{
    size_t len = 0;
    int p[2];
    int status;
    pid_t pid;

    ck_assert_int_eq(pipe(p), 0);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], STDERR_FILENO);
        close(p[1]);
        fn();
        _exit(0);
    }
    close(p[1]);
    while (len < size - 1) {
        ssize_t r = read(p[0], out + len, size - 1 - len);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        len += (size_t)r;
    }
    out[len] = '\0';
    close(p[0]);
    while (waitpid(pid, &status, 0) < 0) {
        ck_assert_int_eq(errno, EINTR);
    }
    return status;
}

void t_expect_abort_naming(void (*misuse)(void), const char *what, const char *culprit)
{
    char msg[4096];
    int status = t_run_in_child(misuse, msg, sizeof(msg));

    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
                  "misuse did not abort (status 0x%x); stderr: '%s'", status, msg);
    ck_assert_msg(!what || strstr(msg, what) != NULL,
                  "abort message does not say '%s': '%s'", what, msg);
    ck_assert_msg(!culprit || strstr(msg, culprit) != NULL,
                  "abort message does not name '%s': '%s'", culprit, msg);
}

void t_silence_stderr(void)
{
    int fd = open("/dev/null", O_WRONLY);

    if (fd >= 0) {
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
}

#if defined(T_AUDIT_ARCH)
/* Installs a seccomp filter in this process with seccomp(2) `flags`;
 * returns what seccomp(2) returns. */
static int t_seccomp(struct sock_filter *code, int len, unsigned flags)
{
    struct sock_fprog prog = { .len = (unsigned short)len, .filter = code };

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        return -1;
    }
    return (int)syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

/* Installs a seccomp filter in this (forked) test process; false, with the
 * reason printed under `test`, when that cannot be done. */
static bool t_install_filter(const char *test, struct sock_filter *code, int len)
{
    const char *fork_mode = getenv("CK_FORK");

    if (fork_mode && strcmp(fork_mode, "no") == 0) {
        printf("SKIP %s: needs CK_FORK (the filter would outlive the test)\n", test);
        return false;
    }
    if (t_seccomp(code, len, 0) < 0) {
        printf("SKIP %s: seccomp unavailable (%s)\n", test, strerror(errno));
        return false;
    }
    return true;
}
#endif

bool t_hide_syscalls(const char *test, const long *nrs, int n)
{
#if defined(T_AUDIT_ARCH)
    /* Check the architecture, load the number, one jump per hidden call
     * to the ENOSYS return, allow the rest. */
    struct sock_filter code[4 + 16 + 2];
    int k = 0;

    ck_assert_int_le(n, 16);
    code[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                             offsetof(struct seccomp_data, arch));
    code[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, T_AUDIT_ARCH, 1, 0);
    code[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    code[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                             offsetof(struct seccomp_data, nr));
    for (int j = 0; j < n; j++) {
        /* Taken: skip the remaining jumps and the ALLOW. */
        code[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
                                                 (unsigned)nrs[j], (unsigned char)(n - j), 0);
    }
    code[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    code[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
                                             SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
    return t_install_filter(test, code, k);
#else
    printf("SKIP %s: cannot hide system calls on this host\n", test);
    return false;
#endif
}

bool t_hide_io_uring(const char *test)
{
#ifdef __NR_io_uring_setup
    const long nr = __NR_io_uring_setup;

    return t_hide_syscalls(test, &nr, 1);
#else
    printf("SKIP %s: no io_uring_setup on this host\n", test);
    return false;
#endif
}

/* 77 when QAIO_FDMON forces a monitor this host cannot give, after saying
 * why; otherwise 0, or EXIT_FAILURE when the library ignores a monitor the
 * host offers. */
static int t_check_forced_fdmon(void)
{
    int forced = t_forced_fdmon();
    const char *missing = NULL;
    const char *got;
    AioContext *probe;
    pid_t pid;
    int status;

    if (forced < 0) {
        return 0;
    }
    if (strcmp(t_fdmons[forced], "io_uring") == 0) {
        missing = t_io_uring_missing();
    }
    if (missing) {
        printf("SKIP: QAIO_FDMON=io_uring, but %s\n", missing);
        return 77;
    }
    /* The probe runs in a child, so that the suite's process starts its
     * tests as a fresh one: no context made, no "once" knob (QAIO_STATS)
     * read yet, which a test may still set. */
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        probe = aio_context_new(&error_abort);
        got = qaio_aio_context_fd_monitor(probe);
        if (strcmp(got, t_fdmons[forced]) != 0) {
            printf("FAIL: QAIO_FDMON=%s, but a new context waits with %s\n",
                   t_fdmons[forced], got);
            fflush(stdout);
            _exit(EXIT_FAILURE);
        }
        aio_context_unref(probe);
        _exit(0);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
        printf("FAIL: the fd-monitor probe did not run or did not exit\n");
        return EXIT_FAILURE;
    }
    return WEXITSTATUS(status) == 0 ? 0 : EXIT_FAILURE;
}

int t_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed = t_check_forced_fdmon();

    if (failed) {
        srunner_free(sr);
        return failed;
    }

    /* CK_ENV: CK_NORMAL unless CK_VERBOSITY asks otherwise. */
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#if defined(T_AUDIT_ARCH)
/* The filter of t_fail_syscall and t_filter_syscall: `action` for system
 * call nr (with arg >= 0, only when argument arg has value in its low 32
 * bits), allow the rest.  code must hold 10 instructions. */
static int t_syscall_filter(struct sock_filter *code, long nr, int arg, uint32_t value,
                            uint32_t action)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, T_AUDIT_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        /* With arg < 0 both jumps below lead to the action. */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                 offsetof(struct seccomp_data, args[arg < 0 ? 0 : arg])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, value, 1, arg < 0 ? 1 : 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, action),
    };
    int n = (int)(sizeof(f) / sizeof(f[0]));

    memcpy(code, f, sizeof(f));
    return n;
}
#endif

bool t_fail_syscall(const char *test, long nr, int arg, uint32_t value, int err)
{
#if defined(T_AUDIT_ARCH)
    struct sock_filter code[10];
    int n = t_syscall_filter(code, nr, arg, value,
                             SECCOMP_RET_ERRNO | ((uint32_t)err & SECCOMP_RET_DATA));

    return t_install_filter(test, code, n);
#else
    printf("SKIP %s: no seccomp arch constant for this host\n", test);
    return false;
#endif
}

int t_filter_syscall(long nr, int arg, uint32_t value, uint32_t action, unsigned flags)
{
#if defined(T_AUDIT_ARCH)
    struct sock_filter code[10];
    int n = t_syscall_filter(code, nr, arg, value, action);

    return t_seccomp(code, n, flags);
#else
    errno = ENOSYS;
    return -1;
#endif
}
