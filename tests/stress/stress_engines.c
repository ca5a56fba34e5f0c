/* SPDX-License-Identifier: MIT */
/*
 * Stress "linux_aio" / "io_uring" (one program per engine, like the Check
 * suites; T_FAULT_LINUX_AIO or T_FAULT_IO_URING says which): rounds of
 * random vectored reads and writes on disjoint ranges of a 1 MiB file,
 * started inside a plug or not, checked against a shadow copy of the file:
 *  - a read that succeeds returns exactly the shadow's bytes;
 *  - a write that succeeds changes the file (the shadow follows);
 *  - a write refused at submission (-ENOMEM, linux-aio) changes nothing.
 * The fault case injects refused (-EAGAIN, -EINTR, -ENOMEM) and partial
 * submissions, short io_getevents, -EAGAIN completions and short transfers
 * through tests/fault_inject.c.  io_uring retries all of them and must end
 * every request with its data right; linux-aio passes completion errors to
 * the caller, and a short read is its end of file, the rest zero-filled.
 */
#include "stress.h"
#include "../engine_common.h"

enum { FILE_SIZE = 1 << 20, SLOT = 4096, SLOTS = FILE_SIZE / SLOT, MAX_REQS = 32,
       MAX_IOV = 4 };

#if defined(T_FAULT_LINUX_AIO)
#define ENGINE_NAME "linux-aio"
#define PROGRAM "stress_linux_aio"
#ifdef CONFIG_LINUX_AIO
#define HAVE_ENGINE 1
#endif
#else
#define ENGINE_NAME "io_uring"
#define PROGRAM "stress_io_uring"
#ifdef CONFIG_LINUX_IO_URING
#define HAVE_ENGINE 1
#endif
#endif

#ifdef HAVE_ENGINE
static bool is_linux_aio(void)
{
    return strcmp(ENGINE_NAME, "linux-aio") == 0;
}

typedef struct {
    bool faults;
    bool direct;
    unsigned long reads, writes, refused, failed, eof_reads;
} Run;

typedef struct {
    t_req req;
    QEMUIOVector qiov;
    uint8_t *flat;     /* the request's bytes, one buffer cut into pieces */
    size_t len;
} Op;

static uint8_t shadow[FILE_SIZE];

/* Whether buf[0, len) is a prefix of the shadow at off followed by zeros
 * only (linux-aio's end of file after a shortened read). */
static bool shadow_then_zeros(const uint8_t *buf, uint64_t off, size_t len)
{
    size_t i = 0;

    while (i < len && buf[i] == shadow[off + i]) {
        i++;
    }
    while (i < len && buf[i] == 0) {
        i++;
    }
    return i == len;
}

static void resync(int fd, uint64_t off, size_t len)
{
    if (pread(fd, shadow + off, len, off) != (ssize_t)len) {
        s_fail("pread of the data file: %s", strerror(errno));
    }
}

static void one_round(Run *run, s_rng *rng, AioContext *ctx, void *s, t_file *f)
{
    bool used[SLOTS] = { false };
    Op ops[MAX_REQS];
    t_req reqs[MAX_REQS];
    int n = 1 + s_rand(rng, MAX_REQS);
    int made = 0;
    bool plugged = s_rand(rng, 2);

    for (int i = 0; i < n; i++) {
        int first = s_rand(rng, SLOTS), count = 1 + s_rand(rng, 4), k;
        uint64_t off;
        size_t len, pieces[MAX_IOV], left;
        int niov = 1 + s_rand(rng, MAX_IOV);
        Op *op = &ops[made];

        if (first + count > SLOTS) {
            continue;
        }
        for (k = 0; k < count && !used[first + k]; k++) {
        }
        if (k < count) {
            continue;  /* overlaps a request of this round */
        }
        for (k = 0; k < count; k++) {
            used[first + k] = true;
        }
        off = (uint64_t)first * SLOT;
        len = (size_t)count * SLOT;
        if (!run->direct) {
            /* Any byte range inside the slots. */
            unsigned skip = s_rand(rng, SLOT / 2);

            off += skip;
            len -= skip + s_rand(rng, SLOT / 2);
        }
        niov = MIN(niov, (int)(run->direct ? (size_t)count : len));
        op->flat = t_buf(len);
        op->len = len;
        /* Cut into niov pieces (whole slots with O_DIRECT). */
        left = len;
        for (k = 0; k < niov - 1; k++) {
            size_t unit = run->direct ? SLOT : 1;
            size_t max_units = left / unit - (size_t)(niov - 1 - k);

            pieces[k] = unit * (1 + s_rand(rng, (uint32_t)max_units));
            left -= pieces[k];
        }
        pieces[niov - 1] = left;
        qemu_iovec_init(&op->qiov, niov);
        for (k = 0, left = 0; k < niov; left += pieces[k], k++) {
            qemu_iovec_add(&op->qiov, op->flat + left, pieces[k]);
        }
        memset(&op->req, 0, sizeof(op->req));
        op->req.engine = s;
        op->req.fd = f->fd;
        op->req.offset = off;
        op->req.qiov = &op->qiov;
        op->req.type = s_rand(rng, 2) ? QEMU_AIO_WRITE : QEMU_AIO_READ;
        if (op->req.type == QEMU_AIO_WRITE) {
            for (size_t b = 0; b < len; b++) {
                op->flat[b] = (uint8_t)s_rand(rng, 256);
            }
        }
        made++;
    }
    for (int i = 0; i < made; i++) {
        reqs[i] = ops[i].req;
    }
    t_start_requests(reqs, made, plugged);
    for (;;) {
        int returned = 0;

        for (int i = 0; i < made; i++) {
            returned += reqs[i].completions > 0;
        }
        if (returned == made) {
            break;
        }
        aio_poll(ctx, true);
    }
    for (int i = 0; i < made; i++) {
        t_req *r = &reqs[i];
        Op *op = &ops[i];

        s_check(r->completions == 1, "request returned %d times", r->completions);
        if (r->type == QEMU_AIO_READ) {
            run->reads++;
            if (r->ret == 0 && memcmp(op->flat, shadow + r->offset, op->len) != 0) {
                if (is_linux_aio() && run->faults &&
                    shadow_then_zeros(op->flat, r->offset, op->len)) {
                    run->eof_reads++;  /* a shortened read: end of file */
                } else {
                    s_fail("read of %zu bytes at %" PRIu64 " in %d pieces differs from the shadow",
                           op->len, r->offset, op->qiov.niov);
                }
            } else if (r->ret != 0) {
                s_check(run->faults && is_linux_aio(), "read returned %d", r->ret);
                run->failed++;
            }
        } else {
            run->writes++;
            if (r->ret == 0) {
                memcpy(shadow + r->offset, op->flat, op->len);
            } else if (r->ret == -ENOMEM) {
                run->refused++;  /* refused: the shadow is still right */
            } else {
                /* A shortened write is -ENOSPC for both engines. */
                s_check(run->faults && (is_linux_aio() || r->ret == -ENOSPC),
                        "write returned %d", r->ret);
                run->failed++;
                resync(f->fd, r->offset, op->len);  /* its outcome is unknown */
            }
        }
        qemu_iovec_destroy(&op->qiov);
        free(op->flat);
    }
    s_ops(made);
    s_progress();
}

/* Read the whole file back and compare it with the shadow. */
static void check_whole_file(t_file *f)
{
    uint8_t *buf = t_buf(FILE_SIZE);

    if (pread(f->fd, buf, FILE_SIZE, 0) != FILE_SIZE) {
        s_fail("pread of the data file: %s", strerror(errno));
    } else {
        for (size_t i = 0; i < FILE_SIZE; i++) {
            if (buf[i] != shadow[i]) {
                s_fail("the file differs from the shadow at byte %zu", i);
                break;
            }
        }
    }
    free(buf);
}

static void *run_thread(void *opaque)
{
    Run *run = opaque;
    AioContext *ctx;
    void *s;
    t_file f;
    s_rng rng;
    Error *err = NULL;

    t_faults_reset();
    if (run->faults) {
        t_faults.submit_eagain_every = 7;
        t_faults.submit_eintr_every = 11;
        t_faults.submit_enomem_every = 13;
        t_faults.submit_partial_every = 5;
        t_faults.hide_aio_ring = true;  /* linux-aio: completions via io_getevents */
        t_faults.getevents_short_every = 3;
        t_faults.getevents_eintr_every = 17;
        t_faults.complete_truncate_every = 5;
        t_faults.complete_eagain_every = 19;
        ctx = t_fault_ctx_new();
    } else {
        ctx = t_engine_ctx_new();
    }
    s = t_eng->setup(ctx, &err);
    if (!s) {
        s_fail("engine setup: %s", error_get_pretty(err));
        error_free(err);
        aio_context_unref(ctx);
        return NULL;
    }
    t_file_open(&f, FILE_SIZE, run->direct);
    run->direct = f.direct;
    t_pattern_fill(shadow, 0, FILE_SIZE);
    s_rng_seed(&rng, run->faults ? 900 : 901);
    while (s_running()) {
        one_round(run, &rng, ctx, s, &f);
    }
    check_whole_file(&f);
    if (run->faults) {
        s_check(t_fault_count.submit_eagain && t_fault_count.submit_enomem &&
                t_fault_count.truncated, "faults were not injected (eagain %u, enomem %u, "
                "truncated %u)", t_fault_count.submit_eagain, t_fault_count.submit_enomem,
                t_fault_count.truncated);
        printf("  injected: %u refused with EAGAIN, %u EINTR, %u ENOMEM, %u partial "
               "submissions; %u short transfers, %u EAGAIN completions\n",
               t_fault_count.submit_eagain, t_fault_count.submit_eintr,
               t_fault_count.submit_enomem, t_fault_count.submit_partial,
               t_fault_count.truncated, t_fault_count.eagain);
    }
    printf("  %lu reads, %lu writes%s; %lu writes refused, %lu requests failed, "
           "%lu reads ended early\n", run->reads, run->writes,
           run->direct ? " (O_DIRECT)" : "", run->refused, run->failed, run->eof_reads);
    t_file_close(&f);
    aio_context_unref(ctx);
    t_faults_reset();
    return NULL;
}

/* Each case in a thread of its own: a thread binds one context for good. */
static void shadow_case(int faults)
{
    Run run = { .faults = faults, .direct = !faults };
    pthread_t th;

    pthread_create(&th, NULL, run_thread, &run);
    pthread_join(th, NULL);
}

int main(void)
{
    t_eng = qaio_block_engine(ENGINE_NAME);
    s_init(PROGRAM, 2);
    if (!is_linux_aio() && !t_io_uring_available()) {
        s_skip("shadow", "io_uring is not available");
        return s_finish();
    }
    t_direct_usable();
    s_run("shadow-copy", shadow_case, 0);
    s_run("shadow-copy-under-faults", shadow_case, 1);
    return s_finish();
}
#else
int main(void)
{
    s_init(PROGRAM, 1);
    s_skip("shadow", ENGINE_NAME " is not built");
    return s_finish();
}
#endif
