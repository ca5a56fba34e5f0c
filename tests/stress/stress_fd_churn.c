/* SPDX-License-Identifier: MIT */
/*
 * Stress "fd_churn": fd handlers of one context registered, signalled,
 * waited for and removed by several threads while the context's home
 * thread polls, on every fd monitor and through the GSource.  fd numbers
 * are reused all the time (each round closes its fd and opens a new one).
 *  - churn: register (sometimes twice: a replacement), make readable, wait
 *    for the handler (a lost wake-up hangs: the watchdog), remove (sometimes
 *    twice: a no-op), close;
 *  - close-while-registered: the fd is dup'ed and closed while its handler
 *    is registered, so its file lives on; after the removal the file is
 *    made readable through the duplicate and the handler must stay silent.
 * After a removal from another thread, "fences" (BHs run in the home thread
 * and waited for) mark the passes that must respect it: a pass already past
 * its removal check may still call the handler, as in QEMU.
 */
#include "stress.h"
#include "../helpers.h"

#include <sys/eventfd.h>

enum { CHURNERS = 3, MONITORS_AND_GSOURCE = 4 };

typedef struct {
    int id;
    pthread_t thread;
    AioContext *ctx;
    int fd;               /* registered fd, -1 between rounds */
    int dupfd;            /* the file's other number, or -1 */
    atomic_int calls;     /* handler runs of the current round */
    atomic_bool removed;  /* set after removal and fences */
    sem_t ran;
    unsigned long rounds;
} Churner;

static void nothing(void *opaque)
{
}

/* Three passes of the home thread: any pass that began before the call has
 * finished its dispatch (see the head comment). */
static void fence(AioContext *ctx)
{
    for (int i = 0; i < 3; i++) {
        s_run_in(ctx, nothing, NULL);
    }
}

static void drain_fd(int fd)
{
    uint64_t v;

    while (read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v)) {
        /* eventfd: one read empties it */
    }
}

static void kick(int fd)
{
    uint64_t one = 1;

    if (write(fd, &one, sizeof(one)) != (ssize_t)sizeof(one)) {
        s_fail("eventfd write: %s", strerror(errno));
    }
}

static void read_cb(void *opaque)
{
    Churner *c = opaque;

    s_check(!atomic_load(&c->removed), "churner %d: handler ran after its removal", c->id);
    drain_fd(c->dupfd >= 0 ? c->dupfd : c->fd);
    if (atomic_fetch_add(&c->calls, 1) == 0) {
        sem_post(&c->ran);
    }
    s_progress();
}

static void other_read_cb(void *opaque)
{
    s_fail("the replaced handler ran");
}

static void set_handler(Churner *c, IOHandler *cb)
{
    t_set_fd_handler(c->ctx, c->fd, cb, NULL, NULL, NULL, c);
}

static void remove_handler(Churner *c)
{
    t_set_fd_handler(c->ctx, c->fd, NULL, NULL, NULL, NULL, NULL);
}

static void *churn_thread(void *opaque)
{
    Churner *c = opaque;
    s_rng rng;

    s_rng_seed(&rng, c->id + 500);
    while (s_running()) {
        c->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        c->dupfd = -1;
        atomic_store(&c->calls, 0);
        atomic_store(&c->removed, false);
        if (s_rand(&rng, 4) == 0) {
            set_handler(c, other_read_cb);  /* replaced before it can matter */
            set_handler(c, read_cb);
        } else {
            set_handler(c, read_cb);
        }
        kick(c->fd);
        sem_wait(&c->ran);
        remove_handler(c);
        if (s_rand(&rng, 4) == 0) {
            remove_handler(c);  /* removing an unregistered fd: a no-op */
        }
        if (s_rand(&rng, 16) == 0) {
            /* No call may come after the removal and a fence. */
            fence(c->ctx);
            atomic_store(&c->removed, true);
            kick(c->fd);
            fence(c->ctx);
        }
        close(c->fd);
        c->rounds++;
        s_ops(1);
    }
    return NULL;
}

static void *close_while_registered_thread(void *opaque)
{
    Churner *c = opaque;

    while (s_running()) {
        int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

        c->fd = fd;
        c->dupfd = dup(fd);
        atomic_store(&c->calls, 0);
        atomic_store(&c->removed, false);
        set_handler(c, read_cb);
        kick(c->dupfd);
        sem_wait(&c->ran);
        /* Closed while registered; its file lives on in dupfd. */
        close(fd);
        fence(c->ctx);
        remove_handler(c);
        fence(c->ctx);
        atomic_store(&c->removed, true);
        kick(c->dupfd);
        fence(c->ctx);
        close(c->dupfd);
        c->dupfd = -1;
        c->rounds++;
        s_ops(1);
    }
    return NULL;
}

/* mon: 0..2 the fd monitors driven by aio_poll, 3 the GSource. */
static void run_churners(int mon, void *(*fn)(void *), int n)
{
    s_iothread home;
    Churner c[CHURNERS];
    unsigned long total = 0;

    if (mon < t_n_fdmons) {
        s_iothread_start(&home, mon);
    } else {
        s_iothread_start_gsource(&home, -1);
    }
    for (int i = 0; i < n; i++) {
        c[i] = (Churner){ .id = i, .ctx = home.ctx, .fd = -1, .dupfd = -1 };
        sem_init(&c[i].ran, 0, 0);
        pthread_create(&c[i].thread, NULL, fn, &c[i]);
    }
    for (int i = 0; i < n; i++) {
        pthread_join(c[i].thread, NULL);
        total += c[i].rounds;
        sem_destroy(&c[i].ran);
    }
    s_iothread_stop(&home);
    s_iothread_free(&home);
    s_check(total > 0, "no round completed");
}

static void churn(int mon)
{
    run_churners(mon, churn_thread, CHURNERS);
}

static void close_while_registered(int mon)
{
    run_churners(mon, close_while_registered_thread, 1);
}

static const char *monitor_name(int mon)
{
    return mon < t_n_fdmons ? t_fdmons[mon] : "gsource";
}

int main(void)
{
    static char names[MONITORS_AND_GSOURCE][2][64];

    s_init("stress_fd_churn", 2 * MONITORS_AND_GSOURCE);
    for (int m = 0; m < MONITORS_AND_GSOURCE; m++) {
        bool usable = m >= t_n_fdmons || s_fdmon_usable(m);

        snprintf(names[m][0], sizeof(names[m][0]), "churn[%s]", monitor_name(m));
        snprintf(names[m][1], sizeof(names[m][1]), "close-while-registered[%s]",
                 monitor_name(m));
        if (!usable) {
            s_skip(names[m][0], "io_uring is not available");
            s_skip(names[m][1], "io_uring is not available");
            continue;
        }
        s_run(names[m][0], churn, m);
        s_run(names[m][1], close_while_registered, m);
    }
    return s_finish();
}
