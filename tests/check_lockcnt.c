/* SPDX-License-Identifier: MIT */
/*
 * Suite "lockcnt": QemuLockCnt as a black box.  Cross-thread behaviours are
 * made deterministic with a handshake instead of sleeps: the main thread
 * waits until the helper thread either returns from its operation or is seen
 * asleep in the kernel (/proc/self/task/TID/syscall names the futex call),
 * then changes a flag and releases the lock.  A helper that was wrongly let
 * through reads the flag before it changed; a helper that wrongly stays
 * asleep hangs the test, which Check reports as a timeout.
 */
#include "qemu/osdep.h"
#include "qemu/lockcnt.h"
#include "helpers.h"

#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>

enum op { OP_INC, OP_LOCK, OP_DEC_AND_LOCK, OP_DEC_IF_LOCK };

typedef struct {
    QemuLockCnt *lc;
    enum op op;
    bool unlock_after;      /* release the lock if the operation took it */
    const int *released;    /* flag the main thread sets before unlocking */
    pthread_t th;
    int tid;                /* atomic */
    int started;            /* atomic: about to call the operation */
    int done;               /* atomic: the operation returned */
    int saw_released;       /* *released as read right after the operation */
    bool result;
} Helper;

static void *helper_main(void *opaque)
{
    Helper *h = opaque;
    bool took_lock = false;

    __atomic_store_n(&h->tid, (int)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
    __atomic_store_n(&h->started, 1, __ATOMIC_SEQ_CST);
    switch (h->op) {
    case OP_INC:
        qemu_lockcnt_inc(h->lc);
        break;
    case OP_LOCK:
        qemu_lockcnt_lock(h->lc);
        took_lock = true;
        break;
    case OP_DEC_AND_LOCK:
        took_lock = h->result = qemu_lockcnt_dec_and_lock(h->lc);
        break;
    case OP_DEC_IF_LOCK:
        took_lock = h->result = qemu_lockcnt_dec_if_lock(h->lc);
        break;
    }
    h->saw_released = h->released ? __atomic_load_n(h->released, __ATOMIC_SEQ_CST) : 0;
    __atomic_store_n(&h->done, 1, __ATOMIC_SEQ_CST);
    if (took_lock && h->unlock_after) {
        qemu_lockcnt_unlock(h->lc);
    }
    return NULL;
}

static void helper_start(Helper *h, QemuLockCnt *lc, enum op op,
                         bool unlock_after, const int *released)
{
    memset(h, 0, sizeof(*h));
    h->lc = lc;
    h->op = op;
    h->unlock_after = unlock_after;
    h->released = released;
    ck_assert_int_eq(pthread_create(&h->th, NULL, helper_main, h), 0);
}

static void helper_join(Helper *h)
{
    ck_assert_int_eq(pthread_join(h->th, NULL), 0);
}

/*
 * Whether thread tid is inside the futex system call: 1 yes, 0 no, -1 the
 * kernel does not say (no /proc/.../syscall).
 */
static int in_futex(int tid)
{
    char path[64], buf[64];
    FILE *f;
    long nr;
    int ret = -1;

    snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
    f = fopen(path, "r");
    if (!f) {
        return -1;
    }
    if (fgets(buf, sizeof(buf), f)) {
        ret = sscanf(buf, "%ld", &nr) == 1 && nr == SYS_futex;
    }
    fclose(f);
    return ret;
}

/*
 * Wait until the helper has either finished its operation (returns false) or
 * is asleep in the kernel waiting for the lock counter (returns true).
 */
static bool helper_blocks(Helper *h)
{
    long spins = 0;

    while (!__atomic_load_n(&h->started, __ATOMIC_SEQ_CST)) {
        sched_yield();
    }
    for (;;) {
        int state;

        if (__atomic_load_n(&h->done, __ATOMIC_SEQ_CST)) {
            return false;
        }
        state = in_futex(__atomic_load_n(&h->tid, __ATOMIC_SEQ_CST));
        if (state == 1) {
            return true;
        }
        if (state < 0 && ++spins > 100000) {
            /* No way to see the sleep: assume it after many yields. */
            return true;
        }
        sched_yield();
    }
}

static void release_flag(int *released)
{
    __atomic_store_n(released, 1, __ATOMIC_SEQ_CST);
}

/* ---- counting ----------------------------------------------------------- */

START_TEST(init_gives_a_zero_count)
{
    QemuLockCnt lc;

    memset(&lc, 0xff, sizeof(lc));
    qemu_lockcnt_init(&lc);
    ck_assert_uint_eq(qemu_lockcnt_count(&lc), 0);
    qemu_lockcnt_destroy(&lc);
}
END_TEST

START_TEST(inc_and_dec_change_the_count_by_one)
{
    QemuLockCnt lc;
    int i;

    qemu_lockcnt_init(&lc);
    for (i = 1; i <= 5; i++) {
        qemu_lockcnt_inc(&lc);
        ck_assert_uint_eq(qemu_lockcnt_count(&lc), i);
    }
    for (i = 4; i >= 0; i--) {
        qemu_lockcnt_dec(&lc);
        ck_assert_uint_eq(qemu_lockcnt_count(&lc), i);
    }
    qemu_lockcnt_destroy(&lc);
}
END_TEST

START_TEST(count_is_unaffected_by_the_lock)
{
    QemuLockCnt lc;

    qemu_lockcnt_init(&lc);
    qemu_lockcnt_inc(&lc);
    qemu_lockcnt_inc(&lc);
    qemu_lockcnt_lock(&lc);
    ck_assert_uint_eq(qemu_lockcnt_count(&lc), 2);
    qemu_lockcnt_unlock(&lc);
    ck_assert_uint_eq(qemu_lockcnt_count(&lc), 2);
    qemu_lockcnt_dec(&lc);
    qemu_lockcnt_dec(&lc);
    qemu_lockcnt_destroy(&lc);
}
END_TEST

/* ---- dec_and_lock, dec_if_lock ------------------------------------------ */

/* With the lock held by the caller and the count at zero, a first visitor
 * must wait until unlock. */
static void assert_locked_against_first_visitor(QemuLockCnt *lc)
{
    Helper h;
    int released = 0;

    helper_start(&h, lc, OP_INC, false, &released);
    ck_assert_msg(helper_blocks(&h), "inc on a zero count ran past the lock");
    release_flag(&released);
    qemu_lockcnt_unlock(lc);
    helper_join(&h);
    ck_assert_int_eq(h.saw_released, 1);
    ck_assert_uint_eq(qemu_lockcnt_count(lc), 1);
    qemu_lockcnt_dec(lc);
}

START_TEST(dec_and_lock_at_one_reaches_zero_and_locks)
{
    QemuLockCnt lc;

    qemu_lockcnt_init(&lc);
    qemu_lockcnt_inc(&lc);
    ck_assert(qemu_lockcnt_dec_and_lock(&lc));
    ck_assert_uint_eq(qemu_lockcnt_count(&lc), 0);
    assert_locked_against_first_visitor(&lc);
    qemu_lockcnt_destroy(&lc);
}
END_TEST

START_TEST(dec_and_lock_above_one_only_decrements)
{
    QemuLockCnt lc;
    Helper h;

    qemu_lockcnt_init(&lc);
    qemu_lockcnt_inc(&lc);
    qemu_lockcnt_inc(&lc);
    ck_assert(!qemu_lockcnt_dec_and_lock(&lc));
    ck_assert_uint_eq(qemu_lockcnt_count(&lc), 1);

    /* Not locked: another thread takes and releases the lock at once. */
    helper_start(&h, &lc, OP_LOCK, true, NULL);
    helper_join(&h);
    qemu_lockcnt_dec(&lc);
    qemu_lockcnt_destroy(&lc);
}
END_TEST

START_TEST(dec_and_lock_at_one_waits_for_another_lock_holder)
{
    QemuLockCnt lc;
    Helper h;
    int released = 0;

    qemu_lockcnt_init(&lc);
    qemu_lockcnt_inc(&lc);          /* the helper's visit */
    qemu_lockcnt_lock(&lc);
    helper_start(&h, &lc, OP_DEC_AND_LOCK, true, &released);
    ck_assert_msg(helper_blocks(&h), "dec_and_lock took a lock that was held");
    ck_assert_uint_eq(qemu_lockcnt_count(&lc), 1);
    release_flag(&released);
    qemu_lockcnt_unlock(&lc);
    helper_join(&h);
    ck_assert(h.result);
    ck_assert_int_eq(h.saw_released, 1);
    ck_assert_uint_eq(qemu_lockcnt_count(&lc), 0);
    qemu_lockcnt_destroy(&lc);
}
END_TEST

START_TEST(dec_if_lock_at_one_reaches_zero_and_locks)
{
    QemuLockCnt lc;

    qemu_lockcnt_init(&lc);
    qemu_lockcnt_inc(&lc);
    ck_assert(qemu_lockcnt_dec_if_lock(&lc));
    ck_assert_uint_eq(qemu_lockcnt_count(&lc), 0);
    assert_locked_against_first_visitor(&lc);
    qemu_lockcnt_destroy(&lc);
}
END_TEST

START_TEST(dec_if_lock_above_one_changes_nothing)
{
    QemuLockCnt lc;
    Helper h;

    qemu_lockcnt_init(&lc);
    qemu_lockcnt_inc(&lc);
    qemu_lockcnt_inc(&lc);
    qemu_lockcnt_inc(&lc);
    ck_assert(!qemu_lockcnt_dec_if_lock(&lc));
    ck_assert_uint_eq(qemu_lockcnt_count(&lc), 3);

    helper_start(&h, &lc, OP_LOCK, true, NULL);
    helper_join(&h);
    qemu_lockcnt_dec(&lc);
    qemu_lockcnt_dec(&lc);
    qemu_lockcnt_dec(&lc);
    qemu_lockcnt_destroy(&lc);
}
END_TEST

START_TEST(dec_if_lock_at_one_waits_for_another_lock_holder)
{
    QemuLockCnt lc;
    Helper h;
    int released = 0;

    qemu_lockcnt_init(&lc);
    qemu_lockcnt_inc(&lc);
    qemu_lockcnt_lock(&lc);
    helper_start(&h, &lc, OP_DEC_IF_LOCK, true, &released);
    ck_assert_msg(helper_blocks(&h), "dec_if_lock took a lock that was held");
    release_flag(&released);
    qemu_lockcnt_unlock(&lc);
    helper_join(&h);
    ck_assert(h.result);
    ck_assert_int_eq(h.saw_released, 1);
    ck_assert_uint_eq(qemu_lockcnt_count(&lc), 0);
    qemu_lockcnt_destroy(&lc);
}
END_TEST

/* ---- lock, unlock, inc ------------------------------------------------- */

START_TEST(inc_waits_while_locked_at_zero_count)
{
    QemuLockCnt lc;

    qemu_lockcnt_init(&lc);
    qemu_lockcnt_lock(&lc);
    assert_locked_against_first_visitor(&lc);
    qemu_lockcnt_destroy(&lc);
}
END_TEST

START_TEST(inc_on_a_nonzero_count_proceeds_while_locked)
{
    QemuLockCnt lc;
    Helper h;

    qemu_lockcnt_init(&lc);
    qemu_lockcnt_inc(&lc);
    qemu_lockcnt_lock(&lc);
    helper_start(&h, &lc, OP_INC, false, NULL);
    helper_join(&h);                /* hangs (timeout) if inc waited */
    ck_assert_uint_eq(qemu_lockcnt_count(&lc), 2);
    qemu_lockcnt_unlock(&lc);
    qemu_lockcnt_dec(&lc);
    qemu_lockcnt_dec(&lc);
    qemu_lockcnt_destroy(&lc);
}
END_TEST

START_TEST(lock_does_not_wait_for_visitors)
{
    QemuLockCnt lc;

    qemu_lockcnt_init(&lc);
    qemu_lockcnt_inc(&lc);
    qemu_lockcnt_lock(&lc);         /* hangs (timeout) if it waited */
    ck_assert_uint_eq(qemu_lockcnt_count(&lc), 1);
    qemu_lockcnt_unlock(&lc);
    qemu_lockcnt_dec(&lc);
    qemu_lockcnt_destroy(&lc);
}
END_TEST

START_TEST(lock_excludes_another_lock_holder)
{
    QemuLockCnt lc;
    Helper h;
    int released = 0;

    qemu_lockcnt_init(&lc);
    qemu_lockcnt_lock(&lc);
    helper_start(&h, &lc, OP_LOCK, true, &released);
    ck_assert_msg(helper_blocks(&h), "a second lock holder got in");
    release_flag(&released);
    qemu_lockcnt_unlock(&lc);
    helper_join(&h);
    ck_assert_int_eq(h.saw_released, 1);
    ck_assert_uint_eq(qemu_lockcnt_count(&lc), 0);
    qemu_lockcnt_destroy(&lc);
}
END_TEST

START_TEST(unlock_wakes_every_waiting_first_visitor)
{
    enum { N = 3 };
    QemuLockCnt lc;
    Helper h[N];
    int released = 0;
    int i;

    qemu_lockcnt_init(&lc);
    qemu_lockcnt_lock(&lc);
    for (i = 0; i < N; i++) {
        helper_start(&h[i], &lc, OP_INC, false, &released);
        ck_assert_msg(helper_blocks(&h[i]), "visitor %d ran past the lock", i);
    }
    release_flag(&released);
    qemu_lockcnt_unlock(&lc);
    for (i = 0; i < N; i++) {
        helper_join(&h[i]);         /* hangs (timeout) if a wake-up is lost */
        ck_assert_int_eq(h[i].saw_released, 1);
    }
    ck_assert_uint_eq(qemu_lockcnt_count(&lc), N);
    for (i = 0; i < N; i++) {
        qemu_lockcnt_dec(&lc);
    }
    qemu_lockcnt_destroy(&lc);
}
END_TEST

START_TEST(unlock_wakes_waiting_visitors_and_lockers_alike)
{
    QemuLockCnt lc;
    Helper visitor, locker;
    int released = 0;

    qemu_lockcnt_init(&lc);
    qemu_lockcnt_lock(&lc);
    helper_start(&locker, &lc, OP_LOCK, true, &released);
    ck_assert(helper_blocks(&locker));
    helper_start(&visitor, &lc, OP_INC, false, &released);
    ck_assert(helper_blocks(&visitor));
    release_flag(&released);
    qemu_lockcnt_unlock(&lc);
    helper_join(&locker);
    helper_join(&visitor);
    ck_assert_int_eq(locker.saw_released, 1);
    ck_assert_int_eq(visitor.saw_released, 1);
    ck_assert_uint_eq(qemu_lockcnt_count(&lc), 1);
    qemu_lockcnt_dec(&lc);
    qemu_lockcnt_destroy(&lc);
}
END_TEST

/* ---- inc_and_unlock ----------------------------------------------------- */

START_TEST(inc_and_unlock_counts_a_visit_and_releases_the_lock)
{
    QemuLockCnt lc;
    Helper h;

    qemu_lockcnt_init(&lc);
    qemu_lockcnt_lock(&lc);
    qemu_lockcnt_inc_and_unlock(&lc);
    ck_assert_uint_eq(qemu_lockcnt_count(&lc), 1);

    helper_start(&h, &lc, OP_LOCK, true, NULL);
    helper_join(&h);                /* hangs (timeout) if still locked */
    qemu_lockcnt_dec(&lc);
    ck_assert_uint_eq(qemu_lockcnt_count(&lc), 0);
    qemu_lockcnt_destroy(&lc);
}
END_TEST

START_TEST(inc_and_unlock_lets_a_waiting_first_visitor_in)
{
    QemuLockCnt lc;
    Helper h;
    int released = 0;

    qemu_lockcnt_init(&lc);
    qemu_lockcnt_lock(&lc);
    helper_start(&h, &lc, OP_INC, false, &released);
    ck_assert(helper_blocks(&h));
    release_flag(&released);
    qemu_lockcnt_inc_and_unlock(&lc);
    helper_join(&h);
    ck_assert_int_eq(h.saw_released, 1);
    ck_assert_uint_eq(qemu_lockcnt_count(&lc), 2);
    qemu_lockcnt_dec(&lc);
    qemu_lockcnt_dec(&lc);
    qemu_lockcnt_destroy(&lc);
}
END_TEST

/* ---- stress ------------------------------------------------------------- */

/*
 * The pattern AioContext uses: visitors walk a structure under inc/dec; a
 * writer may tear it down only while it holds the lock with the count at
 * zero.  `torn` is set during the teardown; no visitor may ever see it.
 */
enum { VISITORS = 4, ROUNDS = 100000 };

typedef struct {
    QemuLockCnt lc;
    int torn;                   /* atomic */
    int violations;             /* atomic */
    int teardowns;              /* atomic */
    long visits;                /* atomic */
    int stop;                   /* atomic */
} Shared;

static void tear_down(Shared *s)
{
    /* Caller holds the lock and the count is zero. */
    if (qemu_lockcnt_count(&s->lc) != 0) {
        __atomic_add_fetch(&s->violations, 1, __ATOMIC_SEQ_CST);
    }
    __atomic_store_n(&s->torn, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&s->torn, 0, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&s->teardowns, 1, __ATOMIC_SEQ_CST);
}

static void visit(Shared *s)
{
    if (__atomic_load_n(&s->torn, __ATOMIC_SEQ_CST)) {
        __atomic_add_fetch(&s->violations, 1, __ATOMIC_SEQ_CST);
    }
    __atomic_add_fetch(&s->visits, 1, __ATOMIC_SEQ_CST);
}

static void *visitor_main(void *opaque)
{
    Shared *s = opaque;
    int i;

    for (i = 0; i < ROUNDS; i++) {
        qemu_lockcnt_inc(&s->lc);
        visit(s);
        switch (i % 3) {
        case 0:
            qemu_lockcnt_dec(&s->lc);
            break;
        case 1:
            if (qemu_lockcnt_dec_and_lock(&s->lc)) {
                tear_down(s);
                qemu_lockcnt_unlock(&s->lc);
            }
            break;
        case 2:
            if (qemu_lockcnt_dec_if_lock(&s->lc)) {
                tear_down(s);
                qemu_lockcnt_unlock(&s->lc);
            } else {
                qemu_lockcnt_dec(&s->lc);
            }
            break;
        }
    }
    return NULL;
}

static void *writer_main(void *opaque)
{
    Shared *s = opaque;

    while (!__atomic_load_n(&s->stop, __ATOMIC_SEQ_CST)) {
        qemu_lockcnt_lock(&s->lc);
        if (qemu_lockcnt_count(&s->lc) == 0) {
            tear_down(s);
        }
        /* Sometimes leave as a visitor, sometimes plainly. */
        if (__atomic_load_n(&s->teardowns, __ATOMIC_RELAXED) & 1) {
            qemu_lockcnt_inc_and_unlock(&s->lc);
            visit(s);
            qemu_lockcnt_dec(&s->lc);
        } else {
            qemu_lockcnt_unlock(&s->lc);
        }
    }
    return NULL;
}

START_TEST(visitors_and_a_writer_keep_the_count_consistent)
{
    static Shared s;
    pthread_t visitors[VISITORS], writer;
    int i;

    memset(&s, 0, sizeof(s));
    qemu_lockcnt_init(&s.lc);
    ck_assert_int_eq(pthread_create(&writer, NULL, writer_main, &s), 0);
    for (i = 0; i < VISITORS; i++) {
        ck_assert_int_eq(pthread_create(&visitors[i], NULL, visitor_main, &s), 0);
    }
    for (i = 0; i < VISITORS; i++) {
        pthread_join(visitors[i], NULL);
    }
    __atomic_store_n(&s.stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(writer, NULL);

    ck_assert_int_eq(s.violations, 0);
    ck_assert_uint_eq(qemu_lockcnt_count(&s.lc), 0);
    ck_assert_int_ge(s.visits, (long)VISITORS * ROUNDS);
    /* Nobody holds the lock any more. */
    qemu_lockcnt_lock(&s.lc);
    qemu_lockcnt_unlock(&s.lc);
    qemu_lockcnt_destroy(&s.lc);
}
END_TEST

static Suite *lockcnt_suite(void)
{
    Suite *s = suite_create("lockcnt");
    TCase *tc;

    tc = tcase_create("count");
    tcase_add_test(tc, init_gives_a_zero_count);
    tcase_add_test(tc, inc_and_dec_change_the_count_by_one);
    tcase_add_test(tc, count_is_unaffected_by_the_lock);
    suite_add_tcase(s, tc);

    tc = tcase_create("dec_and_lock");
    tcase_add_test(tc, dec_and_lock_at_one_reaches_zero_and_locks);
    tcase_add_test(tc, dec_and_lock_above_one_only_decrements);
    tcase_add_test(tc, dec_and_lock_at_one_waits_for_another_lock_holder);
    tcase_add_test(tc, dec_if_lock_at_one_reaches_zero_and_locks);
    tcase_add_test(tc, dec_if_lock_above_one_changes_nothing);
    tcase_add_test(tc, dec_if_lock_at_one_waits_for_another_lock_holder);
    suite_add_tcase(s, tc);

    tc = tcase_create("lock");
    tcase_add_test(tc, inc_waits_while_locked_at_zero_count);
    tcase_add_test(tc, inc_on_a_nonzero_count_proceeds_while_locked);
    tcase_add_test(tc, lock_does_not_wait_for_visitors);
    tcase_add_test(tc, lock_excludes_another_lock_holder);
    tcase_add_test(tc, unlock_wakes_every_waiting_first_visitor);
    tcase_add_test(tc, unlock_wakes_waiting_visitors_and_lockers_alike);
    suite_add_tcase(s, tc);

    tc = tcase_create("inc_and_unlock");
    tcase_add_test(tc, inc_and_unlock_counts_a_visit_and_releases_the_lock);
    tcase_add_test(tc, inc_and_unlock_lets_a_waiting_first_visitor_in);
    suite_add_tcase(s, tc);

    tc = tcase_create("stress");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, visitors_and_a_writer_keep_the_count_consistent);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    return t_run_suite(lockcnt_suite());
}
