/* SPDX-License-Identifier: MIT */
/*
 * Suite "coroutine": what a coroutine costs, beside the two things it is
 * built from.  qaio cases: one switch (qemu_coroutine_switch between the
 * thread's leader and a coroutine that switches straight back, per
 * switch); the enter+yield round trip (qemu_coroutine_enter of a coroutine
 * that loops on qemu_coroutine_yield); a lifecycle with a warm pool
 * (create, enter, run an empty entry, end, recycle); and a lifecycle in a
 * 1000-deep nesting, where each coroutine is created while the previous
 * ones are still alive, so the QEMU pools run dry and creation falls back
 * to qemu_coroutine_new().  Beside them, measured in the same run with
 * interleaved repeats: Boost.Context's bare jump_fcontext ping-pong (per
 * jump), looked up at run time so the suite works whichever backend qaio
 * was built with, and an mmap + mprotect (guard page) + munmap of a 1 MiB
 * stack, what a coroutine stack costs without a pool.  Targets: switch at
 * most 1.5x a bare jump, round trip at most 4x, warm lifecycle at most 6x,
 * creation with the pools empty at most a quarter of the mmap cycle.
 */
#include "config.h"

#include "bench.h"

#include "qemu/coroutine.h"
#include "qemu/coroutine_int.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <dlfcn.h>
#include <sys/mman.h>
#endif

enum { CO_NEST_DEPTH = 1000, CO_MAP_SIZE = 1 << 20 };

/* Boost.Context's C interface (boost/context/detail/fcontext.hpp). */
typedef struct co_transfer {
    void *fctx;
    void *data;
} co_transfer;
typedef co_transfer co_jump_fn(void *to, void *vp);
typedef void *co_make_fn(void *sp, size_t size, void (*fn)(co_transfer));

typedef struct co_state {
    char why[160];
    Coroutine *leader;
    Coroutine *bouncer;     /* switches straight back to the leader */
    Coroutine *yielder;     /* yields on every enter */
    bool stop;
    uint64_t nest_runs;
    /* the bare peer */
    co_jump_fn *jump;
    void *peer;             /* where the peer context waits */
    void *peer_stack;
    size_t page;
} co_state;

static co_jump_fn *co_peer_jump;

/* ---- a stack's memory: what a coroutine stack costs without a pool ------ */

#ifdef _WIN32
#define CO_MAP_LABEL "VirtualAlloc+Protect+Free 1M"

static size_t co_page_size(void)
{
    SYSTEM_INFO si;

    GetSystemInfo(&si);
    return si.dwPageSize;
}

static void *co_map(size_t size)
{
    return VirtualAlloc(NULL, size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
}

static void co_guard(void *p, size_t page)
{
    DWORD old;

    VirtualProtect(p, page, PAGE_NOACCESS, &old);
}

static void co_unmap(void *p, size_t size)
{
    VirtualFree(p, 0, MEM_RELEASE);
}
#else
#define CO_MAP_LABEL "mmap+mprotect+munmap 1M"

static size_t co_page_size(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

static void *co_map(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    return p == MAP_FAILED ? NULL : p;
}

static void co_guard(void *p, size_t page)
{
    mprotect(p, page, PROT_NONE);
}

static void co_unmap(void *p, size_t size)
{
    munmap(p, size);
}
#endif

/* ---- qaio --------------------------------------------------------------- */

static void co_bouncer_fn(void *opaque)
{
    co_state *s = opaque;

    do {
        qemu_coroutine_switch(s->bouncer, s->leader, COROUTINE_YIELD);
    } while (!s->stop);
}

static void co_switch_body(void *opaque, uint64_t iters)
{
    co_state *s = opaque;

    for (uint64_t i = 0; i < iters; i++) {
        qemu_coroutine_switch(s->leader, s->bouncer, COROUTINE_ENTER);
    }
}

static void co_yielder_fn(void *opaque)
{
    co_state *s = opaque;

    while (!s->stop) {
        qemu_coroutine_yield();
    }
}

static void co_enter_yield_body(void *opaque, uint64_t iters)
{
    co_state *s = opaque;

    for (uint64_t i = 0; i < iters; i++) {
        qemu_coroutine_enter(s->yielder);
    }
}

static void co_nop_fn(void *opaque)
{
}

static void co_lifecycle_body(void *opaque, uint64_t iters)
{
    for (uint64_t i = 0; i < iters; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(co_nop_fn, NULL));
    }
}

static void co_nest_fn(void *opaque)
{
    uint64_t *left = opaque;

    if (--*left) {
        qemu_coroutine_enter(qemu_coroutine_create(co_nest_fn, left));
    }
}

/* One operation is one coroutine of a nesting up to CO_NEST_DEPTH deep. */
static void co_nest_body(void *opaque, uint64_t iters)
{
    co_state *s = opaque;

    while (iters) {
        uint64_t depth = MIN(iters, (uint64_t)CO_NEST_DEPTH);
        uint64_t left = depth;

        qemu_coroutine_enter(qemu_coroutine_create(co_nest_fn, &left));
        iters -= depth;
        s->nest_runs++;
    }
}

/* ---- the bare peers ----------------------------------------------------- */

static void co_peer_main(co_transfer t)
{
    for (;;) {
        t = co_peer_jump(t.fctx, NULL);
    }
}

static void co_jump_body(void *opaque, uint64_t iters)
{
    co_state *s = opaque;
    void *peer = s->peer;

    for (uint64_t i = 0; i < iters; i++) {
        peer = s->jump(peer, NULL).fctx;
    }
    s->peer = peer;
}

static void co_mmap_body(void *opaque, uint64_t iters)
{
    co_state *s = opaque;
    size_t total = CO_MAP_SIZE + s->page;

    for (uint64_t i = 0; i < iters; i++) {
        void *p = co_map(total);
        if (!p) {
            fprintf(stderr, "qaio-bench: cannot map a 1 MiB stack\n");
            exit(1);
        }
        co_guard(p, s->page);
        co_unmap(p, total);
    }
}

#ifdef _WIN32
/* Boost's Windows fcontext, which the static libqaio.a carries. */
co_transfer jump_fcontext(void *to, void *vp);
void *make_fcontext(void *sp, size_t size, void (*fn)(co_transfer));

static bool co_find_boost(co_state *s, co_make_fn **make)
{
    s->jump = jump_fcontext;
    *make = make_fcontext;
    return true;
}
#else
/* jump_fcontext and make_fcontext from the process (where qaio's fcontext
 * backend brought libboost_context in) or from the library itself. */
static bool co_find_boost(co_state *s, co_make_fn **make)
{
    void *lib = NULL;

    s->jump = (co_jump_fn *)dlsym(RTLD_DEFAULT, "jump_fcontext");
    *make = (co_make_fn *)dlsym(RTLD_DEFAULT, "make_fcontext");
    if (!s->jump || !*make) {
        lib = dlopen("libboost_context.so", RTLD_NOW | RTLD_LOCAL);
        if (lib) {
            s->jump = (co_jump_fn *)dlsym(lib, "jump_fcontext");
            *make = (co_make_fn *)dlsym(lib, "make_fcontext");
        }
    }
    if (!s->jump || !*make) {
        snprintf(s->why, sizeof(s->why), "Boost.Context not found (install "
                 "libboost-context-dev)");
        return false;
    }
    return true;
}
#endif

/* ---- set-up ------------------------------------------------------------- */

static void co_setup(void *opaque)
{
    co_state *s = opaque;
    co_make_fn *make;

    s->page = co_page_size();
    s->leader = qemu_coroutine_self();
    s->bouncer = qemu_coroutine_create(co_bouncer_fn, s);
    qemu_coroutine_enter(s->bouncer);       /* runs up to its first switch */
    s->yielder = qemu_coroutine_create(co_yielder_fn, s);
    qemu_coroutine_enter(s->yielder);
    if (co_find_boost(s, &make)) {
        s->peer_stack = co_map(CO_MAP_SIZE);
        co_peer_jump = s->jump;
        s->peer = make((char *)s->peer_stack + CO_MAP_SIZE, CO_MAP_SIZE,
                       co_peer_main);
        s->peer = s->jump(s->peer, NULL).fctx;  /* start it */
    }
}

static void co_teardown(void *opaque)
{
    co_state *s = opaque;

    s->stop = true;
    /* The bouncer ends and switches to its caller, this thread's leader. */
    if (qemu_coroutine_switch(s->leader, s->bouncer, COROUTINE_ENTER) ==
        COROUTINE_TERMINATE) {
        s->bouncer->caller = NULL;
        qemu_coroutine_delete(s->bouncer);
    }
    qemu_coroutine_enter(s->yielder);
    if (s->peer_stack) {
        /* The peer is parked in its jump; its stack simply goes. */
        co_unmap(s->peer_stack, CO_MAP_SIZE);
    }
}

/* Per switch (or jump) rather than per round trip. */
static void co_halve(bench_stats *st)
{
    st->median_ns /= 2;
    st->min_ns /= 2;
    st->max_ns /= 2;
    for (int r = 0; r < st->repeats; r++) {
        st->samples[r] /= 2;
    }
}

static void co_judge(bench_result *r, const char *what, const bench_stats *a,
                     const bench_stats *ref, double limit, const char *target)
{
    double ratio = ref ? bench_paired_ratio(a, ref) : -1;

    bench_add_ratio(r, what, ratio);
    bench_set_target(r, target, limit, ratio);
}

static void co_run(void)
{
    co_state *s = g_new0(co_state, 1);
    bench_worker *w = bench_worker_start("bench-coroutine");
    bench_case cases[6];
    int n = 0, isw, iey, ilc, inest, ijump = -1, immap;
    const bench_stats *jump = NULL;

    bench_alive("[coroutine] set-up");
    bench_worker_call(w, co_setup, s);
    isw = n;
    cases[n++] = BENCH_CASE("switch", co_switch_body, s, w);
    iey = n;
    cases[n++] = BENCH_CASE("enter+yield", co_enter_yield_body, s, w);
    ilc = n;
    cases[n++] = BENCH_CASE("lifecycle", co_lifecycle_body, s, w);
    inest = n;
    cases[n++] = BENCH_CASE("nesting", co_nest_body, s, w);
    if (s->jump) {
        ijump = n;
        cases[n++] = BENCH_CASE("jump_fcontext", co_jump_body, s, w);
    } else {
        bench_note("coroutine", "bare jump_fcontext not measured: %s", s->why);
    }
    immap = n;
    cases[n++] = BENCH_CASE("mmap", co_mmap_body, s, w);

    bench_measure(cases, n, "coroutine", "switch, enter, lifecycle", 1, 1);

    co_halve(&cases[isw].stats);
    if (ijump >= 0) {
        co_halve(&cases[ijump].stats);
        jump = &cases[ijump].stats;
        bench_record("coroutine", "jump_fcontext (one jump)", "bare", jump);
    }
    co_judge(bench_record("coroutine", "switch (one)", "qaio", &cases[isw].stats),
             "/jump", &cases[isw].stats, jump, 1.5, "≤1.5x jump_fcontext");
    co_judge(bench_record("coroutine", "enter+yield", "qaio", &cases[iey].stats),
             "/jump", &cases[iey].stats, jump, 4.0, "≤4x jump_fcontext");
    co_judge(bench_record("coroutine", "lifecycle, warm pool", "qaio",
                          &cases[ilc].stats),
             "/jump", &cases[ilc].stats, jump, 6.0, "≤6x jump_fcontext");
    bench_record("coroutine", CO_MAP_LABEL, "bare", &cases[immap].stats);
    co_judge(bench_record("coroutine", "create, empty pool (nest 1000)", "qaio",
                          &cases[inest].stats),
             "/mmap", &cases[inest].stats, &cases[immap].stats, 0.25,
             "≤0.25x mmap cycle");

    bench_alive("[coroutine] tear-down");
    bench_worker_call(w, co_teardown, s);
    bench_worker_stop(w);
    g_free(s);
}

const bench_suite bench_suite_coroutine = {
    .name = "coroutine",
    .summary = "coroutine switch, enter+yield, lifecycle, creation; bare "
               "jump_fcontext and mmap beside",
    .run = co_run,
};
