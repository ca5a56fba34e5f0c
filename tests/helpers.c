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
    if (i < 0 || i >= t_n_fdmons) {
        ck_abort_msg("no fd monitor number %d", i);
    }
    t_set_fdmon(t_fdmons[i]);
    return aio_context_new(&error_abort);
}

void t_ctx_free(AioContext *ctx)
{
    aio_context_unref(ctx);
}

bool t_io_uring_available(void)
{
#if defined(CONFIG_LINUX_IO_URING) && defined(__NR_io_uring_setup)
    struct io_uring_params params;
    long fd;

    memset(&params, 0, sizeof(params));
    fd = syscall(__NR_io_uring_setup, 2, &params);
    if (fd < 0) {
        /* ENOSYS: old kernel; EPERM: disabled by sysctl or seccomp. */
        return false;
    }
    close((int)fd);
    return true;
#else
    return false;
#endif
}

int t_eventfd(void)
{
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

    if (fd < 0) {
        ck_abort_msg("eventfd: %s", strerror(errno));
    }
    return fd;
}

void t_drain_ctx(AioContext *ctx)
{
    while (aio_poll(ctx, false)) {
        /* keep going until an iteration makes no progress */
    }
}

int64_t t_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int t_saved_stderr = -1;
static FILE *t_captured;

void t_stderr_begin(void)
{
    t_captured = tmpfile();
    if (!t_captured) {
        ck_abort_msg("tmpfile: %s", strerror(errno));
    }
    fflush(stderr);
    t_saved_stderr = dup(STDERR_FILENO);
    dup2(fileno(t_captured), STDERR_FILENO);
}

char *t_stderr_end(void)
{
    char *text = g_malloc0(65536);
    size_t n;

    fflush(stderr);
    dup2(t_saved_stderr, STDERR_FILENO);
    close(t_saved_stderr);
    rewind(t_captured);
    n = fread(text, 1, 65535, t_captured);
    text[n] = '\0';
    fclose(t_captured);
    return text;
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
/* Installs a seccomp filter in this (forked) test process; false, with the
 * reason printed under `test`, when that cannot be done. */
static bool t_install_filter(const char *test, struct sock_filter *code, int len)
{
    struct sock_fprog prog = { .len = (unsigned short)len, .filter = code };
    const char *fork_mode = getenv("CK_FORK");

    if (fork_mode && strcmp(fork_mode, "no") == 0) {
        printf("SKIP %s: needs CK_FORK (the filter would outlive the test)\n", test);
        return false;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
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

int t_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    /* CK_ENV: CK_NORMAL unless CK_VERBOSITY asks otherwise. */
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

bool t_fail_syscall(const char *test, long nr, int arg, uint32_t value, int err)
{
#if defined(T_AUDIT_ARCH)
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, T_AUDIT_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        /* With arg < 0 both jumps below lead to the error. */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                 offsetof(struct seccomp_data, args[arg < 0 ? 0 : arg])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, value, 1, arg < 0 ? 1 : 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((uint32_t)err & SECCOMP_RET_DATA)),
    };
    return t_install_filter(test, code, (int)(sizeof(code) / sizeof(code[0])));
#else
    printf("SKIP %s: no seccomp arch constant for this host\n", test);
    return false;
#endif
}
