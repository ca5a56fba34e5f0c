/* SPDX-License-Identifier: MIT */
/*
 * Suite "bh_guard": the re-entrancy guard of QEMU 7.2's stable series
 * (aio_bh_new_guarded, qemu_bh_new_guarded).  Device code refuses MMIO that
 * arrives while its own BH runs by looking at guard->engaged_in_io, so the
 * guard must be engaged for exactly the duration of the callback and come
 * back to its earlier value afterwards, also when guarded BHs nest, when the
 * guard is engaged already (the BH still runs) and when the callback deletes
 * its own BH.
 */
#include "qemu/osdep.h"
#include "block/aio.h"
#include "qemu/main-loop.h"
#include "helpers.h"

typedef struct {
    QEMUBH *bh;
    MemReentrancyGuard *guard;
    int runs;
    bool seen_engaged;      /* guard->engaged_in_io inside the callback */
    bool delete_self;
    QEMUBH *inner;          /* scheduled and polled from inside the callback */
    AioContext *ctx;
} GuardData;

static AioContext *new_ctx(void)
{
    AioContext *ctx = aio_context_new(&error_abort);

    qemu_set_current_aio_context(ctx);
    t_drain_ctx(ctx);
    return ctx;
}

static void free_ctx(AioContext *ctx)
{
    t_drain_ctx(ctx);
    aio_context_unref(ctx);
}

static void record_cb(void *opaque)
{
    GuardData *d = opaque;

    d->runs++;
    d->seen_engaged = d->guard->engaged_in_io;
    if (d->inner) {
        qemu_bh_schedule(d->inner);
        while (aio_poll(d->ctx, false)) {
            /* run the inner BH inside this callback */
        }
    }
    if (d->delete_self) {
        qemu_bh_delete(d->bh);
        d->bh = NULL;
    }
}

START_TEST(guard_is_engaged_while_the_callback_runs)
{
    AioContext *ctx = new_ctx();
    MemReentrancyGuard guard = { false };
    GuardData d = { .guard = &guard };

    d.bh = aio_bh_new_guarded(ctx, record_cb, &d, &guard);
    qemu_bh_schedule(d.bh);
    ck_assert(aio_poll(ctx, false));
    ck_assert_int_eq(d.runs, 1);
    ck_assert(d.seen_engaged);
    qemu_bh_delete(d.bh);
    free_ctx(ctx);
}
END_TEST

START_TEST(guard_is_released_after_the_callback)
{
    AioContext *ctx = new_ctx();
    MemReentrancyGuard guard = { false };
    GuardData d = { .guard = &guard };

    d.bh = aio_bh_new_guarded(ctx, record_cb, &d, &guard);
    qemu_bh_schedule(d.bh);
    aio_poll(ctx, false);
    ck_assert_int_eq(d.runs, 1);
    ck_assert(!guard.engaged_in_io);
    qemu_bh_delete(d.bh);
    free_ctx(ctx);
}
END_TEST

START_TEST(bh_with_engaged_guard_still_runs_and_leaves_it_engaged)
{
    AioContext *ctx = new_ctx();
    MemReentrancyGuard guard = { true };
    GuardData d = { .guard = &guard };

    d.bh = aio_bh_new_guarded(ctx, record_cb, &d, &guard);
    qemu_bh_schedule(d.bh);
    aio_poll(ctx, false);
    ck_assert_int_eq(d.runs, 1);
    ck_assert(d.seen_engaged);
    ck_assert(guard.engaged_in_io);
    qemu_bh_delete(d.bh);
    free_ctx(ctx);
}
END_TEST

START_TEST(unguarded_bh_leaves_a_device_guard_alone)
{
    AioContext *ctx = new_ctx();
    MemReentrancyGuard guard = { false };
    GuardData d = { .guard = &guard };

    d.bh = aio_bh_new(ctx, record_cb, &d);
    qemu_bh_schedule(d.bh);
    aio_poll(ctx, false);
    ck_assert_int_eq(d.runs, 1);
    ck_assert(!d.seen_engaged);
    qemu_bh_delete(d.bh);
    free_ctx(ctx);
}
END_TEST

START_TEST(nested_bhs_of_one_guard_keep_it_engaged_until_the_outer_returns)
{
    AioContext *ctx = new_ctx();
    MemReentrancyGuard guard = { false };
    GuardData inner = { .guard = &guard };
    GuardData outer = { .guard = &guard, .ctx = ctx };
    bool engaged_after_inner;

    inner.bh = aio_bh_new_guarded(ctx, record_cb, &inner, &guard);
    outer.bh = aio_bh_new_guarded(ctx, record_cb, &outer, &guard);
    outer.inner = inner.bh;
    qemu_bh_schedule(outer.bh);
    aio_poll(ctx, false);
    engaged_after_inner = outer.seen_engaged;
    ck_assert_int_eq(outer.runs, 1);
    ck_assert_int_eq(inner.runs, 1);
    ck_assert(inner.seen_engaged);
    ck_assert(engaged_after_inner);
    ck_assert(!guard.engaged_in_io);
    qemu_bh_delete(inner.bh);
    qemu_bh_delete(outer.bh);
    free_ctx(ctx);
}
END_TEST

/* The outer callback reads its guard after the inner BH ran: the inner
 * BH's restore must not have released the outer's engagement. */
static void outer_reads_after_inner_cb(void *opaque)
{
    GuardData *d = opaque;

    d->runs++;
    qemu_bh_schedule(d->inner);
    while (aio_poll(d->ctx, false)) {
    }
    d->seen_engaged = d->guard->engaged_in_io;
}

START_TEST(inner_guarded_bh_restores_the_outer_engagement)
{
    AioContext *ctx = new_ctx();
    MemReentrancyGuard guard = { false };
    GuardData inner = { .guard = &guard };
    GuardData outer = { .guard = &guard, .ctx = ctx };

    inner.bh = aio_bh_new_guarded(ctx, record_cb, &inner, &guard);
    outer.bh = aio_bh_new_guarded(ctx, outer_reads_after_inner_cb, &outer, &guard);
    outer.inner = inner.bh;
    qemu_bh_schedule(outer.bh);
    aio_poll(ctx, false);
    ck_assert_int_eq(inner.runs, 1);
    ck_assert(outer.seen_engaged);
    ck_assert(!guard.engaged_in_io);
    qemu_bh_delete(inner.bh);
    qemu_bh_delete(outer.bh);
    free_ctx(ctx);
}
END_TEST

START_TEST(nested_bhs_of_two_guards_engage_each_its_own)
{
    AioContext *ctx = new_ctx();
    MemReentrancyGuard g_outer = { false }, g_inner = { false };
    GuardData inner = { .guard = &g_outer };   /* inner looks at the outer's */
    GuardData outer = { .guard = &g_inner, .ctx = ctx };

    inner.bh = aio_bh_new_guarded(ctx, record_cb, &inner, &g_inner);
    outer.bh = aio_bh_new_guarded(ctx, record_cb, &outer, &g_outer);
    outer.inner = inner.bh;
    qemu_bh_schedule(outer.bh);
    aio_poll(ctx, false);
    ck_assert(inner.seen_engaged);     /* the outer's guard, still engaged */
    ck_assert(!g_outer.engaged_in_io);
    ck_assert(!g_inner.engaged_in_io);
    qemu_bh_delete(inner.bh);
    qemu_bh_delete(outer.bh);
    free_ctx(ctx);
}
END_TEST

START_TEST(bh_deleting_itself_still_releases_its_guard)
{
    AioContext *ctx = new_ctx();
    MemReentrancyGuard guard = { false };
    GuardData d = { .guard = &guard, .delete_self = true };

    d.bh = aio_bh_new_guarded(ctx, record_cb, &d, &guard);
    qemu_bh_schedule(d.bh);
    aio_poll(ctx, false);
    ck_assert_int_eq(d.runs, 1);
    ck_assert(d.seen_engaged);
    ck_assert_ptr_null(d.bh);
    ck_assert(!guard.engaged_in_io);
    free_ctx(ctx);
}
END_TEST

START_TEST(aio_bh_call_engages_the_guard_too)
{
    AioContext *ctx = new_ctx();
    MemReentrancyGuard guard = { false };
    GuardData d = { .guard = &guard };

    d.bh = aio_bh_new_guarded(ctx, record_cb, &d, &guard);
    aio_bh_call(d.bh);
    ck_assert(d.seen_engaged);
    ck_assert(!guard.engaged_in_io);
    qemu_bh_delete(d.bh);
    free_ctx(ctx);
}
END_TEST

START_TEST(qemu_bh_new_guarded_engages_the_guard_in_the_main_loop)
{
    MemReentrancyGuard guard = { false };
    GuardData d = { .guard = &guard };

    qemu_init_main_loop(&error_abort);
    d.bh = qemu_bh_new_guarded(record_cb, &d, &guard);
    qemu_bh_schedule(d.bh);
    while (d.runs == 0) {
        main_loop_wait(false);
    }
    ck_assert(d.seen_engaged);
    ck_assert(!guard.engaged_in_io);
    qemu_bh_delete(d.bh);
}
END_TEST

static Suite *bh_guard_suite(void)
{
    Suite *s = suite_create("bh_guard");
    TCase *tc = tcase_create("guard");

    tcase_add_test(tc, guard_is_engaged_while_the_callback_runs);
    tcase_add_test(tc, guard_is_released_after_the_callback);
    tcase_add_test(tc, bh_with_engaged_guard_still_runs_and_leaves_it_engaged);
    tcase_add_test(tc, unguarded_bh_leaves_a_device_guard_alone);
    tcase_add_test(tc, nested_bhs_of_one_guard_keep_it_engaged_until_the_outer_returns);
    tcase_add_test(tc, inner_guarded_bh_restores_the_outer_engagement);
    tcase_add_test(tc, nested_bhs_of_two_guards_engage_each_its_own);
    tcase_add_test(tc, bh_deleting_itself_still_releases_its_guard);
    tcase_add_test(tc, aio_bh_call_engages_the_guard_too);
    suite_add_tcase(s, tc);

    tc = tcase_create("main_loop");
    tcase_add_test(tc, qemu_bh_new_guarded_engages_the_guard_in_the_main_loop);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return t_run_suite(bh_guard_suite());
}
