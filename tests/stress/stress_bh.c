/* SPDX-License-Identifier: MIT */
/*
 * Stress "bh": bottom halves scheduled into a context from several threads
 * while its home thread sleeps in aio_poll(ctx, true), on every fd monitor.
 * An exactly-once ledger checks that no run is lost or doubled:
 *  - own BHs: each producer reschedules its BH only after the previous run,
 *    so every round needs a wake-up (a lost one hangs: the watchdog);
 *  - one BH shared by all producers: a schedule made before a run started
 *    is covered by it, a later one must cause another run;
 *  - oneshots: a window of outstanding oneshots per producer, each slot run
 *    exactly once per post;
 *  - BHs created, scheduled and deleted by producers: at most one run each.
 */
#include "stress.h"
#include "../helpers.h"

enum { PRODUCERS = 4, ONESHOT_WINDOW = 32, LEDGER = 1 << 18 };

typedef struct Case Case;

typedef struct {
    Case *c;
    int id;
    pthread_t thread;
    QEMUBH *bh;
    sem_t ran;
    unsigned long rounds;
    atomic_ulong runs;
    /* oneshot slots: 0 free, 1 posted, 2 ran */
    atomic_int slot[ONESHOT_WINDOW];
    sem_t slot_done;
    /* created-and-deleted BHs: runs per serial */
    atomic_uchar *ledger;
} Producer;

struct Case {
    s_iothread home;
    Producer p[PRODUCERS];
    QEMUBH *shared;
    atomic_ulong shared_requests;
    atomic_ulong shared_runs;
    atomic_ulong shared_last_seen;
};

static void own_cb(void *opaque)
{
    Producer *p = opaque;

    atomic_fetch_add(&p->runs, 1);
    s_progress();
    sem_post(&p->ran);
}

static void shared_cb(void *opaque)
{
    Case *c = opaque;

    atomic_fetch_add(&c->shared_runs, 1);
    atomic_store(&c->shared_last_seen, atomic_load(&c->shared_requests));
}

static void *own_producer(void *opaque)
{
    Producer *p = opaque;
    Case *c = p->c;

    while (s_running()) {
        atomic_fetch_add(&c->shared_requests, 1);
        qemu_bh_schedule(c->shared);
        qemu_bh_schedule(p->bh);
        sem_wait(&p->ran);
        p->rounds++;
    }
    return NULL;
}

static Case *case_new(int mon)
{
    Case *c = g_new0(Case, 1);

    s_iothread_start(&c->home, mon);
    c->shared = aio_bh_new(c->home.ctx, shared_cb, c);
    for (int i = 0; i < PRODUCERS; i++) {
        Producer *p = &c->p[i];

        p->c = c;
        p->id = i;
        sem_init(&p->ran, 0, 0);
        sem_init(&p->slot_done, 0, 0);
        p->bh = aio_bh_new(c->home.ctx, own_cb, p);
    }
    return c;
}

static void delete_bhs(void *opaque)
{
    Case *c = opaque;

    qemu_bh_delete(c->shared);
    for (int i = 0; i < PRODUCERS; i++) {
        qemu_bh_delete(c->p[i].bh);
    }
}

static void case_free(Case *c)
{
    s_run_in(c->home.ctx, delete_bhs, c);
    s_iothread_stop(&c->home);
    s_iothread_free(&c->home);
    for (int i = 0; i < PRODUCERS; i++) {
        sem_destroy(&c->p[i].ran);
        sem_destroy(&c->p[i].slot_done);
        g_free(c->p[i].ledger);
    }
    g_free(c);
}

static void run_producers(Case *c, void *(*fn)(void *))
{
    for (int i = 0; i < PRODUCERS; i++) {
        pthread_create(&c->p[i].thread, NULL, fn, &c->p[i]);
    }
    for (int i = 0; i < PRODUCERS; i++) {
        pthread_join(c->p[i].thread, NULL);
    }
}

/* A BH run after the producers stopped: every earlier run is complete. */
static void nothing(void *opaque)
{
}

static void own_and_shared_bhs(int mon)
{
    Case *c = case_new(mon);
    unsigned long total = 0;

    run_producers(c, own_producer);
    s_run_in(c->home.ctx, nothing, NULL);
    for (int i = 0; i < PRODUCERS; i++) {
        s_check(atomic_load(&c->p[i].runs) == c->p[i].rounds,
                "producer %d: %lu rounds, %lu runs", i, c->p[i].rounds,
                atomic_load(&c->p[i].runs));
        total += c->p[i].rounds;
    }
    s_check(atomic_load(&c->shared_last_seen) == atomic_load(&c->shared_requests),
            "shared BH: last run saw %lu of %lu schedules (a schedule without a run after it)",
            atomic_load(&c->shared_last_seen), atomic_load(&c->shared_requests));
    s_check(atomic_load(&c->shared_runs) <= atomic_load(&c->shared_requests),
            "shared BH ran %lu times for %lu schedules", atomic_load(&c->shared_runs),
            atomic_load(&c->shared_requests));
    s_check(total > 0, "no round completed");
    s_ops(total + atomic_load(&c->shared_requests));
    case_free(c);
}

/* ---- oneshots --------------------------------------------------------------- */

typedef struct {
    Producer *p;
    int slot;
} SlotRef;

static SlotRef slot_refs[PRODUCERS][ONESHOT_WINDOW];

static void oneshot_cb(void *opaque)
{
    SlotRef *r = opaque;
    int was = atomic_exchange(&r->p->slot[r->slot], 2);

    s_check(was == 1, "oneshot of producer %d slot %d ran in state %d (twice, or unposted)",
            r->p->id, r->slot, was);
    s_progress();
    sem_post(&r->p->slot_done);
}

static void *oneshot_producer(void *opaque)
{
    Producer *p = opaque;
    AioContext *ctx = p->c->home.ctx;
    int outstanding = 0;

    for (;;) {
        bool more = s_running();

        for (int i = 0; i < ONESHOT_WINDOW; i++) {
            if (atomic_load(&p->slot[i]) == 2) {
                atomic_store(&p->slot[i], 0);
                p->rounds++;
                outstanding--;
            }
            if (more && atomic_load(&p->slot[i]) == 0) {
                atomic_store(&p->slot[i], 1);
                outstanding++;
                aio_bh_schedule_oneshot(ctx, oneshot_cb, &slot_refs[p->id][i]);
            }
        }
        if (!outstanding && !more) {
            return NULL;
        }
        sem_wait(&p->slot_done);
    }
}

static void oneshot_storm(int mon)
{
    Case *c = case_new(mon);
    unsigned long total = 0;

    /* Written before the producers start, only read after. */
    for (int i = 0; i < PRODUCERS; i++) {
        for (int k = 0; k < ONESHOT_WINDOW; k++) {
            slot_refs[i][k] = (SlotRef){ &c->p[i], k };
        }
    }
    run_producers(c, oneshot_producer);
    for (int i = 0; i < PRODUCERS; i++) {
        total += c->p[i].rounds;
        for (int k = 0; k < ONESHOT_WINDOW; k++) {
            s_check(atomic_load(&c->p[i].slot[k]) == 0, "slot %d/%d left in state %d",
                    i, k, atomic_load(&c->p[i].slot[k]));
        }
    }
    s_check(total > 0, "no oneshot ran");
    s_ops(total);
    case_free(c);
}

/* ---- created, scheduled and deleted from other threads ---------------------- */

static void ledger_cb(void *opaque)
{
    atomic_uchar *entry = opaque;

    s_check(atomic_fetch_add(entry, 1) == 0, "a deleted BH ran twice");
    s_progress();
}

static void *churn_producer(void *opaque)
{
    Producer *p = opaque;
    AioContext *ctx = p->c->home.ctx;
    s_rng rng;

    s_rng_seed(&rng, p->id + 1);
    p->ledger = g_new0(atomic_uchar, LEDGER);
    while (s_running() && p->rounds < LEDGER) {
        QEMUBH *bh = aio_bh_new(ctx, ledger_cb, &p->ledger[p->rounds]);

        qemu_bh_schedule(bh);
        if (s_rand(&rng, 4) == 0) {
            sched_yield();
        }
        if (s_rand(&rng, 8) == 0) {
            qemu_bh_cancel(bh);
        }
        qemu_bh_delete(bh);
        p->rounds++;
        s_progress();
    }
    return NULL;
}

static void created_and_deleted(int mon)
{
    Case *c = case_new(mon);
    unsigned long total = 0, ran = 0;

    run_producers(c, churn_producer);
    s_run_in(c->home.ctx, nothing, NULL);
    for (int i = 0; i < PRODUCERS; i++) {
        total += c->p[i].rounds;
        for (unsigned long k = 0; k < c->p[i].rounds; k++) {
            ran += atomic_load(&c->p[i].ledger[k]);
        }
    }
    printf("  %lu of %lu BHs ran before their deletion\n", ran, total);
    s_ops(total);
    case_free(c);
}

int main(void)
{
    static char names[3][3][64];

    s_init("stress_bh", 3 * t_n_fdmons);
    for (int m = 0; m < t_n_fdmons; m++) {
        const char *what[3] = { "own-and-shared-bhs", "oneshot-storm",
                                "created-scheduled-deleted" };
        void (*fn[3])(int) = { own_and_shared_bhs, oneshot_storm, created_and_deleted };

        for (int k = 0; k < 3; k++) {
            snprintf(names[m][k], sizeof(names[m][k]), "%s[%s]", what[k], t_fdmons[m]);
            if (s_fdmon_usable(m)) {
                s_run(names[m][k], fn[k], m);
            } else {
                s_skip(names[m][k], "io_uring is not available");
            }
        }
    }
    return s_finish();
}
