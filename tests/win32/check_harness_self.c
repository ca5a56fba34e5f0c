/* SPDX-License-Identifier: MIT */
/*
 * The Windows harness (tests/win32/check.h) tested by itself: a passing
 * test, a failing comparison, a loop test failing at one index, a signal
 * test skipped.  Exits 0 only when exactly the two expected failures and
 * the one skip were counted.
 */
#include "check.h"

START_TEST(passes)
{
    ck_assert_int_eq(1 + 1, 2);
    ck_assert_str_eq("a", "a");
    ck_assert_ptr_null(NULL);
}
END_TEST

START_TEST(fails)
{
    ck_assert_uint_lt(3, 2);
    ck_abort_msg("not reached: a failed assertion ends the test");
}
END_TEST

START_TEST(loops)
{
    ck_assert_int_lt(_i, 3);
}
END_TEST

START_TEST(raises)
{
    abort();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("harness");
    TCase *tc = tcase_create("all");
    SRunner *sr;
    int failed, passed, skipped;

    tcase_add_test(tc, passes);
    tcase_add_test(tc, fails);
    tcase_add_loop_test(tc, loops, 0, 4);
    tcase_add_test_raise_signal(tc, raises, 6);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    passed = sr->passed;
    skipped = sr->skipped;
    srunner_free(sr);
    return failed == 2 && passed == 4 && skipped == 1 ? 0 : 1;
}
