/* SPDX-License-Identifier: MIT */
/*
 * Suite "thread_pool_generic": QEMU 10.0's generic ThreadPool (10.0 level
 * only).  Work items with a destroy notifier, immediate submission, waiting
 * for the work without freeing the pool, the maximum set and adjusted to
 * the work, freeing a pool with work queued, and the AIO pool's submissions
 * on the current context.  Items that must run side by side meet at a
 * rendezvous with a generous deadline: a pool that cannot run them together
 * makes them miss it, and the test fails instead of hanging.
 */
#include "qemu/osdep.h"
#include "block/aio.h"
#include "block/thread-pool.h"
#include "qemu/coroutine.h"
#include "qapi/error.h"
#include "helpers.h"

#include <pthread.h>
#include <time.h>

/* ---- items ---------------------------------------------------------------- */

typedef struct {
    int ran;          /* the work ran (atomic) */
    int destroyed;    /* the notifier ran (atomic) */
    int ran_first;    /* the work had run when the notifier ran */
    pthread_t work_thread;
    pthread_t destroy_thread;
} Item;

static int count_work(void *opaque)
{
    Item *it = opaque;

    it->work_thread = pthread_self();
    qatomic_store_release(&it->ran, 1);
    return 0;
}

static void destroy_item(void *opaque)
{
    Item *it = opaque;

    it->destroy_thread = pthread_self();
    it->ran_first = qatomic_load_acquire(&it->ran);
    qatomic_store_release(&it->destroyed, 1);
}

/* ---- rendezvous: n items that must all be running at once ------------------- */

static pthread_mutex_t meet_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t meet_cond = PTHREAD_COND_INITIALIZER;
static int meet_arrived;
static int meet_want;
static int meet_missed;

static void meet_reset(int want)
{
    meet_arrived = 0;
    meet_missed = 0;
    meet_want = want;
}

/* Waits up to 20 s for meet_want items to arrive; counts a miss. */
static int meet_work(void *opaque)
{
    struct timespec deadline;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 20;
    pthread_mutex_lock(&meet_lock);
    meet_arrived++;
    pthread_cond_broadcast(&meet_cond);
    while (meet_arrived < meet_want) {
        if (pthread_cond_timedwait(&meet_cond, &meet_lock, &deadline) != 0) {
            meet_missed++;
            break;
        }
    }
    pthread_mutex_unlock(&meet_lock);
    return 0;
}

/* ---- tests ------------------------------------------------------------------- */

START_TEST(submit_runs_the_work_then_its_destroy_notifier_on_the_worker)
{
    ThreadPool *pool = thread_pool_new();
    Item items[8] = {{0}};

    ck_assert(thread_pool_set_max_threads(pool, 2));
    for (int i = 0; i < 8; i++) {
        thread_pool_submit(pool, count_work, &items[i], destroy_item);
    }
    thread_pool_wait(pool);
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(items[i].ran, 1);
        ck_assert_int_eq(items[i].destroyed, 1);
        ck_assert_int_eq(items[i].ran_first, 1);
        ck_assert(pthread_equal(items[i].work_thread, items[i].destroy_thread));
        ck_assert(!pthread_equal(items[i].work_thread, pthread_self()));
    }
    thread_pool_free(pool);
}
END_TEST

START_TEST(submit_without_a_notifier_runs_the_work)
{
    ThreadPool *pool = thread_pool_new();
    Item it = {0};

    ck_assert(thread_pool_set_max_threads(pool, 1));
    thread_pool_submit(pool, count_work, &it, NULL);
    thread_pool_wait(pool);
    ck_assert_int_eq(it.ran, 1);
    ck_assert_int_eq(it.destroyed, 0);
    thread_pool_free(pool);
}
END_TEST

START_TEST(wait_returns_after_all_work_and_the_pool_stays_usable)
{
    ThreadPool *pool = thread_pool_new();
    Item first[16] = {{0}}, second[16] = {{0}};

    ck_assert(thread_pool_set_max_threads(pool, 4));
    for (int i = 0; i < 16; i++) {
        thread_pool_submit(pool, count_work, &first[i], destroy_item);
    }
    thread_pool_wait(pool);
    for (int i = 0; i < 16; i++) {
        ck_assert_int_eq(first[i].destroyed, 1);
    }
    for (int i = 0; i < 16; i++) {
        thread_pool_submit(pool, count_work, &second[i], destroy_item);
    }
    thread_pool_wait(pool);
    for (int i = 0; i < 16; i++) {
        ck_assert_int_eq(second[i].destroyed, 1);
    }
    /* Nothing outstanding: returns at once. */
    thread_pool_wait(pool);
    thread_pool_free(pool);
}
END_TEST

START_TEST(immediate_submissions_run_side_by_side_in_a_new_pool)
{
    ThreadPool *pool = thread_pool_new();

    /* No maximum was set: each immediate submission raises it to the work. */
    meet_reset(4);
    for (int i = 0; i < 4; i++) {
        thread_pool_submit_immediate(pool, meet_work, NULL, NULL);
    }
    thread_pool_wait(pool);
    ck_assert_int_eq(meet_arrived, 4);
    ck_assert_int_eq(meet_missed, 0);
    thread_pool_free(pool);
}
END_TEST

START_TEST(max_threads_adjusted_to_work_runs_all_queued_items_at_once)
{
    ThreadPool *pool = thread_pool_new();

    ck_assert(thread_pool_set_max_threads(pool, 1));
    meet_reset(5);
    for (int i = 0; i < 5; i++) {
        thread_pool_submit(pool, meet_work, NULL, NULL);
    }
    /* With one thread the five could never meet; adjusted, they do. */
    ck_assert(thread_pool_adjust_max_threads_to_work(pool));
    thread_pool_wait(pool);
    ck_assert_int_eq(meet_arrived, 5);
    ck_assert_int_eq(meet_missed, 0);
    thread_pool_free(pool);
}
END_TEST

START_TEST(set_max_threads_lets_that_many_run_together)
{
    ThreadPool *pool = thread_pool_new();

    ck_assert(thread_pool_set_max_threads(pool, 3));
    meet_reset(3);
    for (int i = 0; i < 3; i++) {
        thread_pool_submit(pool, meet_work, NULL, NULL);
    }
    thread_pool_wait(pool);
    ck_assert_int_eq(meet_missed, 0);
    thread_pool_free(pool);
}
END_TEST

START_TEST(free_runs_the_queued_work_first)
{
    ThreadPool *pool = thread_pool_new();
    Item items[4] = {{0}};

    /* Never sized: free still runs what is queued before it returns. */
    for (int i = 0; i < 4; i++) {
        thread_pool_submit(pool, count_work, &items[i], destroy_item);
    }
    thread_pool_free(pool);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(items[i].destroyed, 1);
    }
    thread_pool_free(NULL);
}
END_TEST

START_TEST(set_max_threads_to_zero_aborts)
{
    ThreadPool *pool = thread_pool_new();

    thread_pool_set_max_threads(pool, 0);
}
END_TEST

/* ---- the AIO pool on the current context ----------------------------------- */

static int return_42(void *opaque)
{
    return 42;
}

static void aio_done(void *opaque, int ret)
{
    *(int *)opaque = ret;
}

typedef struct {
    int ret;
    int done;
} CoJob;

static void coroutine_fn co_submit_entry(void *opaque)
{
    CoJob *j = opaque;

    j->ret = thread_pool_submit_co(return_42, NULL);
    qatomic_store_release(&j->done, 1);
}

START_TEST(aio_submissions_use_the_current_contexts_pool)
{
    AioContext *ctx = t_ctx_new_current();
    ThreadPoolAio *own = thread_pool_new_aio(ctx);
    int result = -1;
    CoJob j = {-1, 0};

    ck_assert_ptr_nonnull(aio_get_thread_pool(ctx));
    ck_assert_ptr_ne(aio_get_thread_pool(ctx), own);
    thread_pool_submit_aio(return_42, NULL, aio_done, &result);
    while (result == -1) {
        aio_poll(ctx, true);
    }
    ck_assert_int_eq(result, 42);
    t_co_start(co_submit_entry, &j);
    t_run_until(ctx, &j.done, 1);
    ck_assert_int_eq(j.ret, 42);
    thread_pool_update_params(own, ctx);
    thread_pool_free_aio(own);
    thread_pool_free_aio(NULL);
    t_drain_ctx(ctx);
    aio_context_unref(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("thread_pool_generic");
    TCase *tc = tcase_create("generic");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, submit_runs_the_work_then_its_destroy_notifier_on_the_worker);
    tcase_add_test(tc, submit_without_a_notifier_runs_the_work);
    tcase_add_test(tc, wait_returns_after_all_work_and_the_pool_stays_usable);
    tcase_add_test(tc, immediate_submissions_run_side_by_side_in_a_new_pool);
    tcase_add_test(tc, max_threads_adjusted_to_work_runs_all_queued_items_at_once);
    tcase_add_test(tc, set_max_threads_lets_that_many_run_together);
    tcase_add_test(tc, free_runs_the_queued_work_first);
    tcase_add_test_raise_signal(tc, set_max_threads_to_zero_aborts, SIGABRT);
    suite_add_tcase(s, tc);

    tc = tcase_create("aio");
    tcase_add_test(tc, aio_submissions_use_the_current_contexts_pool);
    suite_add_tcase(s, tc);
    return t_run_suite(s);
}
