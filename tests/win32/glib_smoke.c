/*
 * Checks a mingw glib prefix (scripts/build-mingw-glib.sh) the way the
 * Win32 backend will use it: a custom GSource whose GPollFD is a Win32 event
 * HANDLE, signalled from another thread, must be dispatched by a blocking
 * GMainContext iteration.  Run by tests/win32/glib-smoke.sh under Wine.
 */
#include <glib.h>
#include <windows.h>
#include <stdio.h>

typedef struct {
    GSource source;
    GPollFD poll;
    int dispatched;
} EventSource;

static gboolean event_prepare(GSource *source, gint *timeout)
{
    (void)source;
    *timeout = -1;
    return FALSE;
}

static gboolean event_check(GSource *source)
{
    return (((EventSource *)source)->poll.revents & G_IO_IN) != 0;
}

static gboolean event_dispatch(GSource *source, GSourceFunc cb, gpointer data)
{
    EventSource *es = (EventSource *)source;
    (void)cb;
    (void)data;
    ResetEvent((HANDLE)es->poll.fd);
    es->dispatched++;
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs event_funcs = { event_prepare, event_check, event_dispatch, NULL, NULL, NULL };

static DWORD WINAPI signal_event(LPVOID handle)
{
    return SetEvent((HANDLE)handle) ? 0 : 1;
}

static int failures;

static void expect(int ok, const char *what)
{
    printf("%s: %s\n", ok ? "ok" : "FAILED", what);
    failures += !ok;
}

int main(void)
{
    HANDLE event = CreateEventW(NULL, TRUE, FALSE, NULL);
    GMainContext *ctx = g_main_context_new();
    EventSource *es = (EventSource *)g_source_new(&event_funcs, sizeof(EventSource));

    es->poll.fd = (gintptr)event;
    es->poll.events = G_IO_IN;
    g_source_add_poll(&es->source, &es->poll);
    g_source_attach(&es->source, ctx);

    /* Nobody has signalled the event yet: a non-blocking pass dispatches nothing. */
    g_main_context_iteration(ctx, FALSE);
    expect(es->dispatched == 0, "an unsignalled HANDLE is not dispatched");

    HANDLE thread = CreateThread(NULL, 0, signal_event, event, 0, NULL);
    while (es->dispatched == 0) {
        g_main_context_iteration(ctx, TRUE);
    }
    expect(es->dispatched == 1, "a HANDLE signalled by another thread is dispatched once");
    expect(WaitForSingleObject(event, 0) == WAIT_TIMEOUT, "dispatch reset the event");
    WaitForSingleObject(thread, INFINITE);
    CloseHandle(thread);

    printf("glib %u.%u.%u, sizeof(GSource) %u\n", glib_major_version, glib_minor_version,
           glib_micro_version, (unsigned)sizeof(GSource));
    g_source_destroy(&es->source);
    g_source_unref(&es->source);
    g_main_context_unref(ctx);
    CloseHandle(event);
    printf("%d passed, %d failed\n", 3 - failures, failures);
    return failures != 0;
}
