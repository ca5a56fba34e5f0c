/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers of the Check suites, all prefixed t_: choosing an fd monitor
 * for the contexts a test creates (QAIO_FDMON is read at context creation, so
 * a forked test sets it first), probing whether the kernel offers io_uring,
 * small fd and clock utilities, and the one-line runner every main() uses.
 * Black-box: only public headers, nothing from lib/.
 */
#ifndef QAIO_TESTS_HELPERS_H
#define QAIO_TESTS_HELPERS_H

#include "qemu/osdep.h"
#include "block/aio.h"
#include "qapi/error.h"
#include "qaio/fd-monitor.h"

#include "qemu/coroutine.h"
#include "api_level.h"

#include <check.h>
#include <pthread.h>
#include <semaphore.h>

/* The fd monitors, in the order tcase_add_loop_test indexes them. */
extern const char *const t_fdmons[];
extern const int t_n_fdmons;

/* Force the fd monitor of contexts created from now on; NULL restores the
 * automatic choice. */
void t_set_fdmon(const char *name);

/* A new context using monitor t_fdmons[i]; aborts on failure. */
AioContext *t_ctx_new_for_monitor(int i);

/* Drop the test's reference to a context made by t_ctx_new_for_monitor. */
void t_ctx_free(AioContext *ctx);

/* Whether this build has io_uring and the kernel lets us set up a ring. */
bool t_io_uring_available(void);

/* Why io_uring is not available (a static string), or NULL when it is. */
const char *t_io_uring_missing(void);

/* The fd monitor QAIO_FDMON forces (its index in t_fdmons), or -1 when it
 * is unset or names none of them. */
int t_forced_fdmon(void);

/* The range [t_fdmon_lo(), t_fdmon_hi()) of monitors a suite's loop tests
 * cover: the forced monitor alone, so that make check's run per monitor
 * (tests/fdmon-run.sh) does not repeat the others; every monitor this host
 * offers when none is forced (io_uring left out, said once, without it). */
int t_fdmon_lo(void);
int t_fdmon_hi(void);

/* Whether to add the tests that pick their monitor themselves (the
 * automatic choice, a forced monitor the kernel refuses): they run once,
 * in the run for t_fdmons[0] or when no monitor is forced, not in each of
 * make check's runs per monitor. */
bool t_fdmon_free_tests_run_here(void);

/* Fails the test unless ctx waits with the monitor QAIO_FDMON forces (no
 * check when none is forced). */
void t_assert_fdmon(AioContext *ctx);

/*
 * Make system call `nr` fail with `err` in this (forked) test process: every
 * call, or with arg >= 0 only the calls whose argument number `arg` has
 * `value` in its low 32 bits (little-endian hosts).  This is how tests play
 * an older kernel.  False, with the reason printed under `test`, when it
 * cannot be arranged (no seccomp, CK_FORK=no, a host without an arch
 * constant).
 */
bool t_fail_syscall(const char *test, long nr, int arg, uint32_t value, int err);

/* The filter of t_fail_syscall with any seccomp `action` for the matching
 * calls (e.g. SECCOMP_RET_USER_NOTIF), installed with seccomp(2) `flags`;
 * returns what seccomp(2) returns (a listener fd with
 * SECCOMP_FILTER_FLAG_NEW_LISTENER), or -1 with errno, printing nothing. */
int t_filter_syscall(long nr, int arg, uint32_t value, uint32_t action, unsigned flags);

/* How many fds the many-fd tests open. */
enum { T_MANY_FDS = 1000 };

/* Raise this process's soft fd limit to at least `want`; false when the
 * hard limit does not allow it.  Called while a suite is built, so that
 * every forked test inherits the limit. */
bool t_ensure_fd_limit(long want);

/* A new non-blocking, close-on-exec eventfd; aborts on failure. */
int t_eventfd(void);

/* Run aio_poll(ctx, false) until it reports no progress. */
void t_drain_ctx(AioContext *ctx);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t t_now_ns(void);

/* Capture what the process writes to stderr from t_stderr_begin() on;
 * t_stderr_end() restores stderr and returns the text (g_free it). */
void t_stderr_begin(void);
char *t_stderr_end(void);

/* Runs fn() in a forked child whose stderr is a pipe; stores what the child
 * printed (NUL-terminated, cut at size - 1 bytes) and returns its waitpid
 * status.  The child exits with 0 when fn returns. */
int t_run_in_child(void (*fn)(void), char *out, size_t size);

/* Runs `misuse` in a child (t_run_in_child); asserts that the child died of
 * SIGABRT and that its message contains `what` and `culprit` (each unless NULL).
 * The caller then repeats the misuse in its own process, so Check sees the
 * SIGABRT too (after t_silence_stderr, as the text was checked here). */
void t_expect_abort_naming(void (*misuse)(void), const char *what, const char *culprit);

/* Sends this process's stderr to /dev/null. */
void t_silence_stderr(void);

/* Makes the given system calls fail with ENOSYS in this (forked) test
 * process, as a kernel or a container's seccomp profile without them would.
 * False, with the reason printed, when that cannot be arranged (no seccomp,
 * an unknown architecture, or CK_FORK=no, where the filter would outlive the
 * test).  t_hide_io_uring hides io_uring_setup. */
bool t_hide_syscalls(const char *test, const long *nrs, int n);
bool t_hide_io_uring(const char *test);

/* Run every test of the suite (CK_NORMAL output unless CK_VERBOSITY says
 * otherwise; CK_RUN_CASE, CK_FORK... apply), free the runner and return
 * EXIT_SUCCESS or EXIT_FAILURE for main().  When QAIO_FDMON forces a
 * monitor this host cannot give, nothing runs: the reason is printed and
 * the result is 77, automake's skip. */
int t_run_suite(Suite *s);

/* ---- coroutine helpers shared by the coroutine-lock suites ---------------- */

/* An append-only record of what ran, compared as a string. */
typedef struct {
    char buf[256];
    size_t len;
} TLog;

/* Append s to the log; fails the test when the log would overflow. */
void t_log_add(TLog *l, const char *s);

/* Create a coroutine and enter it; returns it (it may have ended). */
Coroutine *t_co_start(CoroutineEntry *fn, void *arg);

/* A new context, bound as this thread's current one (once per thread). */
AioContext *t_ctx_new_current(void);

/* Run aio_poll(ctx, true) until *flag reads value (acquire). */
void t_run_until(AioContext *ctx, const int *flag, int value);

/* For a caller without a loop to run: poll until *counter reads value. */
void t_wait_for_count(const int *counter, int value);

/* A thread that owns a context and polls it until t_iothread_join. */
typedef struct {
    pthread_t tid;
    AioContext *ctx;
    sem_t ready;
    int stop;
} TIoThread;

/* Start the thread; returns once its context exists. */
void t_iothread_start(TIoThread *t);

/* Stop the thread through a BH in its context, join it, drop the context. */
void t_iothread_join(TIoThread *t);

/* The two threads of a cross-thread test, started and joined together. */
void t_iothread_pair_start(TIoThread *a, TIoThread *b);
void t_iothread_pair_join(TIoThread *a, TIoThread *b);

/* Create and start a coroutine in the thread that polls ctx. */
void t_spawn_in(AioContext *ctx, CoroutineEntry *fn, void *arg);

#ifdef _WIN32
/* POSIX's re-entrant rand() and setenv(), which mingw's C library lacks. */
int rand_r(unsigned *seed);
int setenv(const char *name, const char *value, int overwrite);
#endif

#endif
