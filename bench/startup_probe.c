/* SPDX-License-Identifier: MIT */
/*
 * qaio-bench's start-up probe, exec'd many times by suite "startup": the
 * shape of a short-lived QEMU tool.  It starts one idle thread (QEMU's
 * tools always have their RCU thread), creates an AioContext and runs one
 * coroutine in it, then exits.  "startup_probe lock" locks and unlocks a
 * CoMutex once in that coroutine; "startup_probe none" runs an empty one,
 * the same program without any CoMutex.  Exit status 0 on success.
 */
#include "qemu/osdep.h"
#include "block/aio.h"
#include "qemu/coroutine.h"
#include "qapi/error.h"

#include <pthread.h>

static void *idle_thread(void *unused)
{
    for (;;) {
        pause();
    }
    return NULL;
}

static void coroutine_fn lock_once(void *opaque)
{
    CoMutex *m = opaque;

    qemu_co_mutex_lock(m);
    qemu_co_mutex_unlock(m);
}

static void coroutine_fn nothing(void *opaque)
{
}

int main(int argc, char **argv)
{
    bool lock = argc == 2 && strcmp(argv[1], "lock") == 0;
    pthread_t idle;
    AioContext *ctx;
    CoMutex m;

    if (argc != 2 || (!lock && strcmp(argv[1], "none") != 0)) {
        fprintf(stderr, "usage: startup_probe lock|none\n");
        return 2;
    }
    if (pthread_create(&idle, NULL, idle_thread, NULL) != 0) {
        return 1;
    }
    ctx = aio_context_new(&error_abort);
    qemu_set_current_aio_context(ctx);
    if (lock) {
        qemu_co_mutex_init(&m);
    }
    qemu_coroutine_enter(qemu_coroutine_create(lock ? lock_once : nothing, &m));
    return 0;
}
