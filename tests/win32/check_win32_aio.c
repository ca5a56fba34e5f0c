/* SPDX-License-Identifier: MIT */
/*
 * block/win32-aio (win32_aio_*) under Wine, on real files: writes and reads
 * checked against what an independent synchronous handle sees (checksums),
 * offsets past 4 GiB, many requests in flight, multi-element vectors
 * through the bounce buffer both ways, reads past end of file, a request in
 * flight across a detach/attach to another AioContext, a completion that a
 * later submission's event reset could hide, and the submissions refused at
 * once (NULL, callback never run): a handle not attached or not opened for
 * overlapped I/O, a flush or unknown type, a write Windows refuses.  Every
 * wait for a completion is bounded by a watchdog timer in the context: a
 * completion that never comes fails the test instead of hanging it.
 */
#include "qemu/osdep.h"
#include "block/aio.h"
#include "block/raw-aio.h"
#include "qemu/iov.h"
#include "qemu/timer.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* How long a completion may take before the test gives up on it. */
#define WATCHDOG_MS 20000

typedef struct Done {
    int calls;
    int ret;
    AioContext *polled;  /* the context being polled when it ran */
} Done;

static AioContext *polling;

static void on_done(void *opaque, int ret)
{
    Done *d = opaque;

    d->calls++;
    d->ret = ret;
    d->polled = polling;
}

static void on_watchdog(void *opaque)
{
    *(bool *)opaque = true;
}

static bool all_called(Done *d, int n)
{
    for (int i = 0; i < n; i++) {
        if (d[i].calls == 0) {
            return false;
        }
    }
    return true;
}

/* Polls ctx (blocking) until d[0..n) have all run or WATCHDOG_MS passed;
 * false when the watchdog expired. */
static bool poll_until_called(AioContext *ctx, Done *d, int n)
{
    bool expired = false;
    AioContext *outer = polling;
    QEMUTimer *watchdog = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_MS, on_watchdog,
                                        &expired);

    timer_mod(watchdog, qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + WATCHDOG_MS);
    polling = ctx;
    while (!all_called(d, n) && !expired) {
        aio_poll(ctx, true);
    }
    polling = outer;
    timer_free(watchdog);
    return !expired;
}

/* Polls ctx until every d[0..n) has run once, or fails after WATCHDOG_MS. */
static void wait_all(AioContext *ctx, Done *d, int n)
{
    bool in_time = poll_until_called(ctx, d, n);

    /* Whatever else is ready runs now: a second call would show below. */
    polling = ctx;
    while (aio_poll(ctx, false)) {
    }
    polling = NULL;
    for (int i = 0; i < n; i++) {
        ck_assert_msg(d[i].calls == 1, "request %d: callback ran %d times (watchdog %s)", i,
                      d[i].calls, in_time ? "not expired" : "expired");
    }
}

/* ---- files --------------------------------------------------------------- */

typedef struct Fixture {
    AioContext *ctx;
    QEMUWin32AIOState *aio;
    char path[MAX_PATH];
    HANDLE file;  /* overlapped, attached to aio */
} Fixture;

static void temp_path(char *path)
{
    char dir[MAX_PATH];

    ck_assert(GetTempPathA(sizeof(dir), dir) > 0);
    ck_assert(GetTempFileNameA(dir, "qa", 0, path) != 0);
}

static HANDLE open_file(const char *path, DWORD access, DWORD flags)
{
    HANDLE h = CreateFileA(path, access, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                           OPEN_EXISTING, flags, NULL);

    ck_assert_msg(h != INVALID_HANDLE_VALUE, "CreateFile(%s): error %lu", path, GetLastError());
    return h;
}

static void fixture_setup(Fixture *f)
{
    f->ctx = aio_context_new(NULL);
    ck_assert_ptr_nonnull(f->ctx);
    f->aio = win32_aio_init();
    ck_assert_ptr_nonnull(f->aio);
    win32_aio_attach_aio_context(f->aio, f->ctx);
    temp_path(f->path);
    f->file = open_file(f->path, GENERIC_READ | GENERIC_WRITE, FILE_FLAG_OVERLAPPED);
    ck_assert_int_eq(win32_aio_attach(f->aio, f->file), 0);
}

static void fixture_teardown(Fixture *f)
{
    win32_aio_detach_aio_context(f->aio, f->ctx);
    win32_aio_cleanup(f->aio);
    CloseHandle(f->file);
    DeleteFileA(f->path);
    aio_context_unref(f->ctx);
}

/* Synchronous I/O on a handle of its own: what the file really holds. */
static void sync_write(const char *path, uint64_t offset, const void *buf, DWORD len)
{
    HANDLE h = open_file(path, GENERIC_WRITE, 0);
    LARGE_INTEGER at = { .QuadPart = (LONGLONG)offset };
    DWORD n = 0;

    ck_assert(SetFilePointerEx(h, at, NULL, FILE_BEGIN));
    ck_assert(WriteFile(h, buf, len, &n, NULL));
    ck_assert_uint_eq(n, len);
    CloseHandle(h);
}

static DWORD sync_read(const char *path, uint64_t offset, void *buf, DWORD len)
{
    HANDLE h = open_file(path, GENERIC_READ, 0);
    LARGE_INTEGER at = { .QuadPart = (LONGLONG)offset };
    DWORD n = 0;

    ck_assert(SetFilePointerEx(h, at, NULL, FILE_BEGIN));
    ck_assert(ReadFile(h, buf, len, &n, NULL));
    CloseHandle(h);
    return n;
}

static uint64_t file_size(const char *path)
{
    WIN32_FILE_ATTRIBUTE_DATA data;

    ck_assert(GetFileAttributesExA(path, GetFileExInfoStandard, &data));
    return ((uint64_t)data.nFileSizeHigh << 32) | data.nFileSizeLow;
}

/* FNV-1a, 64 bits. */
static uint64_t checksum(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < len; i++) {
        h = (h ^ p[i]) * 0x100000001b3ull;
    }
    return h;
}

/* Bytes that differ with the seed and the position. */
static void fill(void *buf, size_t len, uint32_t seed)
{
    unsigned char *p = buf;
    uint32_t x = seed * 2654435761u + 1;

    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (unsigned char)(x >> 16);
    }
}

static BlockAIOCB *submit(Fixture *f, HANDLE h, uint64_t offset, QEMUIOVector *qiov,
                          int type, Done *d)
{
    return win32_aio_submit(NULL, f->aio, h, offset, qiov->size, qiov, on_done, d, type);
}

/* Submits buf as a vector of one element (iov and qiov live until the
 * request completes). */
static void start_flat(Fixture *f, HANDLE h, uint64_t offset, void *buf, size_t len,
                       int type, struct iovec *iov, QEMUIOVector *qiov, Done *d)
{
    *iov = (struct iovec){ buf, len };
    qemu_iovec_init_external(qiov, iov, 1);
    ck_assert_ptr_nonnull(submit(f, h, offset, qiov, type, d));
}

/* One request on the fixture's file, waited for: its result. */
static int run_flat(Fixture *f, uint64_t offset, void *buf, size_t len, int type)
{
    struct iovec iov;
    QEMUIOVector qiov;
    Done d = { 0 };

    start_flat(f, f->file, offset, buf, len, type, &iov, &qiov, &d);
    wait_all(f->ctx, &d, 1);
    return d.ret;
}

/* ---- tests ---------------------------------------------------------------- */

START_TEST(test_write_then_read_checksums)
{
    enum { LEN = 256 * 1024 };
    Fixture f;
    char *out = g_malloc(LEN), *in = g_malloc0(LEN), *seen = g_malloc0(LEN);

    fixture_setup(&f);
    fill(out, LEN, 1);
    ck_assert_int_eq(run_flat(&f, 0, out, LEN, QEMU_AIO_WRITE), 0);
    ck_assert_uint_eq(file_size(f.path), LEN);
    ck_assert_uint_eq(sync_read(f.path, 0, seen, LEN), LEN);
    ck_assert_uint_eq(checksum(seen, LEN), checksum(out, LEN));

    /* What another handle wrote, read back through the engine. */
    fill(seen, LEN, 2);
    sync_write(f.path, 0, seen, LEN);
    ck_assert_int_eq(run_flat(&f, 0, in, LEN, QEMU_AIO_READ), 0);
    ck_assert_uint_eq(checksum(in, LEN), checksum(seen, LEN));
    ck_assert_uint_ne(checksum(in, LEN), checksum(out, LEN));
    fixture_teardown(&f);
    g_free(out);
    g_free(in);
    g_free(seen);
}
END_TEST

/* The offset's high 32 bits reach Windows (a sparse file of 5 GiB). */
START_TEST(test_offset_beyond_4gib)
{
    enum { LEN = 4096 };
    const uint64_t where = (5ull << 30) + 512;
    Fixture f;
    char out[LEN], in[LEN], seen[LEN];

    fixture_setup(&f);
    fill(out, LEN, 3);
    ck_assert_int_eq(run_flat(&f, where, out, LEN, QEMU_AIO_WRITE), 0);
    ck_assert_uint_eq(file_size(f.path), where + LEN);
    ck_assert_uint_eq(sync_read(f.path, where, seen, LEN), LEN);
    ck_assert_uint_eq(checksum(seen, LEN), checksum(out, LEN));
    ck_assert_int_eq(run_flat(&f, where, in, LEN, QEMU_AIO_READ), 0);
    ck_assert_uint_eq(checksum(in, LEN), checksum(out, LEN));
    fixture_teardown(&f);
}
END_TEST

/* 32 writes, then 32 reads, each batch submitted before any completion
 * runs: callbacks run only from the context, each exactly once. */
START_TEST(test_many_in_flight)
{
    enum { N = 32, LEN = 16 * 1024 };
    Fixture f;
    char *out = g_malloc(N * LEN), *in = g_malloc0(N * LEN), *seen = g_malloc0(N * LEN);
    struct iovec iov[N];
    QEMUIOVector qiov[N];
    Done w[N] = { { 0 } }, r[N] = { { 0 } };

    fixture_setup(&f);
    fill(out, N * LEN, 4);
    /* Submitted in reverse order, so that offsets, not order, place data. */
    for (int i = N - 1; i >= 0; i--) {
        start_flat(&f, f.file, (uint64_t)i * LEN, out + i * LEN, LEN, QEMU_AIO_WRITE,
                   &iov[i], &qiov[i], &w[i]);
    }
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(w[i].calls, 0);
    }
    wait_all(f.ctx, w, N);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(w[i].ret, 0);
    }
    ck_assert_uint_eq(sync_read(f.path, 0, seen, N * LEN), N * LEN);
    ck_assert_uint_eq(checksum(seen, N * LEN), checksum(out, N * LEN));

    for (int i = 0; i < N; i++) {
        start_flat(&f, f.file, (uint64_t)i * LEN, in + i * LEN, LEN, QEMU_AIO_READ,
                   &iov[i], &qiov[i], &r[i]);
    }
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(r[i].calls, 0);
    }
    wait_all(f.ctx, r, N);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(r[i].ret, 0);
        ck_assert_uint_eq(checksum(in + i * LEN, LEN), checksum(out + i * LEN, LEN));
    }
    fixture_teardown(&f);
    g_free(out);
    g_free(in);
    g_free(seen);
}
END_TEST

/* A multi-element vector goes through the bounce buffer: a write gathers
 * the elements in order, a read scatters into another split of them. */
START_TEST(test_bounce_buffer_both_ways)
{
    enum { LEN = 4096, AT = 8192 };
    static const size_t wsplit[] = { 1000, 3000, 96 };
    static const size_t rsplit[] = { 100, 2000, 1, 1995 };
    Fixture f;
    char out[LEN], seen[LEN], in[LEN];
    char *pieces[4];
    struct iovec iov[4];
    QEMUIOVector qiov;
    Done d[2] = { { 0 } };
    size_t at = 0;

    fixture_setup(&f);
    fill(out, LEN, 5);
    /* The write's elements in separate allocations, the data in order. */
    for (int i = 0; i < 3; i++) {
        pieces[i] = g_memdup2(out + at, wsplit[i]);
        iov[i] = (struct iovec){ pieces[i], wsplit[i] };
        at += wsplit[i];
    }
    qemu_iovec_init_external(&qiov, iov, 3);
    ck_assert_uint_eq(qiov.size, LEN);
    ck_assert_ptr_nonnull(submit(&f, f.file, AT, &qiov, QEMU_AIO_WRITE, &d[0]));
    /* The vector may change once submitted: the bounce buffer has it. */
    memset(pieces[1], 0, wsplit[1]);
    wait_all(f.ctx, &d[0], 1);
    ck_assert_int_eq(d[0].ret, 0);
    ck_assert_uint_eq(sync_read(f.path, AT, seen, LEN), LEN);
    ck_assert_uint_eq(checksum(seen, LEN), checksum(out, LEN));
    for (int i = 0; i < 3; i++) {
        g_free(pieces[i]);
    }

    at = 0;
    for (int i = 0; i < 4; i++) {
        pieces[i] = g_malloc(rsplit[i]);
        memset(pieces[i], 0xaa, rsplit[i]);
        iov[i] = (struct iovec){ pieces[i], rsplit[i] };
    }
    qemu_iovec_init_external(&qiov, iov, 4);
    ck_assert_uint_eq(qiov.size, LEN);
    ck_assert_ptr_nonnull(submit(&f, f.file, AT, &qiov, QEMU_AIO_READ, &d[1]));
    wait_all(f.ctx, &d[1], 1);
    ck_assert_int_eq(d[1].ret, 0);
    for (int i = 0; i < 4; i++) {
        memcpy(in + at, pieces[i], rsplit[i]);
        at += rsplit[i];
        g_free(pieces[i]);
    }
    ck_assert_uint_eq(checksum(in, LEN), checksum(out, LEN));
    fixture_teardown(&f);
}
END_TEST

static bool all_bytes(const char *p, size_t len, char c)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != c) {
            return false;
        }
    }
    return true;
}

/* Reads that end past end of file, or start there, succeed and read zeroes
 * where the file has nothing, in place and through the bounce buffer. */
START_TEST(test_read_past_eof)
{
    enum { SIZE = 1000, LEN = 4096 };
    Fixture f;
    char data[SIZE], in[LEN], a[LEN / 2], b[LEN / 2];
    struct iovec iov[2];
    QEMUIOVector qiov;
    Done d = { 0 };

    fixture_setup(&f);
    fill(data, SIZE, 6);
    sync_write(f.path, 0, data, SIZE);

    memset(in, 0xaa, LEN);
    ck_assert_int_eq(run_flat(&f, 0, in, LEN, QEMU_AIO_READ), 0);
    ck_assert(memcmp(in, data, SIZE) == 0);
    ck_assert(all_bytes(in + SIZE, LEN - SIZE, 0));

    /* through the bounce buffer: the end of file falls in the first element */
    memset(a, 0xaa, sizeof(a));
    memset(b, 0xaa, sizeof(b));
    iov[0] = (struct iovec){ a, sizeof(a) };
    iov[1] = (struct iovec){ b, sizeof(b) };
    qemu_iovec_init_external(&qiov, iov, 2);
    ck_assert_ptr_nonnull(submit(&f, f.file, 0, &qiov, QEMU_AIO_READ, &d));
    wait_all(f.ctx, &d, 1);
    ck_assert_int_eq(d.ret, 0);
    ck_assert(memcmp(a, data, SIZE) == 0);
    ck_assert(all_bytes(a + SIZE, sizeof(a) - SIZE, 0));
    ck_assert(all_bytes(b, sizeof(b), 0));

    /* wholly past end of file */
    memset(in, 0xaa, LEN);
    ck_assert_int_eq(run_flat(&f, 8192, in, LEN, QEMU_AIO_READ), 0);
    ck_assert(all_bytes(in, LEN, 0));
    ck_assert_uint_eq(file_size(f.path), SIZE);
    fixture_teardown(&f);
}
END_TEST

/* Detached from one context and attached to another, the engine completes
 * there: a request submitted before the move included. */
START_TEST(test_move_to_another_context)
{
    enum { LEN = 8192 };
    Fixture f;
    AioContext *other;
    char out[LEN], in[LEN], moved[LEN];
    struct iovec iov[3];
    QEMUIOVector qiov[3];
    Done d[3] = { { 0 } };

    fixture_setup(&f);
    other = aio_context_new(NULL);
    ck_assert_ptr_nonnull(other);
    fill(out, LEN, 7);
    start_flat(&f, f.file, 0, out, LEN, QEMU_AIO_WRITE, &iov[0], &qiov[0], &d[0]);
    wait_all(f.ctx, &d[0], 1);
    ck_assert_int_eq(d[0].ret, 0);
    ck_assert_ptr_eq(d[0].polled, f.ctx);

    /* In flight while the engine moves. */
    start_flat(&f, f.file, 0, moved, LEN, QEMU_AIO_READ, &iov[1], &qiov[1], &d[1]);
    win32_aio_detach_aio_context(f.aio, f.ctx);
    win32_aio_attach_aio_context(f.aio, other);
    ck_assert_int_eq(d[1].calls, 0);

    start_flat(&f, f.file, 0, in, LEN, QEMU_AIO_READ, &iov[2], &qiov[2], &d[2]);
    wait_all(other, &d[1], 2);
    ck_assert_int_eq(d[1].ret, 0);
    ck_assert_int_eq(d[2].ret, 0);
    ck_assert_ptr_eq(d[1].polled, other);
    ck_assert_ptr_eq(d[2].polled, other);
    ck_assert_uint_eq(checksum(moved, LEN), checksum(out, LEN));
    ck_assert_uint_eq(checksum(in, LEN), checksum(out, LEN));

    /* and back */
    win32_aio_detach_aio_context(f.aio, other);
    win32_aio_attach_aio_context(f.aio, f.ctx);
    aio_context_unref(other);
    fixture_teardown(&f);
}
END_TEST

/* An overlapped pipe attached to the engine: a read on it stays in flight
 * until the test writes to the other end. */
typedef struct Pipe {
    HANDLE server;  /* overlapped, attached */
    HANDLE client;  /* synchronous */
} Pipe;

static void pipe_open(Fixture *f, Pipe *p, int n)
{
    char name[64];

    snprintf(name, sizeof(name), "\\\\.\\pipe\\qaio-win32-aio-%lu-%d", GetCurrentProcessId(), n);
    p->server = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
                                 PIPE_TYPE_BYTE, 1, 4096, 4096, 0, NULL);
    ck_assert(p->server != INVALID_HANDLE_VALUE);
    p->client = CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    ck_assert(p->client != INVALID_HANDLE_VALUE);
    ck_assert_int_eq(win32_aio_attach(f->aio, p->server), 0);
}

static void pipe_send(Pipe *p, const char *text)
{
    DWORD n;

    ck_assert(WriteFile(p->client, text, (DWORD)strlen(text), &n, NULL));
}

static void pipe_close(Pipe *p)
{
    CloseHandle(p->client);
    CloseHandle(p->server);
}

/* Two reads in flight at once complete in the order their data comes. */
START_TEST(test_in_flight_complete_independently)
{
    Fixture f;
    Pipe p[2];
    char buf[2][5];
    struct iovec iov[2];
    QEMUIOVector qiov[2];
    Done d[2] = { { 0 } };

    fixture_setup(&f);
    for (int i = 0; i < 2; i++) {
        pipe_open(&f, &p[i], i);
        start_flat(&f, p[i].server, 0, buf[i], sizeof(buf[i]), QEMU_AIO_READ, &iov[i],
                   &qiov[i], &d[i]);
    }
    pipe_send(&p[1], "world");
    wait_all(f.ctx, &d[1], 1);
    ck_assert_int_eq(d[1].ret, 0);
    ck_assert(memcmp(buf[1], "world", 5) == 0);
    ck_assert_int_eq(d[0].calls, 0);  /* no data yet: still in flight */
    pipe_send(&p[0], "hello");
    wait_all(f.ctx, &d[0], 1);
    ck_assert_int_eq(d[0].ret, 0);
    ck_assert(memcmp(buf[0], "hello", 5) == 0);
    fixture_teardown(&f);
    pipe_close(&p[0]);
    pipe_close(&p[1]);
}
END_TEST

/*
 * ReadFile resets its OVERLAPPED's event when it starts: a completion that
 * had set the engine's notifier, and was not taken yet, must still run when
 * the next request stays in flight.  (If the first read has not finished
 * after the pause, the test cannot tell, and passes.)
 */
START_TEST(test_completion_not_hidden_by_next_submission)
{
    enum { LEN = 4096 };
    Fixture f;
    Pipe p;
    char data[LEN], in[LEN], pbuf[4];
    struct iovec iov[2];
    QEMUIOVector qiov[2];
    Done d[2] = { { 0 } };

    fixture_setup(&f);
    fill(data, LEN, 8);
    sync_write(f.path, 0, data, LEN);
    pipe_open(&f, &p, 2);
    start_flat(&f, f.file, 0, in, LEN, QEMU_AIO_READ, &iov[0], &qiov[0], &d[0]);
    Sleep(200);  /* the file read finishes, unseen: nothing polls */
    start_flat(&f, p.server, 0, pbuf, sizeof(pbuf), QEMU_AIO_READ, &iov[1], &qiov[1], &d[1]);
    wait_all(f.ctx, &d[0], 1);
    ck_assert_int_eq(d[0].ret, 0);
    ck_assert_uint_eq(checksum(in, LEN), checksum(data, LEN));
    ck_assert_int_eq(d[1].calls, 0);
    pipe_send(&p, "done");
    wait_all(f.ctx, &d[1], 1);
    ck_assert(memcmp(pbuf, "done", 4) == 0);
    fixture_teardown(&f);
    pipe_close(&p);
}
END_TEST

/* Each of two requests waits, in its callback, for the other one's with a
 * nested aio_poll: the pass that runs the first callback has already
 * cleared the engine's notifier, so the nested poll must continue it. */
typedef struct Waiter {
    AioContext *ctx;
    Done *self, *other;
    bool other_ran;
} Waiter;

static void on_done_wait_other(void *opaque, int ret)
{
    Waiter *w = opaque;

    w->self->calls++;
    w->self->ret = ret;
    w->other_ran = poll_until_called(w->ctx, w->other, 1);
}

START_TEST(test_nested_poll_in_callback)
{
    enum { LEN = 4096 };
    Fixture f;
    char a[LEN], b[LEN];
    struct iovec iov[2];
    QEMUIOVector qiov[2];
    Done d[2] = { { 0 } };
    Waiter w[2];

    fixture_setup(&f);
    fill(a, LEN, 10);
    sync_write(f.path, 0, a, LEN);
    for (int i = 0; i < 2; i++) {
        w[i] = (Waiter){ f.ctx, &d[i], &d[1 - i], false };
        iov[i] = (struct iovec){ i ? b : a, LEN };
        qemu_iovec_init_external(&qiov[i], &iov[i], 1);
        ck_assert_ptr_nonnull(win32_aio_submit(NULL, f.aio, f.file, 0, LEN, &qiov[i],
                                               on_done_wait_other, &w[i], QEMU_AIO_READ));
    }
    Sleep(200);  /* both finish before anything polls: one pass finds both */
    wait_all(f.ctx, d, 2);
    ck_assert(w[0].other_ran);
    ck_assert(w[1].other_ran);
    ck_assert_int_eq(d[0].ret, 0);
    ck_assert_int_eq(d[1].ret, 0);
    ck_assert(memcmp(a, b, LEN) == 0);
    fixture_teardown(&f);
}
END_TEST

/* What cannot start is refused at once: NULL, and no callback ever. */
START_TEST(test_submission_refused)
{
    enum { LEN = 512 };
    Fixture f;
    char buf[LEN];
    struct iovec iov;
    QEMUIOVector qiov;
    Done d = { 0 };
    HANDLE sync, loose, readonly;

    fixture_setup(&f);
    fill(buf, LEN, 9);
    iov = (struct iovec){ buf, LEN };
    qemu_iovec_init_external(&qiov, &iov, 1);

    /* not opened with FILE_FLAG_OVERLAPPED: Windows refuses the port */
    sync = open_file(f.path, GENERIC_READ | GENERIC_WRITE, 0);
    ck_assert_int_eq(win32_aio_attach(f.aio, sync), -EINVAL);
    ck_assert_ptr_null(submit(&f, sync, 0, &qiov, QEMU_AIO_WRITE, &d));
    ck_assert_ptr_null(submit(&f, sync, 0, &qiov, QEMU_AIO_READ, &d));

    /* overlapped but never attached: no packet would ever come */
    loose = open_file(f.path, GENERIC_READ | GENERIC_WRITE, FILE_FLAG_OVERLAPPED);
    ck_assert_ptr_null(submit(&f, loose, 0, &qiov, QEMU_AIO_WRITE, &d));
    ck_assert_ptr_null(submit(&f, loose, 0, &qiov, QEMU_AIO_READ, &d));

    /* a handle belongs to one port: a second association is refused */
    ck_assert_int_eq(win32_aio_attach(f.aio, f.file), -EINVAL);

    /* not a read or a write: a flush is FlushFileBuffers' job */
    ck_assert_ptr_null(submit(&f, f.file, 0, &qiov, QEMU_AIO_FLUSH, &d));
    ck_assert_ptr_null(submit(&f, f.file, 0, &qiov, QEMU_AIO_DISCARD, &d));
    ck_assert_ptr_null(submit(&f, f.file, 0, &qiov, QEMU_AIO_READ | QEMU_AIO_WRITE, &d));

    /* more bytes than the vector holds */
    ck_assert_ptr_null(win32_aio_submit(NULL, f.aio, f.file, 0, LEN + 1, &qiov, on_done, &d,
                                        QEMU_AIO_READ));

    /* a write Windows refuses at once (a read-only handle) */
    readonly = open_file(f.path, GENERIC_READ, FILE_FLAG_OVERLAPPED);
    ck_assert_int_eq(win32_aio_attach(f.aio, readonly), 0);
    ck_assert_ptr_null(submit(&f, readonly, 0, &qiov, QEMU_AIO_WRITE, &d));

    /* Nothing was written and no callback runs; the engine still works. */
    while (aio_poll(f.ctx, false)) {
    }
    ck_assert_int_eq(d.calls, 0);
    ck_assert_uint_eq(file_size(f.path), 0);
    ck_assert_ptr_nonnull(submit(&f, f.file, 0, &qiov, QEMU_AIO_WRITE, &d));
    wait_all(f.ctx, &d, 1);
    ck_assert_int_eq(d.ret, 0);
    ck_assert_uint_eq(file_size(f.path), LEN);

    CloseHandle(readonly);
    CloseHandle(loose);
    CloseHandle(sync);
    fixture_teardown(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("win32-aio");
    TCase *tc = tcase_create("files");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_write_then_read_checksums);
    tcase_add_test(tc, test_offset_beyond_4gib);
    tcase_add_test(tc, test_many_in_flight);
    tcase_add_test(tc, test_bounce_buffer_both_ways);
    tcase_add_test(tc, test_read_past_eof);
    tcase_add_test(tc, test_move_to_another_context);
    tcase_add_test(tc, test_in_flight_complete_independently);
    tcase_add_test(tc, test_completion_not_hidden_by_next_submission);
    tcase_add_test(tc, test_nested_poll_in_callback);
    tcase_add_test(tc, test_submission_refused);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
