/* SPDX-License-Identifier: MIT */
/*
 * The subset of Check's API (check.h) that qaio's platform-neutral suites use,
 * for the Windows build, where Check has no mingw port: the same suite
 * sources compile against it.  Tests run in the process, one after the
 * other, each on a new thread (no fork: per-thread state starts fresh, but a
 * failing assertion ends its test with a longjmp, and a test that crashes
 * ends the run); tcase_add_test_raise_signal tests are
 * reported as skipped (Windows has no signals to catch them with);
 * timeouts are not enforced (the Wine runner bounds the whole program).
 * srunner_run_all prints one line per failure and "N passed, N failed".
 */
#ifndef QAIO_TESTS_WIN32_CHECK_H
#define QAIO_TESTS_WIN32_CHECK_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*TFun)(int _i);
typedef void (*SFun)(void);

typedef struct TCaseTest {
    const char *name;
    TFun fn;
    int lo, hi;          /* loop range; [0, 1) for a plain test */
    bool needs_signal;   /* tcase_add_test_raise_signal: skipped here */
    struct TCaseTest *next;
} TCaseTest;

typedef struct TCase {
    const char *name;
    TCaseTest *tests, **tail;
    SFun setup, teardown;
    struct TCase *next;
} TCase;

typedef struct Suite {
    const char *name;
    TCase *cases, **tail;
} Suite;

typedef struct SRunner {
    Suite *suite;
    int passed, failed, skipped;
} SRunner;

enum print_output { CK_SILENT, CK_MINIMAL, CK_NORMAL, CK_VERBOSE, CK_ENV };
enum fork_status { CK_FORK_GETENV, CK_NOFORK, CK_FORK };

/* The running test's escape and verdict (one test at a time). */
extern jmp_buf ck_win32_escape;
extern const char *ck_win32_test_name;

#define START_TEST(name) static void name(int _i)
#define END_TEST

Suite *suite_create(const char *name);
TCase *tcase_create(const char *name);
void suite_add_tcase(Suite *s, TCase *tc);
void ck_win32_add(TCase *tc, const char *name, TFun fn, int lo, int hi, bool signal);
#define tcase_add_test(tc, fn) ck_win32_add(tc, #fn, fn, 0, 1, false)
#define tcase_add_loop_test(tc, fn, lo, hi) ck_win32_add(tc, #fn, fn, lo, hi, false)
#define tcase_add_test_raise_signal(tc, fn, sig) ck_win32_add(tc, #fn, fn, 0, 1, true)
void tcase_add_checked_fixture(TCase *tc, SFun setup, SFun teardown);
void tcase_add_unchecked_fixture(TCase *tc, SFun setup, SFun teardown);
static inline void tcase_set_timeout(TCase *tc, double seconds) { (void)tc; (void)seconds; }

SRunner *srunner_create(Suite *s);
void srunner_set_fork_status(SRunner *sr, enum fork_status fs);
static inline enum fork_status srunner_fork_status(SRunner *sr) { (void)sr; return CK_NOFORK; }
void srunner_run_all(SRunner *sr, enum print_output mode);
int srunner_ntests_failed(SRunner *sr);
void srunner_free(SRunner *sr);

void ck_win32_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(gnu_printf, 3, 4), noreturn));

#define mark_point() ((void)0)
#define ck_abort_msg(...) ck_win32_fail(__FILE__, __LINE__, __VA_ARGS__)
#define ck_abort() ck_abort_msg("aborted")
#define ck_assert_msg(cond, ...) \
    do { if (!(cond)) ck_win32_fail(__FILE__, __LINE__, __VA_ARGS__); } while (0)
#define ck_assert(cond) ck_assert_msg(cond, "assertion '%s' failed", #cond)

#define CK_WIN32_CMP(type, fmt, x, op, y)                                          \
    do {                                                                           \
        type _ck_x = (x);                                                          \
        type _ck_y = (y);                                                          \
        ck_assert_msg(_ck_x op _ck_y, "assertion '%s %s %s' failed: %s == " fmt   \
                      ", %s == " fmt, #x, #op, #y, #x, _ck_x, #y, _ck_y);          \
    } while (0)
#define ck_assert_int_eq(x, y) CK_WIN32_CMP(intmax_t, "%jd", x, ==, y)
#define ck_assert_int_ne(x, y) CK_WIN32_CMP(intmax_t, "%jd", x, !=, y)
#define ck_assert_int_lt(x, y) CK_WIN32_CMP(intmax_t, "%jd", x, <, y)
#define ck_assert_int_le(x, y) CK_WIN32_CMP(intmax_t, "%jd", x, <=, y)
#define ck_assert_int_gt(x, y) CK_WIN32_CMP(intmax_t, "%jd", x, >, y)
#define ck_assert_int_ge(x, y) CK_WIN32_CMP(intmax_t, "%jd", x, >=, y)
#define ck_assert_uint_eq(x, y) CK_WIN32_CMP(uintmax_t, "%ju", x, ==, y)
#define ck_assert_uint_ne(x, y) CK_WIN32_CMP(uintmax_t, "%ju", x, !=, y)
#define ck_assert_uint_lt(x, y) CK_WIN32_CMP(uintmax_t, "%ju", x, <, y)
#define ck_assert_uint_le(x, y) CK_WIN32_CMP(uintmax_t, "%ju", x, <=, y)
#define ck_assert_uint_gt(x, y) CK_WIN32_CMP(uintmax_t, "%ju", x, >, y)
#define ck_assert_uint_ge(x, y) CK_WIN32_CMP(uintmax_t, "%ju", x, >=, y)
#define ck_assert_ptr_eq(x, y) CK_WIN32_CMP(const void *, "%p", x, ==, y)
#define ck_assert_ptr_ne(x, y) CK_WIN32_CMP(const void *, "%p", x, !=, y)
#define ck_assert_ptr_null(x) ck_assert_ptr_eq(x, NULL)
#define ck_assert_ptr_nonnull(x) ck_assert_ptr_ne(x, NULL)
#define ck_assert_str_eq(x, y)                                                     \
    do {                                                                           \
        const char *_ck_x = (x), *_ck_y = (y);                                     \
        ck_assert_msg(strcmp(_ck_x, _ck_y) == 0, "assertion '%s == %s' failed: "   \
                      "\"%s\" vs \"%s\"", #x, #y, _ck_x, _ck_y);                   \
    } while (0)

#endif
