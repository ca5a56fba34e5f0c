/* SPDX-License-Identifier: MIT */
/*
 * The Win32 wait backend (lib/win32), under Wine: event notifiers waited on
 * by aio_poll, the 64-object limit and the refusal of a HANDLE registered
 * twice, socket handlers over a real loopback TCP pair (writable, readable,
 * level-triggered, closed by the peer), a non-socket fd refused, glib's
 * steps (aio_prepare, aio_pending, aio_dispatch) by hand, poll hooks that
 * never run, a context driven by a GMainContext through its GSource, and
 * the Win32 main loop's
 * wait objects and polling callbacks.  Prints one line per check and
 * "N passed, N failed"; exits 1 on a failure.
 */
#include "qemu/osdep.h"
#include "block/aio.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "qemu/iov.h"
#include "tests/api_level.h"

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <stdio.h>
#include <string.h>

static int passed, failed;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (cond) {                                                        \
            passed++;                                                      \
        } else {                                                           \
            failed++;                                                      \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);         \
            printf(__VA_ARGS__);                                           \
            printf("\n");                                                  \
        }                                                                  \
    } while (0)

static int calls[80];

/* ---- event notifiers ---------------------------------------------------- */

static EventNotifier notifiers[70];

static void count_notify(EventNotifier *e)
{
    calls[e - notifiers]++;
    event_notifier_test_and_clear(e);
}

static DWORD WINAPI set_later(LPVOID arg)
{
    Sleep(20);
    event_notifier_set(arg);
    return 0;
}

static void test_event_notifier(void)
{
    AioContext *ctx = aio_context_new(NULL);
    memset(calls, 0, sizeof(calls));
    CHECK(event_notifier_init(&notifiers[0], 0) == 0, "init");
    t_set_event_notifier(ctx, &notifiers[0], count_notify, NULL, NULL);
    CHECK(!aio_poll(ctx, false), "nothing signalled yet");
    CHECK(calls[0] == 0, "handler ran without a set");

    /* Set from another thread while aio_poll blocks. */
    HANDLE t = CreateThread(NULL, 0, set_later, &notifiers[0], 0, NULL);
    CHECK(aio_poll(ctx, true), "blocking aio_poll made progress");
    CHECK(calls[0] == 1, "handler ran %d times", calls[0]);
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);

    /* Removed: a set no longer runs it. */
    t_set_event_notifier(ctx, &notifiers[0], NULL, NULL, NULL);
    event_notifier_set(&notifiers[0]);
    CHECK(!aio_poll(ctx, false), "removed notifier made progress");
    CHECK(calls[0] == 1, "removed handler ran");
    event_notifier_cleanup(&notifiers[0]);
    aio_context_unref(ctx);
    printf("ok event notifier\n");
}

/* The context's own notifier is one of the 64 objects: 63 more fit. */
static void test_limit(void)
{
    AioContext *ctx = aio_context_new(NULL);
    memset(calls, 0, sizeof(calls));
    for (int i = 0; i < 64; i++) {
        CHECK(event_notifier_init(&notifiers[i], 0) == 0, "init %d", i);
        t_set_event_notifier(ctx, &notifiers[i], count_notify, NULL, NULL);
    }
    event_notifier_set(&notifiers[62]);
    event_notifier_set(&notifiers[63]);
    CHECK(aio_poll(ctx, false), "the 63rd notifier ran");
    CHECK(calls[62] == 1, "the 63rd notifier ran %d times", calls[62]);
    CHECK(calls[63] == 0, "the 64th notifier was registered past the limit");
    /* Removing one makes room. */
    t_set_event_notifier(ctx, &notifiers[0], NULL, NULL, NULL);
    t_set_event_notifier(ctx, &notifiers[63], count_notify, NULL, NULL);
    CHECK(aio_poll(ctx, false) && calls[63] == 1, "the 64th after a removal");
    for (int i = 0; i < 64; i++) {
        t_set_event_notifier(ctx, &notifiers[i], NULL, NULL, NULL);
        event_notifier_cleanup(&notifiers[i]);
    }
    aio_context_unref(ctx);
    printf("ok 64-object limit\n");
}

static void test_same_handle_twice(void)
{
    AioContext *ctx = aio_context_new(NULL);
    memset(calls, 0, sizeof(calls));
    CHECK(event_notifier_init(&notifiers[0], 0) == 0, "init");
    notifiers[1] = notifiers[0]; /* another EventNotifier, the same HANDLE */
    t_set_event_notifier(ctx, &notifiers[0], count_notify, NULL, NULL);
    t_set_event_notifier(ctx, &notifiers[1], count_notify, NULL, NULL);
    event_notifier_set(&notifiers[0]);
    CHECK(aio_poll(ctx, false), "progress");
    CHECK(calls[0] == 1 && calls[1] == 0, "first %d, duplicate %d", calls[0], calls[1]);
    t_set_event_notifier(ctx, &notifiers[0], NULL, NULL, NULL);
    event_notifier_cleanup(&notifiers[0]);
    aio_context_unref(ctx);
    printf("ok same HANDLE twice refused\n");
}

/* ---- sockets ------------------------------------------------------------ */

static SOCKET pair[2]; /* [0] client, [1] the server's accepted end */

static void make_pair(void)
{
    SOCKET listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    int len = sizeof(a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listener, (struct sockaddr *)&a, sizeof(a));
    getsockname(listener, (struct sockaddr *)&a, &len);
    listen(listener, 1);
    pair[0] = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(pair[0], (struct sockaddr *)&a, sizeof(a)) == 0, "connect %d",
          WSAGetLastError());
    pair[1] = accept(listener, NULL, NULL);
    CHECK(pair[1] != INVALID_SOCKET, "accept");
    closesocket(listener);
}

static int reads, writes, read_bytes, read_eof;
static bool drain_on_read;

static void on_read(void *opaque)
{
    reads++;
    if (drain_on_read) {
        char buf[64];
        int n = recv(*(SOCKET *)opaque, buf, sizeof(buf), 0);
        if (n > 0) {
            read_bytes += n;
        } else if (n == 0) {
            read_eof++;
        }
    }
}

static void on_write(void *opaque)
{
    writes++;
}

static void test_sockets(void)
{
    AioContext *ctx = aio_context_new(NULL);
    make_pair();

    /* A connected socket is writable at once. */
    t_set_fd_handler(ctx, (int)pair[0], NULL, on_write, NULL, NULL, &pair[0]);
    CHECK(aio_poll(ctx, false) && writes == 1, "writable: %d", writes);
    t_set_fd_handler(ctx, (int)pair[0], NULL, NULL, NULL, NULL, NULL);
    CHECK(!aio_poll(ctx, false) && writes == 1, "removed writer ran");

    /* Readable once the peer sent; level-triggered: again while unread. */
    drain_on_read = false;
    t_set_fd_handler(ctx, (int)pair[0], on_read, NULL, NULL, NULL, &pair[0]);
    CHECK(!aio_poll(ctx, false) && reads == 0, "read before data");
    CHECK(send(pair[1], "hello", 5, 0) == 5, "send");
    CHECK(aio_poll(ctx, true) && reads == 1, "readable: %d", reads);
    CHECK(aio_poll(ctx, false) && reads == 2, "still readable (level): %d", reads);
    drain_on_read = true;
    CHECK(aio_poll(ctx, false) && reads == 3 && read_bytes == 5, "drained %d", read_bytes);
    CHECK(!aio_poll(ctx, false) && reads == 3, "readable after draining");

    /* Closed by the peer: readable, recv returns 0. */
    closesocket(pair[1]);
    CHECK(aio_poll(ctx, true) && read_eof == 1, "eof %d", read_eof);
    t_set_fd_handler(ctx, (int)pair[0], NULL, NULL, NULL, NULL, NULL);
    closesocket(pair[0]);

    /* Not a socket: refused, with a message on stderr. */
    HANDLE ev = CreateEvent(NULL, TRUE, TRUE, NULL);
    t_set_fd_handler(ctx, (int)(intptr_t)ev, on_read, NULL, NULL, NULL, NULL);
    int before = reads;
    CHECK(!aio_poll(ctx, false) && reads == before, "a non-socket was registered");
    CloseHandle(ev);
    aio_context_unref(ctx);
    printf("ok sockets\n");
}

/* iov_send_recv's errno after a failed send/recv is the Winsock error's
 * own (as QEMU's socket wrappers set it), not EIO for all. */
static void test_iov_socket_errors(void)
{
    char buf[8];
    struct iovec v = { buf, sizeof(buf) };
    u_long nonblocking = 1;
    ssize_t r;

    make_pair();
    ioctlsocket(pair[0], FIONBIO, &nonblocking);
    errno = 0;
    r = iov_recv((int)pair[0], &v, 1, 0, sizeof(buf));
    CHECK(r == -1 && errno == EAGAIN, "recv with nothing sent: %d, errno %d", (int)r, errno);
    closesocket(pair[1]);
    closesocket(pair[0]);
    errno = 0;
    r = iov_recv((int)pair[0], &v, 1, 0, sizeof(buf));
    CHECK(r == -1 && errno == ENOTSOCK, "recv on a closed socket: %d, errno %d", (int)r, errno);
    printf("ok iov_send_recv errors\n");
}

/* glib's three steps by hand: aio_prepare finds a socket ready with its
 * zero-timeout select, aio_pending then reports it, aio_dispatch runs it. */
static void test_prepare_pending_dispatch(void)
{
    AioContext *ctx = aio_context_new(NULL);
    make_pair();
    reads = read_bytes = 0;
    drain_on_read = true;
    t_set_fd_handler(ctx, (int)pair[0], on_read, NULL, NULL, NULL, &pair[0]);
    CHECK(!aio_prepare(ctx) && !aio_pending(ctx), "ready before data");
    CHECK(send(pair[1], "abcd", 4, 0) == 4, "send");
    CHECK(aio_prepare(ctx), "aio_prepare missed a readable socket");
    CHECK(aio_pending(ctx), "aio_pending after aio_prepare found it ready");
    aio_dispatch(ctx);
    CHECK(reads == 1 && read_bytes == 4, "dispatched %d reads, %d bytes", reads, read_bytes);
    CHECK(!aio_prepare(ctx) && !aio_pending(ctx), "ready after draining");
    t_set_fd_handler(ctx, (int)pair[0], NULL, NULL, NULL, NULL, NULL);
    closesocket(pair[0]);
    closesocket(pair[1]);
    aio_context_unref(ctx);
    printf("ok aio_prepare, aio_pending, aio_dispatch\n");
}

/* No busy polling on Windows: the poll hooks are accepted and never run;
 * the handlers keep working. */
static int poll_hook_calls;
static void poll_hook(EventNotifier *e)
{
    poll_hook_calls++;
}
#if T_API_7_2
static void fd_poll_hook(void *opaque)
{
    poll_hook_calls++;
}
#endif

static void test_poll_hooks(void)
{
    AioContext *ctx = aio_context_new(NULL);
    memset(calls, 0, sizeof(calls));
    poll_hook_calls = 0;
    CHECK(event_notifier_init(&notifiers[0], 0) == 0, "init");
    t_set_event_notifier(ctx, &notifiers[0], count_notify, NULL, NULL);
    aio_set_event_notifier_poll(ctx, &notifiers[0], poll_hook, poll_hook);
    event_notifier_set(&notifiers[0]);
    CHECK(aio_poll(ctx, true) && calls[0] == 1, "notifier with poll hooks ran %d times",
          calls[0]);
#if T_API_7_2
    make_pair();
    reads = 0;
    drain_on_read = true;
    t_set_fd_handler(ctx, (int)pair[0], on_read, NULL, NULL, NULL, &pair[0]);
    aio_set_fd_poll(ctx, (int)pair[0], fd_poll_hook, fd_poll_hook);
    send(pair[1], "x", 1, 0);
    CHECK(aio_poll(ctx, true) && reads == 1, "socket with poll hooks read %d times", reads);
    t_set_fd_handler(ctx, (int)pair[0], NULL, NULL, NULL, NULL, NULL);
    closesocket(pair[0]);
    closesocket(pair[1]);
#endif
    CHECK(poll_hook_calls == 0, "poll hooks ran %d times", poll_hook_calls);
    t_set_event_notifier(ctx, &notifiers[0], NULL, NULL, NULL);
    event_notifier_cleanup(&notifiers[0]);
    aio_context_unref(ctx);
    printf("ok poll hooks never run\n");
}

/* ---- GSource ------------------------------------------------------------ */

static int bh_runs;
static void bh_cb(void *opaque)
{
    bh_runs++;
}

static void test_gsource(void)
{
    AioContext *ctx = aio_context_new(NULL);
    GMainContext *gctx = g_main_context_new();
    GSource *src = aio_get_g_source(ctx);
    g_source_attach(src, gctx);
    g_source_unref(src);
    memset(calls, 0, sizeof(calls));

    while (g_main_context_iteration(gctx, false)) {
    }
    QEMUBH *bh = aio_bh_new(ctx, bh_cb, NULL);
    qemu_bh_schedule(bh);
    CHECK(g_main_context_iteration(gctx, false) && bh_runs == 1, "BH through glib");
    qemu_bh_delete(bh);

    CHECK(event_notifier_init(&notifiers[0], 0) == 0, "init");
    t_set_event_notifier(ctx, &notifiers[0], count_notify, NULL, NULL);
    HANDLE t = CreateThread(NULL, 0, set_later, &notifiers[0], 0, NULL);
    while (calls[0] == 0) {
        g_main_context_iteration(gctx, true);
    }
    CHECK(calls[0] == 1, "notifier through glib ran %d times", calls[0]);
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
    t_set_event_notifier(ctx, &notifiers[0], NULL, NULL, NULL);
    event_notifier_cleanup(&notifiers[0]);

    make_pair();
    reads = read_bytes = 0;
    drain_on_read = true;
    t_set_fd_handler(ctx, (int)pair[0], on_read, NULL, NULL, NULL, &pair[0]);
    send(pair[1], "abc", 3, 0);
    while (read_bytes < 3) {
        g_main_context_iteration(gctx, true);
    }
    CHECK(read_bytes == 3, "socket through glib");
    t_set_fd_handler(ctx, (int)pair[0], NULL, NULL, NULL, NULL, NULL);
    closesocket(pair[0]);
    closesocket(pair[1]);

    g_source_destroy(src);
    g_main_context_unref(gctx);
    aio_context_unref(ctx);
    printf("ok GSource\n");
}

/* ---- main loop: wait objects and polling callbacks ------------------------ */

static int wait_calls[70];
static void on_wait_object(void *opaque)
{
    int i = (int)(intptr_t)opaque;
    wait_calls[i]++;
    ResetEvent(notifiers[i].event);
}

static int polls;
static int polling_cb(void *opaque)
{
    polls++;
    return 1; /* work: main_loop_wait must not sleep */
}

#if T_API_7_2
/* Wakes a main_loop_wait that nothing else woke within 20 s, so that a lost
 * wake-up fails its check instead of hanging the run. */
static HANDLE watchdog_stop;
static volatile LONG watchdog_fired;
static DWORD WINAPI watchdog(LPVOID arg)
{
    if (WaitForSingleObject(watchdog_stop, 20000) == WAIT_TIMEOUT) {
        InterlockedExchange(&watchdog_fired, 1);
        qemu_notify_event();
    }
    return 0;
}
#endif

static void test_main_loop(void)
{
    CHECK(qemu_init_main_loop(NULL) == 0, "qemu_init_main_loop");
    for (int i = 0; i < 65; i++) {
        event_notifier_init(&notifiers[i], 0);
    }
    CHECK(qemu_add_wait_object(notifiers[0].event, on_wait_object, (void *)0) == 0, "add");
    CHECK(qemu_add_wait_object(notifiers[0].event, on_wait_object, (void *)0) == -1,
          "the same HANDLE twice");
    for (int i = 1; i < 64; i++) {
        CHECK(qemu_add_wait_object(notifiers[i].event, on_wait_object,
                                   (void *)(intptr_t)i) == 0, "add %d", i);
    }
    CHECK(qemu_add_wait_object(notifiers[64].event, on_wait_object, (void *)64) == -1,
          "the 65th wait object");

    event_notifier_set(&notifiers[5]);
    main_loop_wait(false);
    CHECK(wait_calls[5] == 1, "wait object ran %d times", wait_calls[5]);
    qemu_del_wait_object(notifiers[5].event, on_wait_object, (void *)5);
    event_notifier_set(&notifiers[5]);
    main_loop_wait(true);
    CHECK(wait_calls[5] == 1, "removed wait object ran");
    for (int i = 0; i < 64; i++) {
        qemu_del_wait_object(notifiers[i].event, on_wait_object, (void *)(intptr_t)i);
    }

    /* A polling callback that reports work keeps main_loop_wait from
     * sleeping: a blocking call returns although nothing is signalled. */
    qemu_add_polling_cb(polling_cb, NULL);
    main_loop_wait(false);
    CHECK(polls == 1, "polling callback ran %d times", polls);
    qemu_del_polling_cb(polling_cb, NULL);
    main_loop_wait(true);
    CHECK(polls == 1, "removed polling callback ran");

#if T_API_7_2
    /* qemu_fd_register (7.2 only: QEMU 8.0 removed it): data arriving on the
     * socket wakes a blocking main_loop_wait (without it, only the watchdog
     * would). */
    make_pair();
    main_loop_wait(true);
    qemu_fd_register((int)pair[0]);
    send(pair[1], "x", 1, 0);
    watchdog_stop = CreateEvent(NULL, TRUE, FALSE, NULL);
    HANDLE dog = CreateThread(NULL, 0, watchdog, NULL, 0, NULL);
    main_loop_wait(false);
    CHECK(!watchdog_fired, "main_loop_wait woken by the watchdog, not by the socket");
    SetEvent(watchdog_stop);
    WaitForSingleObject(dog, INFINITE);
    CloseHandle(dog);
    CloseHandle(watchdog_stop);
    closesocket(pair[0]);
    closesocket(pair[1]);
#endif
    printf("ok main loop\n");
}

/* No busy polling on Windows: asking for it is an error, turning it off
 * (max_ns 0) and the aio parameters are accepted. */
static void test_poll_params(void)
{
    AioContext *ctx = aio_context_new(NULL);
    Error *err = NULL;

    aio_context_set_poll_params(ctx, 0, 0, 0, &err);
    CHECK(err == NULL, "max_ns 0 refused");
    aio_context_set_poll_params(ctx, 32768, 2, 2, &err);
    CHECK(err != NULL, "busy polling accepted");
    CHECK(err && strstr(error_get_pretty(err), "not implemented on Windows"),
          "message: %s", err ? error_get_pretty(err) : "(none)");
    error_free(err);
    err = NULL;
#if T_API_7_2
    aio_context_set_aio_params(ctx, 16, &err);
    CHECK(err == NULL, "aio params refused");
#else
    aio_context_set_aio_params(ctx, 16); /* 10.0: no errp */
#endif
    aio_context_unref(ctx);
    printf("ok poll params\n");
}

int main(void)
{
    WSADATA wsa;
    WSAStartup(MAKEWORD(2, 2), &wsa);
    test_event_notifier();
    test_limit();
    test_same_handle_twice();
    test_sockets();
    test_iov_socket_errors();
    test_prepare_pending_dispatch();
    test_poll_hooks();
    test_gsource();
    test_poll_params();
    test_main_loop();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
