/* SPDX-License-Identifier: MIT */
/*
 * Suite "coroutine": qemu/coroutine.h and coroutine_int.h as a black box,
 * without any AioContext unless a test says so (as QEMU's test-coroutine).
 * Covers QEMU 7.2's /basic/... behaviours (lifecycle, yield, nesting, self,
 * entered, in_coroutine, order, no dangling access), the wake-up protocol
 * (coroutines woken from a coroutine run when it yields or ends, in order,
 * depth-first), the pools (reuse, a bounded map count when coroutines are
 * created on one thread and finished on another, the cross-thread pool
 * imbalance), the stacks (1 MiB
 * with a guard page, QAIO_COROUTINE_STACK_SIZE, reuse without new mappings),
 * many live coroutines (beyond half of vm.max_map_count, memory given back),
 * stacks on a kernel without MADV_GUARD_INSTALL (hidden by seccomp),
 * the lower layer (qemu_coroutine_new/switch/delete), resumption on another
 * thread (no stale thread-local state), and the aborts that name a misused
 * coroutine (entering one that is running or scheduled),
 * each in a forked child whose message is read.
 */
#include "qemu/osdep.h"
#include "qemu/coroutine.h"
#include "qemu/coroutine_int.h"
#include "block/aio.h"
#include "helpers.h"

#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stddef.h>
#ifndef _WIN32
#include <sys/syscall.h>
#include <sys/wait.h>
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define T_ON_VALGRIND() (RUNNING_ON_VALGRIND != 0)
#endif
#endif
#ifndef T_ON_VALGRIND
#define T_ON_VALGRIND() false
#endif

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define T_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define T_SANITIZED 1
#endif
#endif

/* Coroutine's layout and these constants are checked against layout.tsv by
 * check_abi; the constants are asserted here too since the tests use them. */
_Static_assert(COROUTINE_YIELD == 1, "COROUTINE_YIELD");
_Static_assert(COROUTINE_TERMINATE == 2, "COROUTINE_TERMINATE");
_Static_assert(COROUTINE_ENTER == 3, "COROUTINE_ENTER");
_Static_assert(COROUTINE_STACK_SIZE == 1048576, "COROUTINE_STACK_SIZE");


/* ---- helpers -------------------------------------------------------------- */

/* A short log of what ran, to check orders. */
typedef struct {
    char s[256];
    int n;
} Log;

static void log_add(Log *log, char c)
{
    ck_assert_int_lt(log->n, (int)sizeof(log->s) - 1);
    log->s[log->n++] = c;
    log->s[log->n] = '\0';
}

#ifndef _WIN32
/* Linux: the stacks' mappings as /proc shows them. */
/* Lines of /proc/self/maps: what the kernel's vm.max_map_count limits. */
static int count_mappings(void)
{
    char *text = NULL;
    int n = 0;

    ck_assert(g_file_get_contents("/proc/self/maps", &text, NULL, NULL));
    for (char *p = text; *p; p++) {
        n += *p == '\n';
    }
    g_free(text);
    return n;
}

typedef struct {
    uintptr_t start, end;
    char perms[5];
} Mapping;

/* The mapping holding `addr` (want_holder) or the one ending exactly at
 * `addr` (!want_holder); false if there is none. */
static bool find_mapping(uintptr_t addr, bool want_holder, Mapping *out)
{
    char *text = NULL;
    char **lines;
    bool found = false;

    ck_assert(g_file_get_contents("/proc/self/maps", &text, NULL, NULL));
    lines = g_strsplit(text, "\n", -1);
    for (int i = 0; lines[i] && !found; i++) {
        unsigned long s, e;
        char perms[5];

        if (sscanf(lines[i], "%lx-%lx %4s", &s, &e, perms) != 3) {
            continue;
        }
        if (want_holder ? (addr >= s && addr < e) : (e == addr)) {
            out->start = s;
            out->end = e;
            memcpy(out->perms, perms, sizeof(perms));
            found = true;
        }
    }
    g_strfreev(lines);
    g_free(text);
    return found;
}

#endif

/* ---- basic (QEMU's /basic/...) ------------------------------------------- */

static void set_flag(void *opaque)
{
    *(bool *)opaque = true;
}

START_TEST(coroutine_runs_to_its_end_inside_enter_and_again_when_reused)
{
    for (int i = 0; i < 2; i++) {
        bool done = false;
        Coroutine *co = qemu_coroutine_create(set_flag, &done);

        ck_assert_ptr_nonnull(co);
        qemu_coroutine_enter(co);
        ck_assert_msg(done, "round %d: the entry function did not run to its end", i);
    }
}
END_TEST

static void yield_five_times(void *opaque)
{
    for (int i = 0; i < 5; i++) {
        qemu_coroutine_yield();
    }
    *(bool *)opaque = true;
}

START_TEST(coroutine_yielding_five_times_needs_six_enters)
{
    bool done = false;
    Coroutine *co = qemu_coroutine_create(yield_five_times, &done);
    int enters = 0;

    while (!done) {
        qemu_coroutine_enter(co);
        enters++;
        ck_assert_int_le(enters, 6);
    }
    ck_assert_int_eq(enters, 6);
}
END_TEST

typedef struct {
    unsigned n_enter, n_return, max;
} NestData;

static void nest(void *opaque)
{
    NestData *nd = opaque;

    nd->n_enter++;
    if (nd->n_enter < nd->max) {
        qemu_coroutine_enter(qemu_coroutine_create(nest, nd));
    }
    nd->n_return++;
}

START_TEST(coroutines_nest_128_deep)
{
    NestData nd = { .max = 128 };

    qemu_coroutine_enter(qemu_coroutine_create(nest, &nd));
    ck_assert_uint_eq(nd.n_enter, 128);
    ck_assert_uint_eq(nd.n_return, 128);
}
END_TEST

static void check_self(void *opaque)
{
    Coroutine **created = opaque;

    ck_assert_ptr_eq(qemu_coroutine_self(), *created);
    *created = NULL;
}

START_TEST(coroutine_self_is_the_pointer_create_returned)
{
    Coroutine *created = qemu_coroutine_create(check_self, &created);
    Coroutine *co = created;

    qemu_coroutine_enter(co);
    ck_assert_ptr_null(created);
}
END_TEST

START_TEST(coroutine_self_outside_coroutines_is_a_stable_placeholder)
{
    Coroutine *a = qemu_coroutine_self();

    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_eq(qemu_coroutine_self(), a);
    ck_assert(!qemu_in_coroutine());
    ck_assert(!qemu_coroutine_entered(a));
}
END_TEST

static void entered_inner(void *opaque)
{
    Coroutine *outer = opaque;

    ck_assert(qemu_coroutine_entered(outer));
    ck_assert(qemu_coroutine_entered(qemu_coroutine_self()));
    qemu_coroutine_yield();
    ck_assert(qemu_coroutine_entered(outer));
    ck_assert(qemu_coroutine_entered(qemu_coroutine_self()));
}

static void entered_outer(void *opaque)
{
    Coroutine *self = qemu_coroutine_self();
    Coroutine *inner;

    ck_assert(qemu_coroutine_entered(self));
    inner = qemu_coroutine_create(entered_inner, self);
    ck_assert(!qemu_coroutine_entered(inner));
    qemu_coroutine_enter(inner);
    ck_assert(!qemu_coroutine_entered(inner));
    qemu_coroutine_enter(inner);
    *(bool *)opaque = true;
}

START_TEST(entered_is_true_for_the_running_coroutine_and_its_enterer_only)
{
    bool done = false;
    Coroutine *co = qemu_coroutine_create(entered_outer, &done);

    ck_assert(!qemu_coroutine_entered(co));
    qemu_coroutine_enter(co);
    ck_assert(done);
}
END_TEST

static void record_in_coroutine(void *opaque)
{
    *(bool *)opaque = qemu_in_coroutine();
}

START_TEST(in_coroutine_is_false_outside_and_true_inside)
{
    bool inside = false;

    ck_assert(!qemu_in_coroutine());
    qemu_coroutine_enter(qemu_coroutine_create(record_in_coroutine, &inside));
    ck_assert(inside);
    ck_assert(!qemu_in_coroutine());
}
END_TEST

static void order_fn(void *opaque)
{
    Log *log = opaque;

    log_add(log, '2');
    qemu_coroutine_yield();
    log_add(log, '4');
}

START_TEST(control_moves_strictly_between_caller_and_coroutine)
{
    Log log = { .n = 0 };
    Coroutine *co = qemu_coroutine_create(order_fn, &log);

    log_add(&log, '1');
    qemu_coroutine_enter(co);
    log_add(&log, '3');
    qemu_coroutine_enter(co);
    log_add(&log, '5');
    ck_assert_str_eq(log.s, "12345");
}
END_TEST

static void dangling_c2(void *opaque)
{
    qemu_coroutine_yield();
    *(bool *)opaque = true;
}

static void dangling_c1(void *opaque)
{
    qemu_coroutine_enter(opaque);
}

START_TEST(yielded_coroutine_keeps_no_pointer_to_its_ended_enterer)
{
    bool done = false;
    Coroutine *c2 = qemu_coroutine_create(dangling_c2, &done);
    Coroutine *c1 = qemu_coroutine_create(dangling_c1, c2);
    Coroutine saved;

    /* c1 enters c2, c2 yields back, c1 ends. */
    qemu_coroutine_enter(c1);
    saved = *c1;
    memset(c1, 0xff, sizeof(Coroutine));
    qemu_coroutine_enter(c2);
    /* Put it back: it sits in a pool. */
    *c1 = saved;
    ck_assert(done);
}
END_TEST

static void get_ctx_fn(void *opaque)
{
    AioContext **seen = opaque;

    seen[0] = qemu_coroutine_get_aio_context(qemu_coroutine_self());
    qemu_coroutine_yield();
    seen[1] = qemu_coroutine_get_aio_context(qemu_coroutine_self());
}

START_TEST(get_aio_context_is_the_context_of_the_last_enter)
{
    AioContext *ctx = aio_context_new(&error_abort);
    AioContext *seen[2] = { NULL, NULL };
    Coroutine *co = qemu_coroutine_create(get_ctx_fn, seen);

    qemu_aio_coroutine_enter(ctx, co);
    ck_assert_ptr_eq(seen[0], ctx);
    ck_assert_ptr_eq(qemu_coroutine_get_aio_context(co), ctx);
    /* No current context in this thread: a plain enter records NULL. */
    qemu_coroutine_enter(co);
    ck_assert_ptr_null(seen[1]);
    aio_context_unref(ctx);
}
END_TEST

static void if_inactive_inner(void *opaque)
{
    Coroutine *outer = opaque;

    /* The outer coroutine is entered (waiting for us): not entered again. */
    qemu_coroutine_enter_if_inactive(outer);
    qemu_coroutine_yield();
}

static void if_inactive_outer(void *opaque)
{
    Coroutine **inner = opaque;

    *inner = qemu_coroutine_create(if_inactive_inner, qemu_coroutine_self());
    qemu_coroutine_enter(*inner);
}

START_TEST(enter_if_inactive_enters_only_a_coroutine_not_entered)
{
    Coroutine *inner = NULL;

    qemu_coroutine_enter(qemu_coroutine_create(if_inactive_outer, &inner));
    ck_assert_ptr_nonnull(inner);
    ck_assert(!qemu_coroutine_entered(inner));
    /* Suspended in its yield: entered now, and it ends. */
    qemu_coroutine_enter_if_inactive(inner);
}
END_TEST

/* ---- wake-up protocol ------------------------------------------------------ */

/* Coroutines that log their name when resumed, after a first yield that
 * records their (NULL) context, as a yielded coroutine has. */
typedef struct {
    Log *log;
    char name;
    Coroutine *wake[2];     /* woken by this one when it runs */
    bool yield_after;       /* yield (instead of ending) after the wake-ups */
    bool done;
} Waker;

static void waker_fn(void *opaque)
{
    Waker *w = opaque;

    qemu_coroutine_yield();
    log_add(w->log, w->name);
    for (int i = 0; i < 2; i++) {
        if (w->wake[i]) {
            aio_co_wake(w->wake[i]);
        }
    }
    if (w->yield_after) {
        log_add(w->log, (char)(w->name - 'a' + 'A'));
        qemu_coroutine_yield();
    }
    w->done = true;
}

static Coroutine *waker_start(Waker *w)
{
    Coroutine *co = qemu_coroutine_create(waker_fn, w);

    qemu_coroutine_enter(co);   /* up to the first yield */
    return co;
}

START_TEST(coroutines_woken_by_a_coroutine_run_after_it_yields_in_order)
{
    Log log = { .n = 0 };
    Waker b = { .log = &log, .name = 'b' }, c = { .log = &log, .name = 'c' };
    Coroutine *cb = waker_start(&b), *cc = waker_start(&c);
    Waker a = { .log = &log, .name = 'a', .wake = { cb, cc }, .yield_after = true };
    Coroutine *ca = waker_start(&a);

    /* No context anywhere: the wake-ups are same-context entries. */
    ck_assert_ptr_null(qemu_get_current_aio_context());
    qemu_coroutine_enter(ca);
    ck_assert_str_eq(log.s, "aAbc");
    ck_assert(b.done && c.done && !a.done);
    qemu_coroutine_enter(ca);
    ck_assert(a.done);
}
END_TEST

START_TEST(coroutines_woken_by_a_coroutine_run_after_it_ends)
{
    Log log = { .n = 0 };
    Waker b = { .log = &log, .name = 'b' };
    Coroutine *cb = waker_start(&b);
    Waker a = { .log = &log, .name = 'a', .wake = { cb, NULL } };
    Coroutine *ca = waker_start(&a);

    qemu_coroutine_enter(ca);
    ck_assert_str_eq(log.s, "ab");
    ck_assert(a.done && b.done);
}
END_TEST

START_TEST(wake_ups_run_depth_first_before_older_pending_ones)
{
    Log log = { .n = 0 };
    Waker d = { .log = &log, .name = 'd' }, c = { .log = &log, .name = 'c' };
    Coroutine *cd = waker_start(&d), *cc = waker_start(&c);
    Waker b = { .log = &log, .name = 'b', .wake = { cd, NULL } };
    Coroutine *cb = waker_start(&b);
    Waker a = { .log = &log, .name = 'a', .wake = { cb, cc } };
    Coroutine *ca = waker_start(&a);

    qemu_coroutine_enter(ca);
    /* b's batch (d) goes in front of what a queued before (c). */
    ck_assert_str_eq(log.s, "abdc");
    ck_assert(a.done && b.done && c.done && d.done);
}
END_TEST

START_TEST(aio_co_wake_outside_coroutines_without_a_context_enters_at_once)
{
    Log log = { .n = 0 };
    Waker b = { .log = &log, .name = 'b' };
    Coroutine *cb = waker_start(&b);

    aio_co_wake(cb);
    ck_assert_str_eq(log.s, "b");
    ck_assert(b.done);
}
END_TEST

/* ---- pools ------------------------------------------------------------------- */

static void nop_fn(void *opaque)
{
}

static int ptr_cmp(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

    return x < y ? -1 : x > y;
}

START_TEST(sequential_lifecycles_reuse_a_bounded_set_of_coroutines)
{
    enum { N = 10000 };
    uintptr_t *seen = g_new(uintptr_t, N);
    int distinct = 0;

    for (int i = 0; i < N; i++) {
        Coroutine *co = qemu_coroutine_create(nop_fn, NULL);

        seen[i] = (uintptr_t)co;
        qemu_coroutine_enter(co);
    }
    qsort(seen, N, sizeof(seen[0]), ptr_cmp);
    for (int i = 0; i < N; i++) {
        distinct += i == 0 || seen[i] != seen[i - 1];
    }
    /* This thread's pool (64) and the release pool (128) recycle them. */
    ck_assert_int_le(distinct, 2 * 64 + 64 + 1);
    g_free(seen);
}
END_TEST

START_TEST(pool_size_can_grow_and_shrink_back)
{
    NestData nd = { .max = 300 };

    qemu_coroutine_inc_pool_size(256);
    qemu_coroutine_enter(qemu_coroutine_create(nest, &nd));
    qemu_coroutine_enter(qemu_coroutine_create(nest, &(NestData){ .max = 300 }));
    qemu_coroutine_dec_pool_size(256);
    ck_assert_uint_eq(nd.n_return, 300);
}
END_TEST

#ifndef _WIN32
/* Linux: the tests below count and probe the stacks' mappings (/proc,
 * pagemap, madvise); Windows' stacks are stack_win32.cc's. */
/*
 * Pool imbalance across threads: thread A creates coroutines and runs each to its first yield;
 * thread B finishes them.  Batches go through a small queue, so at most
 * four batches are in flight.
 */
enum { XT_BATCH = 64, XT_SLOTS = 2 };

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    Coroutine *slot[XT_SLOTS][XT_BATCH];
    int head, count;        /* filled slots */
    long cycles, warmup, half;
    long finished;          /* coroutines that ended (B) */
    int maps_after_warmup, maps_at_half;
    bool stop;
} CrossThread;

static void xt_fn(void *opaque)
{
    CrossThread *x = opaque;

    qemu_coroutine_yield();
    x->finished++;          /* on B only */
}

static void *xt_producer(void *opaque)
{
    CrossThread *x = opaque;
    Coroutine *batch[XT_BATCH];

    for (long made = 0; made < x->cycles;) {
        for (int i = 0; i < XT_BATCH; i++, made++) {
            batch[i] = qemu_coroutine_create(xt_fn, x);
            qemu_coroutine_enter(batch[i]);
        }
        pthread_mutex_lock(&x->lock);
        while (x->count == XT_SLOTS) {
            pthread_cond_wait(&x->cond, &x->lock);
        }
        memcpy(x->slot[(x->head + x->count) % XT_SLOTS], batch, sizeof(batch));
        x->count++;
        pthread_cond_broadcast(&x->cond);
        pthread_mutex_unlock(&x->lock);
        if (made == x->warmup) {
            x->maps_after_warmup = count_mappings();
        }
        if (made == x->half) {
            x->maps_at_half = count_mappings();
        }
    }
    pthread_mutex_lock(&x->lock);
    x->stop = true;
    pthread_cond_broadcast(&x->cond);
    pthread_mutex_unlock(&x->lock);
    return NULL;
}

static void *xt_consumer(void *opaque)
{
    CrossThread *x = opaque;
    Coroutine *batch[XT_BATCH];

    for (;;) {
        pthread_mutex_lock(&x->lock);
        while (x->count == 0 && !x->stop) {
            pthread_cond_wait(&x->cond, &x->lock);
        }
        if (x->count == 0) {
            pthread_mutex_unlock(&x->lock);
            return NULL;
        }
        memcpy(batch, x->slot[x->head], sizeof(batch));
        x->head = (x->head + 1) % XT_SLOTS;
        x->count--;
        pthread_cond_broadcast(&x->cond);
        pthread_mutex_unlock(&x->lock);
        for (int i = 0; i < XT_BATCH; i++) {
            qemu_coroutine_enter(batch[i]);
        }
    }
}

START_TEST(coroutines_created_on_one_thread_and_ended_on_another_keep_maps_bounded)
{
    CrossThread x = {
        .lock = PTHREAD_MUTEX_INITIALIZER,
        .cond = PTHREAD_COND_INITIALIZER,
        .cycles = T_ON_VALGRIND() ? 100 * 1000 : 1000 * 1000,
    };
    pthread_t a, b;
    int before = count_mappings(), after;

    x.warmup = x.cycles / 100 / XT_BATCH * XT_BATCH;
    x.half = x.cycles / 2 / XT_BATCH * XT_BATCH;
    x.cycles = x.cycles / XT_BATCH * XT_BATCH;
    pthread_create(&b, NULL, xt_consumer, &x);
    pthread_create(&a, NULL, xt_producer, &x);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    after = count_mappings();
    printf("coroutine cross-thread: %ld cycles; mappings %d at start, %d after %ld "
           "cycles, %d after %ld, %d at the end\n", x.cycles, before,
           x.maps_after_warmup, x.warmup, x.maps_at_half, x.half, after);
    ck_assert_int_eq(x.finished, x.cycles);
    /* In flight: at most four batches; pools and the dormant cache are
     * capped, so the second half adds nothing but wobble. */
    ck_assert_int_le(after - x.maps_at_half, 2 * 4 * XT_BATCH + 64);
#ifndef T_SANITIZED
    /* Without a sanitizer's own per-fiber mappings, the bound is ours:
     * settled after the warm-up, and at most two mappings per coroutine the
     * caps allow (dormant 1024, release pool 128, two thread pools of 64,
     * four batches in flight). */
    ck_assert_int_le(after - x.maps_after_warmup, 2 * 4 * XT_BATCH + 64);
    ck_assert_int_le(after - before, 2 * (1024 + 2 * 64 + 2 * 64 + 4 * XT_BATCH) + 64);
#endif
}
END_TEST

/* ---- stacks -------------------------------------------------------------------- */

/* Bit 58 of a /proc/self/pagemap entry: the page holds a guard marker
 * (MADV_GUARD_INSTALL; reported since Linux 6.15). */
#define T_PM_GUARD_REGION (1ULL << 58)

typedef struct {
    uintptr_t frame;
    uintptr_t bottom;       /* lowest byte of the stack, right above its guard */
    bool found;
    bool marker;            /* guard: a marker inside the stack's mapping, not
                             * a PROT_NONE mapping of its own */
    Mapping below;          /* !marker: the guard mapping */
} StackProbe;

static bool page_has_guard_marker(int pagemap, uintptr_t addr, long page)
{
    uint64_t entry;

    if (pread(pagemap, &entry, sizeof(entry),
              (off_t)(addr / page * sizeof(entry))) != sizeof(entry)) {
        return false;
    }
    return (entry & T_PM_GUARD_REGION) != 0;
}

/* Walks down from the frame's page to the first guard: a marker page, or
 * the end of the mapping with a PROT_NONE mapping right below it. */
static void locate_guard(StackProbe *p)
{
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t addr = p->frame / page * page;
    Mapping holder;
    int pagemap = open("/proc/self/pagemap", O_RDONLY);

    ck_assert_msg(find_mapping(p->frame, true, &holder), "no mapping holds the "
                  "coroutine's frame %#lx", (unsigned long)p->frame);
    ck_assert_int_ge(pagemap, 0);
    for (; addr > holder.start && p->frame - addr < 64UL << 20; addr -= page) {
        if (page_has_guard_marker(pagemap, addr - page, page)) {
            p->bottom = addr;
            p->marker = p->found = true;
            break;
        }
    }
    close(pagemap);
    if (!p->found && addr == holder.start &&
        find_mapping(holder.start, false, &p->below) &&
        strcmp(p->below.perms, "---p") == 0) {
        p->bottom = holder.start;
        p->found = true;
    }
}

static void probe_fn(void *opaque)
{
    StackProbe *p = opaque;

    /* The frame, not a local: ASan may put locals on a fake stack. */
    p->frame = (uintptr_t)__builtin_frame_address(0);
}

/* Runs a coroutine that notes its frame, then finds its stack's guard (the
 * ended coroutine keeps its stack in the pool). */
static void probe_stack(StackProbe *p)
{
    memset(p, 0, sizeof(*p));
    qemu_coroutine_enter(qemu_coroutine_create(probe_fn, p));
    locate_guard(p);
    ck_assert_msg(p->found, "no guard page below the coroutine's frame %#lx (neither "
                  "a guard marker in pagemap nor a PROT_NONE mapping)",
                  (unsigned long)p->frame);
}

/* The stack's usable size, from its bottom to the running frame, is within
 * a few KiB of `size` (the coroutine's own bookkeeping sits at its top). */
static void assert_stack_size(const StackProbe *p, unsigned long size)
{
    unsigned long used_top = p->frame - p->bottom;

    ck_assert_msg(used_top <= size && used_top > size - 16 * 1024,
                  "frame %#lx is %lu bytes above the stack's bottom %#lx, expected "
                  "just under %lu", (unsigned long)p->frame, used_top,
                  (unsigned long)p->bottom, size);
}

START_TEST(coroutine_stack_has_a_guard_page_below_it)
{
    StackProbe p;

    probe_stack(&p);
    printf("coroutine stack guard: %s\n", p.marker ? "a guard marker in a shared slab"
           : "a PROT_NONE mapping of its own");
}
END_TEST

START_TEST(coroutine_stack_is_1_mib_by_default)
{
    StackProbe p;

    unsetenv("QAIO_COROUTINE_STACK_SIZE");
    probe_stack(&p);
    assert_stack_size(&p, COROUTINE_STACK_SIZE);
}
END_TEST

START_TEST(coroutine_stack_size_follows_qaio_coroutine_stack_size)
{
    StackProbe p;

    /* Read at the first coroutine, which this forked test has not made. */
    setenv("QAIO_COROUTINE_STACK_SIZE", "262144", 1);
    probe_stack(&p);
    assert_stack_size(&p, 262144);
}
END_TEST

/* Below the 16 KiB minimum, the knob is raised to it, and stderr says so
 * (it used to be raised silently). */
static const char *const stack_sizes_below_the_minimum[] = { "0", "1", "16383" };

START_TEST(coroutine_stack_size_below_the_minimum_is_raised_and_reported)
{
    StackProbe p;
    char *err;

    setenv("QAIO_COROUTINE_STACK_SIZE", stack_sizes_below_the_minimum[_i], 1);
    t_stderr_begin();
    probe_stack(&p);
    err = t_stderr_end();
    assert_stack_size(&p, 16 * 1024);
    ck_assert_msg(strstr(err, "QAIO_COROUTINE_STACK_SIZE") && strstr(err, "16384"),
                  "stderr: '%s'", err);
    g_free(err);
}
END_TEST

START_TEST(coroutine_stack_size_is_rounded_up_to_pages_and_reported)
{
    long page = sysconf(_SC_PAGESIZE);
    char value[32], *err;
    StackProbe p;

    snprintf(value, sizeof(value), "%d", 64 * 1024 + 1);
    setenv("QAIO_COROUTINE_STACK_SIZE", value, 1);
    t_stderr_begin();
    probe_stack(&p);
    err = t_stderr_end();
    assert_stack_size(&p, 64 * 1024 + page);
    ck_assert_msg(strstr(err, "QAIO_COROUTINE_STACK_SIZE") && strstr(err, "whole pages"),
                  "stderr: '%s'", err);
    g_free(err);
}
END_TEST

START_TEST(coroutine_stack_size_in_whole_pages_is_taken_silently)
{
    StackProbe p;
    char *err;

    setenv("QAIO_COROUTINE_STACK_SIZE", "262144", 1);
    t_stderr_begin();
    probe_stack(&p);
    err = t_stderr_end();
    ck_assert_str_eq(err, "");
    g_free(err);
}
END_TEST

static void hold_fn(void *opaque)
{
    qemu_coroutine_yield();
}

/* As README says: read at the process's first coroutine, so a value set
 * later does not change the stacks mapped afterwards. */
START_TEST(coroutine_stack_size_is_read_once_at_the_first_coroutine)
{
    Coroutine *held;
    StackProbe p;

    unsetenv("QAIO_COROUTINE_STACK_SIZE");
    probe_stack(&p);
    /* Keep the pooled coroutine busy, so the probe below maps a stack. */
    held = qemu_coroutine_create(hold_fn, NULL);
    qemu_coroutine_enter(held);
    setenv("QAIO_COROUTINE_STACK_SIZE", "262144", 1);
    probe_stack(&p);
    assert_stack_size(&p, COROUTINE_STACK_SIZE);
    qemu_coroutine_enter(held);
}
END_TEST

/* Frames of a few hundred bytes, each written whole and read again after
 * the call (so it stays a real recursion): no frame can step over the
 * guard page without touching it. */
static __attribute__((noinline)) int recurse_deep(long depth)
{
    volatile char buf[256];

    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] = (char)depth;
    }
    if (depth < (1L << 30)) {
        return recurse_deep(depth + 1) + buf[depth % sizeof(buf)];
    }
    return buf[0];
}

static void overflow_fn(void *opaque)
{
    *(int *)opaque = recurse_deep(0);
}

START_TEST(overflowing_a_coroutine_stack_faults_on_its_guard_page)
{
    int sum = 0;

    qemu_coroutine_enter(qemu_coroutine_create(overflow_fn, &sum));
}
END_TEST

START_TEST(stacks_are_reused_without_new_mappings)
{
    NestData nd = { .max = 1000 };
    int warm, after;
#ifdef T_SANITIZED
    const int slack = 32;   /* the sanitizers' own allocations settle later */
#else
    const int slack = 4;
#endif

    /* The first runs map what the pools and the dormant cache keep. */
    for (int i = 0; i < 3; i++) {
        nd = (NestData){ .max = 1000 };
        qemu_coroutine_enter(qemu_coroutine_create(nest, &nd));
    }
    warm = count_mappings();
    for (int i = 0; i < 20; i++) {
        nd = (NestData){ .max = 1000 };
        qemu_coroutine_enter(qemu_coroutine_create(nest, &nd));
        ck_assert_uint_eq(nd.n_return, 1000);
    }
    after = count_mappings();
    ck_assert_msg(after <= warm + slack, "mappings grew from %d to %d over 20 runs of a "
                  "1000-deep nesting", warm, after);
}
END_TEST

START_TEST(coroutines_beyond_every_cap_are_unmapped)
{
    /* The sanitizers and valgrind map memory of their own per fiber, and
     * settle later. */
#ifdef T_SANITIZED
    const bool instrumented = true;
#else
    const bool instrumented = T_ON_VALGRIND();
#endif
    const int rounds = instrumented ? 4 : 2;
    const int slack = instrumented ? 256 : 4;
    int maps[5];

    /* 2500 alive at once; afterwards the pools and the dormant cache keep
     * what their caps allow and the rest is unmapped. */
    maps[0] = count_mappings();
    for (int r = 1; r <= rounds; r++) {
        NestData nd = { .max = 2500 };

        qemu_coroutine_enter(qemu_coroutine_create(nest, &nd));
        ck_assert_uint_eq(nd.n_return, 2500);
        maps[r] = count_mappings();
    }
    printf("coroutine caps: mappings %d before, %d after a 2500-deep nesting, %d after "
           "the last of %d\n", maps[0], maps[1], maps[rounds], rounds);
    ck_assert_int_le(maps[rounds], maps[rounds - 1] + slack);
    if (!instrumented) {
        /* Two mappings per kept coroutine: 64 + 128 + 1024 of them at most. */
        ck_assert_int_le(maps[1] - maps[0], 2 * (64 + 128 + 1024) + slack);
    }
}
END_TEST

/* ---- many live coroutines ------------------------------------------------------ */

typedef struct {
    size_t touch;           /* bytes of stack each coroutine writes */
    long parked;
} Parked;

static void park_fn(void *opaque)
{
    Parked *pk = opaque;
    volatile char *buf = pk->touch ? alloca(pk->touch) : NULL;

    for (size_t i = 0; i < pk->touch; i += 512) {
        buf[i] = 1;
    }
    pk->parked++;
    qemu_coroutine_yield();
}

/* Creates n coroutines that park at their first yield; returns them. */
static Coroutine **park_many(long n, Parked *pk)
{
    Coroutine **co = g_new(Coroutine *, n);

    for (long i = 0; i < n; i++) {
        co[i] = qemu_coroutine_create(park_fn, pk);
        qemu_coroutine_enter(co[i]);
    }
    ck_assert_int_eq(pk->parked, n);
    return co;
}

static void end_all(Coroutine **co, long n)
{
    for (long i = 0; i < n; i++) {
        qemu_coroutine_enter(co[i]);
    }
    g_free(co);
}

static long max_map_count(void)
{
    char *text = NULL;
    long v;

    ck_assert(g_file_get_contents("/proc/sys/vm/max_map_count", &text, NULL, NULL));
    v = strtol(text, NULL, 10);
    g_free(text);
    return v;
}

static long status_kib(const char *field)
{
    char *text = NULL, *at;
    long v = -1;

    ck_assert(g_file_get_contents("/proc/self/status", &text, NULL, NULL));
    at = strstr(text, field);
    if (at) {
        v = strtol(at + strlen(field) + 1, NULL, 10);
    }
    g_free(text);
    return v;
}

/*
 * With one mapping and a guard per stack, vm.max_map_count stops a process
 * at about half its value in live coroutines; slabs guarded with markers
 * hold more than that many with a few map entries.
 */
START_TEST(more_live_coroutines_than_half_the_map_count_limit_fit)
{
    StackProbe probe;
    long n, maps_before, maps_peak;
    Parked pk = { 0 };
    Coroutine **co;

    probe_stack(&probe);
    if (!probe.marker) {
        printf("SKIP many live coroutines: stacks have a mapping each here (no "
               "MADV_GUARD_INSTALL)\n");
        return;
    }
#ifdef T_SANITIZED
    n = 4000;               /* the sanitizers map memory of their own per fiber */
#else
    n = T_ON_VALGRIND() ? 4000 : max_map_count() / 2 + 8000;
#endif
    maps_before = count_mappings();
    co = park_many(n, &pk);
    maps_peak = count_mappings();
    printf("coroutine scale: %ld live coroutines, map entries %ld before, %ld with "
           "all parked (vm.max_map_count %ld)\n", n, maps_before, maps_peak,
           max_map_count());
#ifndef T_SANITIZED
    /* A slab holds 64 stacks: at most one entry per slab, and adjacent
     * slabs merge. */
    ck_assert_int_le(maps_peak - maps_before, n / 64 + 16);
#endif
    end_all(co, n);
}
END_TEST

/* A stack given back is discarded, so memory follows the live coroutines;
 * only what the pools and the dormant cache keep stays resident. */
START_TEST(ended_coroutines_give_their_stack_memory_back)
{
    const long n = 8000;
    const long kept = 64 + 128 + 1024;   /* pools and dormant cache */
    Parked pk = { .touch = 32 * 1024 };
    long before, parked, after;
    Coroutine **co;

    if (T_ON_VALGRIND()) {
        printf("SKIP stack memory: resident size means nothing under valgrind\n");
        return;
    }
#ifdef T_SANITIZED
    printf("SKIP stack memory: the sanitizers' shadow memory blurs resident size\n");
    return;
#endif
    before = status_kib("VmRSS:");
    co = park_many(n, &pk);
    parked = status_kib("VmRSS:");
    end_all(co, n);
    after = status_kib("VmRSS:");
    printf("coroutine memory: VmRSS %ld KiB before, %ld with %ld parked, %ld after\n",
           before, parked, n, after);
    ck_assert_int_ge(parked - before, n * 32);
    ck_assert_int_le(after - before, kept * (32 + 8) + 8192);
}
END_TEST

/* ---- stacks without guard markers ---------------------------------------------- */

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
/*
 * Make madvise(MADV_GUARD_INSTALL) fail with EINVAL in this (forked) test
 * process, as on a kernel before Linux 6.13.  False, with the reason
 * printed, when that cannot be arranged.
 */
static bool hide_guard_markers(const char *test)
{
    return t_fail_syscall(test, __NR_madvise, 2, MADV_GUARD_INSTALL, EINVAL);
}

START_TEST(without_guard_markers_each_stack_has_a_protected_mapping_below_it)
{
    StackProbe p;
    Parked pk = { 0 };
    long before, after;
    Coroutine **co;

    if (!hide_guard_markers("stacks without guard markers")) {
        return;
    }
    probe_stack(&p);
    ck_assert_msg(!p.marker, "a guard marker although the kernel refused them");
    ck_assert_uint_ge(p.below.end - p.below.start, (unsigned long)sysconf(_SC_PAGESIZE));
    assert_stack_size(&p, COROUTINE_STACK_SIZE);
    /* Beyond what the pools and the dormant cache hold: two entries each. */
    before = count_mappings();
    co = park_many(200, &pk);
    after = count_mappings();
    end_all(co, 200);
#ifndef T_SANITIZED
    ck_assert_int_ge(after - before, 2 * 200 - 8);
#else
    (void)after;
    (void)before;
#endif
}
END_TEST

START_TEST(without_guard_markers_an_overflow_still_faults)
{
    int sum = 0;

    if (!hide_guard_markers("overflow without guard markers")) {
        raise(SIGSEGV);     /* skipped: what the test expects */
    }
    qemu_coroutine_enter(qemu_coroutine_create(overflow_fn, &sum));
}
END_TEST

#endif

/* ---- the lower layer (coroutine_int.h) --------------------------------------- */

typedef struct {
    Coroutine *leader;
    CoroutineAction resumed_with;
    bool in_coroutine;
    Coroutine *self;
} LowLevel;

static void low_level_fn(void *opaque)
{
    LowLevel *l = opaque;

    l->self = qemu_coroutine_self();
    l->in_coroutine = qemu_in_coroutine();
    l->resumed_with = qemu_coroutine_switch(l->self, l->leader, COROUTINE_YIELD);
}

START_TEST(lower_layer_switch_hands_over_actions_both_ways)
{
    LowLevel l = { .leader = qemu_coroutine_self() };
    Coroutine *co = qemu_coroutine_new();
    Coroutine zero;

    memset(&zero, 0, sizeof(zero));
    ck_assert_ptr_nonnull(co);
    ck_assert(memcmp(co, &zero, sizeof(zero)) == 0);
    co->entry = low_level_fn;
    co->entry_arg = &l;
    co->caller = l.leader;
    ck_assert_int_eq(qemu_coroutine_switch(l.leader, co, COROUTINE_ENTER),
                     COROUTINE_YIELD);
    ck_assert_ptr_eq(l.self, co);
    ck_assert(l.in_coroutine);
    /* Its entry function ends: back to its caller with TERMINATE. */
    ck_assert_int_eq(qemu_coroutine_switch(l.leader, co, COROUTINE_ENTER),
                     COROUTINE_TERMINATE);
    ck_assert_int_eq(l.resumed_with, COROUTINE_ENTER);
    ck_assert_ptr_eq(qemu_coroutine_self(), l.leader);
    qemu_coroutine_delete(co);
}
END_TEST

/* ---- threads: no stale thread-local state after a move -------------------------- */

/*
 * A coroutine passed back and forth between two threads by direct enters;
 * each thread has its own current AioContext.  After every resumption the
 * coroutine must see the resuming thread's context and itself.
 */
typedef struct {
    sem_t go[2];            /* thread i may enter the coroutine */
    sem_t back;
    AioContext *ctx[2];
    pthread_t thread[2];
    Coroutine *co;
    int rounds;
    int errors;
    char first_error[160];
    bool done;
} PingPong;

static void pp_check(PingPong *pp, int i)
{
    const char *what = NULL;

    if (qemu_get_current_aio_context() != pp->ctx[i]) {
        what = "qemu_get_current_aio_context() is stale";
    } else if (qemu_coroutine_self() != pp->co) {
        what = "qemu_coroutine_self() is not the coroutine";
    } else if (!qemu_in_coroutine()) {
        what = "qemu_in_coroutine() is false";
    } else if (!pthread_equal(pthread_self(), pp->thread[i])) {
        what = "resumed on the wrong thread";
    }
    if (what && pp->errors++ == 0) {
        snprintf(pp->first_error, sizeof(pp->first_error), "%s (thread %d)", what, i);
    }
}

static void pp_fn(void *opaque)
{
    PingPong *pp = opaque;

    for (int r = 0; r < pp->rounds; r++) {
        pp_check(pp, r % 2);
        qemu_coroutine_yield();
    }
    pp->done = true;
}

typedef struct {
    PingPong *pp;
    int i;
} PingPongThread;

static void *pp_thread(void *opaque)
{
    PingPongThread *t = opaque;
    PingPong *pp = t->pp;

    pp->ctx[t->i] = aio_context_new(&error_abort);
    qemu_set_current_aio_context(pp->ctx[t->i]);
    sem_post(&pp->back);
    for (;;) {
        sem_wait(&pp->go[t->i]);
        if (pp->done) {
            break;
        }
        qemu_coroutine_enter(pp->co);
        sem_post(&pp->back);
    }
    return NULL;
}

START_TEST(coroutine_resumed_on_another_thread_sees_that_threads_state)
{
    PingPong pp = { .rounds = 2000 };
    PingPongThread t[2] = { { &pp, 0 }, { &pp, 1 } };

    sem_init(&pp.go[0], 0, 0);
    sem_init(&pp.go[1], 0, 0);
    sem_init(&pp.back, 0, 0);
    for (int i = 0; i < 2; i++) {
        pthread_create(&pp.thread[i], NULL, pp_thread, &t[i]);
        sem_wait(&pp.back);
    }
    pp.co = qemu_coroutine_create(pp_fn, &pp);
    for (int r = 0; r <= pp.rounds; r++) {
        sem_post(&pp.go[r % 2]);
        sem_wait(&pp.back);
    }
    ck_assert(pp.done);
    sem_post(&pp.go[0]);
    sem_post(&pp.go[1]);
    for (int i = 0; i < 2; i++) {
        pthread_join(pp.thread[i], NULL);
        aio_context_unref(pp.ctx[i]);
    }
    ck_assert_msg(pp.errors == 0, "%d stale reads after migration; first: %s",
                  pp.errors, pp.first_error);
}
END_TEST

/* ---- misuse: entering a running or scheduled coroutine ---------------------- */

static void enter_self_fn(void *opaque)
{
    qemu_coroutine_enter(qemu_coroutine_self());
}

static void enter_running(void)
{
    qemu_coroutine_enter(qemu_coroutine_create(enter_self_fn, NULL));
}

START_TEST(entering_a_running_coroutine_aborts)
{
    t_expect_abort_naming(enter_running, "re-entered recursively", NULL);
    t_silence_stderr();
    enter_running();
}
END_TEST

static void enter_caller_fn(void *opaque)
{
    qemu_coroutine_enter(opaque);
}

static void enter_own_enterer_fn(void *opaque)
{
    qemu_coroutine_enter(qemu_coroutine_create(enter_caller_fn, qemu_coroutine_self()));
}

static void enter_own_enterer(void)
{
    qemu_coroutine_enter(qemu_coroutine_create(enter_own_enterer_fn, NULL));
}

START_TEST(entering_the_coroutine_that_entered_you_aborts)
{
    t_expect_abort_naming(enter_own_enterer, "re-entered recursively", NULL);
    t_silence_stderr();
    enter_own_enterer();
}
END_TEST

static void enter_marked_scheduled(void)
{
    Coroutine *co = qemu_coroutine_create(nop_fn, NULL);

    /* What aio_co_schedule or a sleep leaves in it. */
    co->scheduled = "qaio_test_scheduler";
    qemu_coroutine_enter(co);
}

START_TEST(entering_a_scheduled_coroutine_aborts_naming_the_scheduler)
{
    t_expect_abort_naming(enter_marked_scheduled, "already scheduled",
                        "qaio_test_scheduler");
    t_silence_stderr();
    enter_marked_scheduled();
}
END_TEST

static void yield_outside(void)
{
    qemu_coroutine_yield();
}

START_TEST(yielding_outside_a_coroutine_aborts)
{
    t_expect_abort_naming(yield_outside, "yielding to no one", NULL);
    t_silence_stderr();
    yield_outside();
}
END_TEST

static void hold_lock_fn(void *opaque)
{
    qemu_coroutine_self()->locks_held++;
}

static void end_holding_lock(void)
{
    qemu_coroutine_enter(qemu_coroutine_create(hold_lock_fn, NULL));
}

START_TEST(ending_while_holding_a_lock_aborts)
{
    t_expect_abort_naming(end_holding_lock, "holding", NULL);
    t_silence_stderr();
    end_holding_lock();
}
END_TEST

static void wake_self_fn(void *opaque)
{
    aio_co_enter(qemu_get_current_aio_context(), qemu_coroutine_self());
}

static void wake_self(void)
{
    qemu_coroutine_enter(qemu_coroutine_create(wake_self_fn, NULL));
}

START_TEST(aio_co_enter_of_the_running_coroutine_aborts)
{
    t_expect_abort_naming(wake_self, "wakes itself", NULL);
    t_silence_stderr();
    wake_self();
}
END_TEST

static void shrink_pool_too_much(void)
{
    qemu_coroutine_dec_pool_size(100000);
}

START_TEST(shrinking_the_pool_below_zero_aborts)
{
    t_expect_abort_naming(shrink_pool_too_much, "qemu_coroutine_dec_pool_size", NULL);
    t_silence_stderr();
    shrink_pool_too_much();
}
END_TEST

static Suite *coroutine_suite(void)
{
    Suite *s = suite_create("coroutine");
    TCase *tc;

    tc = tcase_create("basic");
    tcase_add_test(tc, coroutine_runs_to_its_end_inside_enter_and_again_when_reused);
    tcase_add_test(tc, coroutine_yielding_five_times_needs_six_enters);
    tcase_add_test(tc, coroutines_nest_128_deep);
    tcase_add_test(tc, coroutine_self_is_the_pointer_create_returned);
    tcase_add_test(tc, coroutine_self_outside_coroutines_is_a_stable_placeholder);
    tcase_add_test(tc, entered_is_true_for_the_running_coroutine_and_its_enterer_only);
    tcase_add_test(tc, in_coroutine_is_false_outside_and_true_inside);
    tcase_add_test(tc, control_moves_strictly_between_caller_and_coroutine);
    tcase_add_test(tc, yielded_coroutine_keeps_no_pointer_to_its_ended_enterer);
    tcase_add_test(tc, get_aio_context_is_the_context_of_the_last_enter);
    tcase_add_test(tc, enter_if_inactive_enters_only_a_coroutine_not_entered);
    suite_add_tcase(s, tc);

    tc = tcase_create("wakeup");
    tcase_add_test(tc, coroutines_woken_by_a_coroutine_run_after_it_yields_in_order);
    tcase_add_test(tc, coroutines_woken_by_a_coroutine_run_after_it_ends);
    tcase_add_test(tc, wake_ups_run_depth_first_before_older_pending_ones);
    tcase_add_test(tc, aio_co_wake_outside_coroutines_without_a_context_enters_at_once);
    suite_add_tcase(s, tc);

    tc = tcase_create("pool");
    tcase_add_test(tc, sequential_lifecycles_reuse_a_bounded_set_of_coroutines);
    tcase_add_test(tc, pool_size_can_grow_and_shrink_back);
#ifndef _WIN32
    tcase_add_test(tc, coroutines_created_on_one_thread_and_ended_on_another_keep_maps_bounded);
#endif
    tcase_set_timeout(tc, 300);
    suite_add_tcase(s, tc);

#ifndef _WIN32

    tc = tcase_create("stack");
    tcase_add_test(tc, coroutine_stack_has_a_guard_page_below_it);
    tcase_add_test(tc, coroutine_stack_is_1_mib_by_default);
    tcase_add_test(tc, coroutine_stack_size_follows_qaio_coroutine_stack_size);
    tcase_add_loop_test(tc, coroutine_stack_size_below_the_minimum_is_raised_and_reported, 0,
                        (int)ARRAY_SIZE(stack_sizes_below_the_minimum));
    tcase_add_test(tc, coroutine_stack_size_is_rounded_up_to_pages_and_reported);
    tcase_add_test(tc, coroutine_stack_size_in_whole_pages_is_taken_silently);
    tcase_add_test(tc, coroutine_stack_size_is_read_once_at_the_first_coroutine);
    tcase_add_test(tc, stacks_are_reused_without_new_mappings);
    tcase_add_test(tc, coroutines_beyond_every_cap_are_unmapped);
#ifndef T_SANITIZED
    /* ASan reports the overflow itself; valgrind would too. */
    if (!T_ON_VALGRIND()) {
        tcase_add_test_raise_signal(tc, overflowing_a_coroutine_stack_faults_on_its_guard_page,
                                    SIGSEGV);
    }
#else
    (void)overflowing_a_coroutine_stack_faults_on_its_guard_page;
#endif
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("scale");
    tcase_add_test(tc, more_live_coroutines_than_half_the_map_count_limit_fit);
    tcase_add_test(tc, ended_coroutines_give_their_stack_memory_back);
    tcase_set_timeout(tc, 300);
    suite_add_tcase(s, tc);

    tc = tcase_create("no_guard_markers");
    tcase_add_test(tc, without_guard_markers_each_stack_has_a_protected_mapping_below_it);
#ifndef T_SANITIZED
    if (!T_ON_VALGRIND()) {
        tcase_add_test_raise_signal(tc, without_guard_markers_an_overflow_still_faults,
                                    SIGSEGV);
    }
#else
    (void)without_guard_markers_an_overflow_still_faults;
#endif
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

#endif

    tc = tcase_create("lower_layer");
    tcase_add_test(tc, lower_layer_switch_hands_over_actions_both_ways);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    tcase_add_test(tc, coroutine_resumed_on_another_thread_sees_that_threads_state);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("misuse");
    tcase_add_test_raise_signal(tc, entering_a_running_coroutine_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, entering_the_coroutine_that_entered_you_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, entering_a_scheduled_coroutine_aborts_naming_the_scheduler,
                                SIGABRT);
    tcase_add_test_raise_signal(tc, yielding_outside_a_coroutine_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, ending_while_holding_a_lock_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, aio_co_enter_of_the_running_coroutine_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, shrinking_the_pool_below_zero_aborts, SIGABRT);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    return t_run_suite(coroutine_suite());
}
