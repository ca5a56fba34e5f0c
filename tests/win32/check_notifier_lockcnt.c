/* SPDX-License-Identifier: MIT */
/*
 * Windows check of the event notifier (a manual-reset event), QemuLockCnt on
 * WaitOnAddress and the Windows layouts QEMU 7.2's callers embed, until the
 * Windows harness runs the suites: prints "N passed, N failed", exits 1 on
 * a failure.  Built and run under Wine by tests/win32/notifier-smoke.sh.
 */
#include "qemu/osdep.h"
#include "qemu/event_notifier.h"
#include "qemu/thread.h"
#include "block/aio.h"

#include <pthread.h>

_Static_assert(sizeof(EventNotifier) == 8, "EventNotifier: a HANDLE on Windows");
_Static_assert(sizeof(QemuMutex) == 16, "QemuMutex: an SRWLOCK and a flag");
_Static_assert(sizeof(QemuLockCnt) == 24, "QemuLockCnt: a QemuMutex and the count");
_Static_assert(offsetof(QemuLockCnt, count) == 16, "QemuLockCnt.count at 16");
#if QAIO_QEMU_API_AT_LEAST(10, 0)
/* QEMU 10.0 (docs/win32-layout.md): bdrv_graph before tlg, no
 * external_disable_cnt. */
_Static_assert(offsetof(AioContext, bdrv_graph) == 144, "AioContext.bdrv_graph at 144");
_Static_assert(offsetof(AioContext, tlg) == 272, "AioContext.tlg at 272 on Windows at 10.0");
_Static_assert(sizeof(AioContext) == 368, "AioContext: 368 bytes on Windows at 10.0");
#else
_Static_assert(offsetof(AioContext, tlg) == 264, "AioContext.tlg at 264 on Windows");
_Static_assert(offsetof(AioContext, external_disable_cnt) == 296,
               "AioContext.external_disable_cnt at 296 on Windows");
#endif

static int passed, failed;

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (cond) {                                                        \
            passed++;                                                      \
        } else {                                                           \
            failed++;                                                      \
            printf("%s:%d: failed: %s\n", __FILE__, __LINE__, #cond);      \
        }                                                                  \
    } while (0)

static bool signalled(EventNotifier *e)
{
    return WaitForSingleObject(event_notifier_get_handle(e), 0) == WAIT_OBJECT_0;
}

static void notifier_is_level_triggered_until_cleared(void)
{
    EventNotifier e;

    CHECK(event_notifier_init(&e, 0) == 0);
    CHECK(event_notifier_get_handle(&e) != NULL);
    CHECK(!signalled(&e));
    CHECK(event_notifier_test_and_clear(&e) == 0);
    CHECK(event_notifier_set(&e) == 0);
    CHECK(event_notifier_set(&e) == 0);
    /* manual reset: a wait does not consume it */
    CHECK(signalled(&e));
    CHECK(signalled(&e));
    CHECK(event_notifier_test_and_clear(&e) == 1);
    CHECK(!signalled(&e));
    CHECK(event_notifier_test_and_clear(&e) == 0);
    event_notifier_cleanup(&e);
    CHECK(event_notifier_get_handle(&e) == NULL);
    event_notifier_cleanup(&e); /* a second cleanup does nothing */
}

static void notifier_init_active_starts_set(void)
{
    EventNotifier e;

    CHECK(event_notifier_init(&e, 1) == 0);
    CHECK(signalled(&e));
    CHECK(event_notifier_test_and_clear(&e) == 1);
    event_notifier_cleanup(&e);
}

static void *set_later(void *arg)
{
    Sleep(20);
    event_notifier_set(arg);
    return NULL;
}

static void notifier_set_by_another_thread_wakes_a_waiter(void)
{
    EventNotifier e;
    pthread_t t;

    CHECK(event_notifier_init(&e, 0) == 0);
    pthread_create(&t, NULL, set_later, &e);
    CHECK(WaitForSingleObject(event_notifier_get_handle(&e), 10000) == WAIT_OBJECT_0);
    pthread_join(t, NULL);
    CHECK(event_notifier_test_and_clear(&e) == 1);
    event_notifier_cleanup(&e);
}

static QemuLockCnt cnt;
static volatile long inside;
static int visits_seen_locked;

static void *visitor(void *arg)
{
    for (int i = 0; i < 20000; i++) {
        qemu_lockcnt_inc(&cnt);
        InterlockedIncrement(&inside);
        InterlockedDecrement(&inside);
        qemu_lockcnt_dec(&cnt);
        if (i % 64 == 0) {
            qemu_lockcnt_lock(&cnt);
            /* a holder of the lock sees no visitor that came in after it */
            if (qemu_lockcnt_count(&cnt) == 0 && inside != 0) {
                visits_seen_locked++;
            }
            qemu_lockcnt_unlock(&cnt);
        }
    }
    return arg;
}

static void lockcnt_counts_and_excludes(void)
{
    pthread_t t[4];

    qemu_lockcnt_init(&cnt);
    CHECK(qemu_lockcnt_count(&cnt) == 0);
    qemu_lockcnt_inc(&cnt);
    qemu_lockcnt_inc(&cnt);
    CHECK(qemu_lockcnt_count(&cnt) == 2);
    CHECK(!qemu_lockcnt_dec_and_lock(&cnt)); /* 2 -> 1: not the last */
    CHECK(qemu_lockcnt_count(&cnt) == 1);
    CHECK(qemu_lockcnt_dec_and_lock(&cnt)); /* the last: returns locked */
    CHECK(qemu_lockcnt_count(&cnt) == 0);
    qemu_lockcnt_inc_and_unlock(&cnt);
    CHECK(qemu_lockcnt_count(&cnt) == 1);
    CHECK(qemu_lockcnt_dec_if_lock(&cnt));
    qemu_lockcnt_unlock(&cnt);

    for (int i = 0; i < 4; i++) {
        pthread_create(&t[i], NULL, visitor, NULL);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
    }
    CHECK(visits_seen_locked == 0);
    CHECK(qemu_lockcnt_count(&cnt) == 0);
    qemu_lockcnt_destroy(&cnt);
}

int main(void)
{
    notifier_is_level_triggered_until_cleared();
    notifier_init_active_starts_set();
    notifier_set_by_another_thread_wakes_a_waiter();
    lockcnt_counts_and_excludes();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
