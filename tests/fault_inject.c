/* SPDX-License-Identifier: MIT */
/*
 * The wrappers behind fault_inject.h.  With --wrap=io_submit the linker
 * sends the engine's calls to __wrap_io_submit and makes __real_io_submit
 * the library's function; likewise for the other names.  A program built
 * for one engine (T_FAULT_LINUX_AIO or T_FAULT_IO_URING) wraps only that
 * engine's calls, so it references no __real_ name it was not linked with.
 * Without a plan the wrappers only count and pass through.
 *
 * The io_uring wrappers also see the io_uring fd monitor's calls: suites
 * that inject faults there force another monitor (QAIO_FDMON=epoll).
 */
#include "qemu/osdep.h"
#include "fault_inject.h"

t_fault_plan t_faults;
t_fault_counts t_fault_count;

void t_faults_reset(void)
{
    memset(&t_faults, 0, sizeof(t_faults));
    memset(&t_fault_count, 0, sizeof(t_fault_count));
}

static bool every(unsigned n, unsigned count)
{
    return n && count % n == 0;
}

/*
 * Alter one completion result in place, per the plan.  Positive results are
 * halved (a short transfer); errors the kernel gave are left alone.
 */
static void alter_result(long long *res)
{
    unsigned n = ++t_fault_count.completions;

    if (every(t_faults.complete_eagain_every, n)) {
        *res = -EAGAIN;
        t_fault_count.eagain++;
    } else if (every(t_faults.complete_eintr_every, n)) {
        *res = -EINTR;
        t_fault_count.eintr++;
    } else if (every(t_faults.complete_truncate_every, n) && *res > 1) {
        *res /= 2;
        t_fault_count.truncated++;
    }
}

/* One request of a submission the kernel is about to see. */
static void record_request(bool write, bool dsync, bool fsync)
{
    t_fault_count.submitted++;
    if (write) {
        if (dsync) {
            t_fault_count.dsync_writes++;
        } else {
            t_fault_count.plain_writes++;
        }
    }
    if (fsync) {
        t_fault_count.fsyncs++;
    }
}

static void record_batch(unsigned n)
{
    if (n > t_fault_count.largest_batch) {
        t_fault_count.largest_batch = n;
    }
}

#if defined(T_FAULT_LINUX_AIO) && defined(CONFIG_LINUX_AIO)
#include <libaio.h>
#include <linux/fs.h>

int __real_io_setup(int maxevents, io_context_t *ctxp);
int __real_io_submit(io_context_t ctx, long nr, struct iocb *ios[]);
int __real_io_getevents(io_context_t ctx, long min_nr, long nr,
                        struct io_event *events, struct timespec *timeout);

int __wrap_io_setup(int maxevents, io_context_t *ctxp);
int __wrap_io_submit(io_context_t ctx, long nr, struct iocb *ios[]);
int __wrap_io_getevents(io_context_t ctx, long min_nr, long nr,
                        struct io_event *events, struct timespec *timeout);

int __wrap_io_setup(int maxevents, io_context_t *ctxp)
{
    int r = __real_io_setup(maxevents, ctxp);

    if (r == 0 && t_faults.hide_aio_ring) {
        /*
         * The ring header's fifth word is its magic number; the kernel
         * never reads it back, and a reader that checks it must then fall
         * back to io_getevents.
         */
        ((unsigned *)*ctxp)[4] = 0;
    }
    return r;
}

int __wrap_io_submit(io_context_t ctx, long nr, struct iocb *ios[])
{
    unsigned n = ++t_fault_count.submit_calls;

    if (every(t_faults.submit_eagain_every, n)) {
        t_fault_count.submit_eagain++;
        return -EAGAIN;
    }
    if (every(t_faults.submit_eintr_every, n)) {
        t_fault_count.submit_eintr++;
        return -EINTR;
    }
    if (every(t_faults.submit_enomem_every, n)) {
        t_fault_count.submit_enomem++;
        return -ENOMEM;
    }
    if (nr > 1 && every(t_faults.submit_partial_every, n)) {
        t_fault_count.submit_partial++;
        nr /= 2;
    }
    record_batch(nr);
    for (long i = 0; i < nr; i++) {
        record_request(ios[i]->aio_lio_opcode == IO_CMD_PWRITEV,
                       ios[i]->aio_rw_flags & RWF_DSYNC,
                       ios[i]->aio_lio_opcode == IO_CMD_FDSYNC);
    }
    return __real_io_submit(ctx, nr, ios);
}

int __wrap_io_getevents(io_context_t ctx, long min_nr, long nr,
                        struct io_event *events, struct timespec *timeout)
{
    unsigned n = ++t_fault_count.getevents_calls;
    int r;

    if (every(t_faults.getevents_eintr_every, n)) {
        t_fault_count.getevents_eintr++;
        return -EINTR;
    }
    if (nr > 1 && every(t_faults.getevents_short_every, n)) {
        t_fault_count.getevents_short++;
        nr = 1;
    }
    r = __real_io_getevents(ctx, min_nr, nr, events, timeout);
    for (int i = 0; i < r; i++) {
        long long res = (long)events[i].res;
        alter_result(&res);
        events[i].res = (unsigned long)res;
    }
    return r;
}
#endif

#if defined(T_FAULT_IO_URING) && defined(CONFIG_LINUX_IO_URING)
#include <liburing.h>
#include <linux/fs.h>

int __real_io_uring_submit(struct io_uring *ring);
unsigned __real_io_uring_peek_batch_cqe(struct io_uring *ring,
                                        struct io_uring_cqe **cqes,
                                        unsigned count);

int __wrap_io_uring_submit(struct io_uring *ring);
unsigned __wrap_io_uring_peek_batch_cqe(struct io_uring *ring,
                                        struct io_uring_cqe **cqes,
                                        unsigned count);

int __wrap_io_uring_submit(struct io_uring *ring)
{
    unsigned n = ++t_fault_count.submit_calls;

    /* The SQEs stay in the ring, exactly as when the kernel refuses. */
    if (every(t_faults.submit_eagain_every, n)) {
        t_fault_count.submit_eagain++;
        return -EAGAIN;
    }
    if (every(t_faults.submit_eintr_every, n)) {
        t_fault_count.submit_eintr++;
        return -EINTR;
    }
    if (every(t_faults.submit_enomem_every, n)) {
        t_fault_count.submit_enomem++;
        return -ENOMEM;
    }
    /* The SQEs liburing is about to hand over: from its head to its tail. */
    record_batch(ring->sq.sqe_tail - ring->sq.sqe_head);
    for (unsigned h = ring->sq.sqe_head; h != ring->sq.sqe_tail; h++) {
        const struct io_uring_sqe *sqe = &ring->sq.sqes[h & ring->sq.ring_mask];

        record_request(sqe->opcode == IORING_OP_WRITEV, sqe->rw_flags & RWF_DSYNC,
                       sqe->opcode == IORING_OP_FSYNC);
    }
    return __real_io_uring_submit(ring);
}

/*
 * The CQ ring is mapped writable, so a CQE can be changed where it lies
 * before the engine reads it.
 */
unsigned __wrap_io_uring_peek_batch_cqe(struct io_uring *ring,
                                        struct io_uring_cqe **cqes,
                                        unsigned count)
{
    unsigned got = __real_io_uring_peek_batch_cqe(ring, cqes, count);

    for (unsigned i = 0; i < got; i++) {
        long long res = cqes[i]->res;

        alter_result(&res);
        cqes[i]->res = (int)res;
    }
    return got;
}
#endif
