/* SPDX-License-Identifier: MIT */
/*
 * The helpers of helpers.h that are the same on every platform: draining a
 * context, the clock, capturing stderr, the coroutine and IOThread helpers.
 * POSIX-only ones (fd monitors, seccomp, forked children) are in helpers.c,
 * their Windows forms in win32/helpers.c.
 */
#include "helpers.h"

#include <unistd.h>

void t_drain_ctx(AioContext *ctx)
{
    while (aio_poll(ctx, false)) {
        /* keep going until an iteration makes no progress */
    }
}

int64_t t_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int t_saved_stderr = -1;
static FILE *t_captured;

void t_stderr_begin(void)
{
    t_captured = tmpfile();
    if (!t_captured) {
        ck_abort_msg("tmpfile: %s", strerror(errno));
    }
    fflush(stderr);
    t_saved_stderr = dup(STDERR_FILENO);
    dup2(fileno(t_captured), STDERR_FILENO);
}

char *t_stderr_end(void)
{
    char *text = g_malloc0(65536);
    size_t n;

    fflush(stderr);
    dup2(t_saved_stderr, STDERR_FILENO);
    close(t_saved_stderr);
    rewind(t_captured);
    n = fread(text, 1, 65535, t_captured);
    text[n] = '\0';
    fclose(t_captured);
    return text;
}

/* ---- coroutine helpers ---------------------------------------------------- */

void t_log_add(TLog *l, const char *s)
{
    size_t n = strlen(s);

    ck_assert_uint_lt(l->len + n, sizeof(l->buf));
    memcpy(l->buf + l->len, s, n + 1);
    l->len += n;
}

Coroutine *t_co_start(CoroutineEntry *fn, void *arg)
{
    Coroutine *co = qemu_coroutine_create(fn, arg);

    qemu_coroutine_enter(co);
    return co;
}

/* A context for this thread, bound as its current one (once per thread). */
AioContext *t_ctx_new_current(void)
{
    AioContext *ctx = aio_context_new(&error_abort);

    ck_assert_ptr_nonnull(ctx);
    t_assert_fdmon(ctx);
    ck_assert_ptr_null(qemu_get_current_aio_context());
    qemu_set_current_aio_context(ctx);
    t_drain_ctx(ctx);
    return ctx;
}

void t_run_until(AioContext *ctx, const int *flag, int value)
{
    while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) != value) {
        aio_poll(ctx, true);
    }
}

/* Polls (the caller has no loop to run) until *counter reaches value. */
void t_wait_for_count(const int *counter, int value)
{
    while (__atomic_load_n(counter, __ATOMIC_ACQUIRE) != value) {
        g_usleep(1000);
    }
}


static void *iothread_main(void *opaque)
{
    TIoThread *t = opaque;

    t->ctx = aio_context_new(&error_abort);
    t_assert_fdmon(t->ctx);
    qemu_set_current_aio_context(t->ctx);
    sem_post(&t->ready);
    while (!__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE)) {
        aio_poll(t->ctx, true);
    }
    t_drain_ctx(t->ctx);
    return NULL;
}

void t_iothread_start(TIoThread *t)
{
    memset(t, 0, sizeof(*t));
    sem_init(&t->ready, 0, 0);
    ck_assert_int_eq(pthread_create(&t->tid, NULL, iothread_main, t), 0);
    while (sem_wait(&t->ready) != 0) {
        ck_assert_int_eq(errno, EINTR);
    }
}

static void iothread_stop_cb(void *opaque)
{
    TIoThread *t = opaque;

    __atomic_store_n(&t->stop, 1, __ATOMIC_RELEASE);
}

/*
 * The context outlives its thread: the thread may run the stop BH before
 * aio_bh_schedule_oneshot() has finished notifying the context, so only
 * the joiner may drop it (as QEMU's IOThread does).
 */
void t_iothread_join(TIoThread *t)
{
    aio_bh_schedule_oneshot(t->ctx, iothread_stop_cb, t);
    pthread_join(t->tid, NULL);
    aio_context_unref(t->ctx);
    sem_destroy(&t->ready);
}

void t_iothread_pair_start(TIoThread *a, TIoThread *b)
{
    t_iothread_start(a);
    t_iothread_start(b);
}

void t_iothread_pair_join(TIoThread *a, TIoThread *b)
{
    t_iothread_join(a);
    t_iothread_join(b);
}

typedef struct {
    CoroutineEntry *fn;
    void *arg;
} Spawn;

static void spawn_bh(void *opaque)
{
    Spawn *s = opaque;
    Coroutine *co = qemu_coroutine_create(s->fn, s->arg);

    g_free(s);
    qemu_coroutine_enter(co);
}

/* Create and start a coroutine in the thread that polls ctx. */
void t_spawn_in(AioContext *ctx, CoroutineEntry *fn, void *arg)
{
    Spawn *s = g_new(Spawn, 1);

    s->fn = fn;
    s->arg = arg;
    aio_bh_schedule_oneshot(ctx, spawn_bh, s);
}
