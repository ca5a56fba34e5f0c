/* SPDX-License-Identifier: MIT */
/* The runner of tests/win32/check.h (see there). */
#include "check.h"

#include <stdarg.h>
#include <windows.h>

jmp_buf ck_win32_escape;
const char *ck_win32_test_name;

static void *ck_alloc(size_t n)
{
    void *p = calloc(1, n);
    if (!p) {
        fputs("check: out of memory\n", stderr);
        abort();
    }
    return p;
}

Suite *suite_create(const char *name)
{
    Suite *s = ck_alloc(sizeof *s);
    s->name = name;
    s->tail = &s->cases;
    return s;
}

TCase *tcase_create(const char *name)
{
    TCase *tc = ck_alloc(sizeof *tc);
    tc->name = name;
    tc->tail = &tc->tests;
    return tc;
}

void suite_add_tcase(Suite *s, TCase *tc)
{
    *s->tail = tc;
    s->tail = &tc->next;
}

void ck_win32_add(TCase *tc, const char *name, TFun fn, int lo, int hi, bool signal)
{
    TCaseTest *t = ck_alloc(sizeof *t);
    t->name = name;
    t->fn = fn;
    t->lo = lo;
    t->hi = hi;
    t->needs_signal = signal;
    *tc->tail = t;
    tc->tail = &t->next;
}

void tcase_add_checked_fixture(TCase *tc, SFun setup, SFun teardown)
{
    tc->setup = setup;
    tc->teardown = teardown;
}

void tcase_add_unchecked_fixture(TCase *tc, SFun setup, SFun teardown)
{
    tcase_add_checked_fixture(tc, setup, teardown);
}

SRunner *srunner_create(Suite *s)
{
    SRunner *sr = ck_alloc(sizeof *sr);
    sr->suite = s;
    return sr;
}

void srunner_set_fork_status(SRunner *sr, enum fork_status fs)
{
    (void)sr;
    (void)fs;
}

void ck_win32_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    printf("%s:%d:F:%s: ", file, line, ck_win32_test_name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    longjmp(ck_win32_escape, 1);
}

/* CK_RUN_CASE and CK_RUN_TEST narrow the run, as with Check. */
static bool selected(const char *var, const char *name)
{
    const char *want = getenv(var);
    return !want || !*want || strcmp(want, name) == 0;
}

typedef struct {
    TCase *tc;
    TCaseTest *t;
    int i;
    bool passed;
} OneRun;

static DWORD WINAPI one_run(LPVOID arg)
{
    OneRun *r = arg;

    if (setjmp(ck_win32_escape) == 0) {
        if (r->tc->setup) {
            r->tc->setup();
        }
        r->t->fn(r->i);
        if (r->tc->teardown) {
            r->tc->teardown();
        }
        r->passed = true;
    }
    return 0;
}

/* Each test on a thread of its own: the nearest to Check's fork here, so
 * that per-thread state (the thread's current AioContext, its coroutine)
 * starts fresh for every test, as the suites expect. */
static bool run_on_new_thread(TCase *tc, TCaseTest *t, int i)
{
    OneRun r = { tc, t, i, false };
    HANDLE h = CreateThread(NULL, 0, one_run, &r, 0, NULL);

    if (!h) {
        printf("%s: cannot create its thread (error %lu)\n", t->name, GetLastError());
        return false;
    }
    WaitForSingleObject(h, INFINITE);
    CloseHandle(h);
    return r.passed;
}

void srunner_run_all(SRunner *sr, enum print_output mode)
{
    (void)mode;
    for (TCase *tc = sr->suite->cases; tc; tc = tc->next) {
        if (!selected("CK_RUN_CASE", tc->name)) {
            continue;
        }
        for (TCaseTest *t = tc->tests; t; t = t->next) {
            if (!selected("CK_RUN_TEST", t->name)) {
                continue;
            }
            if (t->needs_signal) {
                printf("%s: SKIP (expects a signal; Windows has none to catch)\n", t->name);
                sr->skipped++;
                continue;
            }
            for (int i = t->lo; i < t->hi; i++) {
                ck_win32_test_name = t->name;
                if (run_on_new_thread(tc, t, i)) {
                    sr->passed++;
                } else {
                    sr->failed++;
                }
            }
        }
    }
    printf("%s: %d passed, %d failed, %d skipped\n", sr->suite->name, sr->passed,
           sr->failed, sr->skipped);
    fflush(stdout);
}

int srunner_ntests_failed(SRunner *sr)
{
    return sr->failed;
}

void srunner_free(SRunner *sr)
{
    free(sr);
}
