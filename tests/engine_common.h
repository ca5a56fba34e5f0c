/* SPDX-License-Identifier: MIT */
/*
 * What the two block engine suites (check_linux_aio, check_io_uring) share:
 * the engine under test behind the library's table of its functions, a data file
 * in the build directory filled with a known pattern (opened with O_DIRECT
 * where the file system allows it), requests run by coroutines and checked
 * to complete exactly once, and the behaviours both engines must show,
 * added to a suite by t_engine_add_common_tests().
 */
#ifndef QAIO_TESTS_ENGINE_COMMON_H
#define QAIO_TESTS_ENGINE_COMMON_H

#include "qemu/osdep.h"
#include "block/aio.h"
#include "block/raw-aio.h"
#include "qaio/block-engine.h"
#include "qemu/coroutine.h"
#include "qemu/iov.h"
#include "helpers.h"
#include "fault_inject.h"

/* The engine under test, as the library describes it (qaio/block-engine.h);
 * engine pointers are passed as void *. */
typedef QaioBlockEngine t_engine;

/* Set by the suite's main() before the tests run. */
extern const t_engine *t_eng;
/* The dev_max_batch of every submission and unplug (linux-aio; 0: none). */
extern uint64_t t_dev_max_batch;

/* ---- the data file ------------------------------------------------------ */

typedef struct t_file {
    int fd;
    size_t size;
    bool direct;
} t_file;

/*
 * Whether O_DIRECT works for files in the build directory; the first call
 * prints why not, so main() calls it once before the tests fork.
 */
bool t_direct_usable(void);

/* A new unlinked file of `size` bytes holding the pattern, opened
 * read-write, with O_DIRECT if `direct` and t_direct_usable(). */
void t_file_open(t_file *f, size_t size, bool direct);
void t_file_close(t_file *f);

/* The pattern: the byte at each file offset. */
void t_pattern_fill(void *buf, uint64_t offset, size_t len);
/* The first offset in [offset, offset + len) whose byte in buf differs
 * from the pattern, or -1. */
int64_t t_pattern_mismatch(const void *buf, uint64_t offset, size_t len);

/* A 4 KiB-aligned buffer filled with 0xee; free with free(). */
void *t_buf(size_t len);

/* ---- requests ----------------------------------------------------------- */

typedef struct t_req t_req;
struct t_req {
    void *engine;
    int fd;
    uint64_t offset;
    QEMUIOVector *qiov;
    int type;
    int ret;
    int completions;      /* how many times the submission returned */
    void (*after)(t_req *r);  /* runs in the coroutine after it returned */
    void *opaque;
};

/* A new context, made this thread's current one (the forked test owns
 * its process, and a thread has one home context for good). */
AioContext *t_engine_ctx_new(void);

/* Start each request in a coroutine of its own, all inside one plug when
 * `plugged`; returns without waiting. */
void t_start_requests(t_req *reqs, int n, bool plugged);
/* Run the loop until every request has returned; then make sure none
 * returned twice. */
void t_wait_requests(AioContext *ctx, t_req *reqs, int n);
/* Both, for requests on one engine. */
void t_run_requests(AioContext *ctx, t_req *reqs, int n, bool plugged);

/* Single-buffer read or write requests of `len` bytes at `offset`. */
void t_req_buf(t_req *r, void *engine, int fd, int type, uint64_t offset,
               void *buf, size_t len, QEMUIOVector *qiov);

/* ---- the shared behaviours ------------------------------------------------ */

/* Adds TCases "init", "io", "batch" and "faults" with the behaviours both
 * engines share; the suite adds its engine's own tests to them after. */
void t_engine_add_common_tests(Suite *s, TCase **tc_init, TCase **tc_io,
                               TCase **tc_batch, TCase **tc_faults);

/* At the 10.0 level: adds TCase "level10" (FUA, FDSYNC, defer_call batching
 * through QEMU 10.0's exported submission functions). */
void t_engine_add_level10_tests(Suite *s);

/* For fault tests: a buffered file and an fd monitor that is not io_uring
 * (the io_uring wrappers would see its calls too). */
AioContext *t_fault_ctx_new(void);

#endif
