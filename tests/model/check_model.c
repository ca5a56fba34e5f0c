/* SPDX-License-Identifier: MIT */
/*
 * Suite "model": seeded random sequences of operations on one or two
 * contexts (BHs created, scheduled, cancelled and deleted; oneshots; fd
 * handlers added, removed, made readable, drained and closed; timers armed
 * due or far, and deleted; aio_poll blocking and not; callbacks that
 * reschedule or delete themselves, re-arm, remove their handler, or run a
 * nested aio_poll), checked step by step against a small model of QEMU
 * 7.2's documented semantics (behaviors.md, "aio_poll: order, progress,
 * blocking", "Bottom halves", "fd handlers", "Timers"):
 *  - a callback runs only in a poll of its own context, and only if it may:
 *    a BH or oneshot only when scheduled before the innermost aio_poll began
 *    (a BH scheduled during a pass waits for the next call), an fd handler
 *    only while registered and its fd readable, a timer only while armed
 *    and due; deleted BHs, removed handlers and deleted timers never run;
 *  - when an aio_poll returns, everything that had to run did: the BHs
 *    scheduled before it began, the handlers registered and readable
 *    before it began (level-triggered), every due timer, including those
 *    re-armed to a past time by their own callback;
 *  - aio_poll returns true iff a callback ran in that call itself (a
 *    notification alone is no progress).
 * Each sequence runs in a thread of its own (QAIO_MODEL_FORK=1: in a child
 * process, so that a crash can be shrunk too); on a failure the sequence,
 * replayed in child processes, is cut down (shortest failing prefix, then removing ops while it still fails)
 * and printed with its seed.  QAIO_MODEL_SEEDS sets the number of seeds
 * (default 1000), QAIO_MODEL_SEED replays one, QAIO_MODEL_FDMON forces the
 * fd monitor (by default seed modulo 3 picks poll, epoll or io_uring).
 */
#include "qemu/osdep.h"
#include "block/aio.h"
#include "qemu/timer.h"
#include "../helpers.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/wait.h>

enum { CTXS = 2, NBH = 4, NFD = 3, NTIMER = 3, MAX_ONESHOTS = 256, MAX_OPS = 160,
       MAX_LEVELS = 8 };

/* ---- operations ---------------------------------------------------------- */

typedef enum {
    OP_BH_NEW, OP_BH_SCHEDULE, OP_BH_CANCEL, OP_BH_DELETE, OP_ONESHOT,
    OP_FD_ADD, OP_FD_REMOVE, OP_FD_SET, OP_FD_CLEAR, OP_FD_CLOSE,
    OP_TIMER_ARM_DUE, OP_TIMER_ARM_FAR, OP_TIMER_DEL,
    OP_POLL, OP_POLL_BLOCKING, OP_KINDS
} OpKind;

static const char *const op_names[OP_KINDS] = {
    "bh_new", "bh_schedule", "bh_cancel", "bh_delete", "oneshot",
    "fd_add", "fd_remove", "fd_set", "fd_clear", "fd_close",
    "timer_arm_due", "timer_arm_far", "timer_del",
    "aio_poll(false)", "aio_poll(true)",
};

/* What a callback does besides being counted. */
typedef enum { ACT_NONE, ACT_SELF_A, ACT_SELF_B, ACT_NESTED_POLL, ACT_KINDS } Action;

static const char *const bh_actions[ACT_KINDS] = {
    "count", "reschedule self (3 times)", "delete self", "nested aio_poll" };
static const char *const fd_actions[ACT_KINDS] = {
    "drain", "leave readable", "remove self", "drain, nested aio_poll" };
static const char *const timer_actions[ACT_KINDS] = {
    "count", "re-arm due (twice)", "re-arm far", "nested aio_poll" };

typedef struct {
    uint8_t kind, c, i, action;
} Op;

typedef struct {
    int n;
    int contexts;
    Op op[MAX_OPS];
} Seq;

/* ---- the model ------------------------------------------------------------ */

typedef struct {
    bool exists, scheduled;
    long sched_tick;
    int action, resched_left;
    QEMUBH *bh;
} MBh;

typedef struct {
    bool open, registered, readable;
    bool event;   /* became readable since the handler last ran */
    long reg_tick, ready_tick;
    unsigned long last_run_seq;
    int action, fd;
} MFd;

typedef struct {
    bool armed, due;
    int action, rearm_left;
    QEMUTimer *t;
} MTimer;

typedef struct {
    bool pending;
    long tick;
    int c;
} MOneshot;

typedef struct {
    int c;
    long entry_tick;
    unsigned long seq;
    int direct;
} Level;

/* A callback's identity, the opaque of its BH, handler or timer. */
typedef struct {
    int c, i;
} Ref;

static struct {
    AioContext *ctx[CTXS];
    MBh bh[CTXS][NBH];
    MFd fd[CTXS][NFD];
    MTimer timer[CTXS][NTIMER];
    MOneshot oneshot[MAX_ONESHOTS];
    int n_oneshots;
    Level level[MAX_LEVELS];
    int depth;
    long tick;
    unsigned long level_seq;
    int op_index;
    int failed_at;      /* the op (or s->n: the teardown) that failed */
    bool failed;
    char why[512];
} m;

static Ref bh_refs[CTXS][NBH], fd_refs[CTXS][NFD], timer_refs[CTXS][NTIMER];

static void violation(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void violation(const char *fmt, ...)
{
    va_list ap;

    if (m.failed) {
        return;
    }
    m.failed = true;
    m.failed_at = m.op_index;
    va_start(ap, fmt);
    vsnprintf(m.why, sizeof(m.why), fmt, ap);
    va_end(ap);
}

static Level *innermost(void)
{
    return m.depth ? &m.level[m.depth - 1] : NULL;
}

/* A callback of context c is running: it must be inside a poll of c. */
static Level *callback_level(int c, const char *what, int i)
{
    Level *l = innermost();

    if (!l) {
        violation("%s %d of context %d ran outside aio_poll", what, i, c);
        return NULL;
    }
    if (l->c != c) {
        violation("%s %d of context %d ran in an aio_poll of context %d", what, i, c, l->c);
        return NULL;
    }
    l->direct++;
    return l;
}

static bool model_poll(int c, bool blocking);

static void bh_cb(void *opaque)
{
    Ref *r = opaque;
    MBh *b = &m.bh[r->c][r->i];
    Level *l = callback_level(r->c, "BH", r->i);

    if (!l) {
        return;
    }
    if (!b->exists) {
        violation("BH %d of context %d ran after its deletion", r->i, r->c);
        return;
    }
    if (!b->scheduled) {
        violation("BH %d of context %d ran without being scheduled (cancelled, or twice)",
                  r->i, r->c);
        return;
    }
    if (b->sched_tick > l->entry_tick) {
        violation("BH %d of context %d ran in the aio_poll during which it was scheduled",
                  r->i, r->c);
        return;
    }
    b->scheduled = false;
    switch (b->action) {
    case ACT_SELF_A:
        if (b->resched_left-- > 0) {
            b->scheduled = true;
            b->sched_tick = ++m.tick;
            qemu_bh_schedule(b->bh);
        }
        break;
    case ACT_SELF_B:
        b->exists = false;
        qemu_bh_delete(b->bh);
        b->bh = NULL;
        break;
    case ACT_NESTED_POLL:
        if (m.depth == 1) {
            model_poll(r->c, false);
        }
        break;
    }
}

static void oneshot_cb(void *opaque)
{
    int id = (int)(intptr_t)opaque;
    MOneshot *o = &m.oneshot[id];
    Level *l = callback_level(o->c, "oneshot", id);

    if (!l) {
        return;
    }
    if (!o->pending) {
        violation("oneshot %d ran twice", id);
    } else if (o->tick > l->entry_tick) {
        violation("oneshot %d ran in the aio_poll during which it was scheduled", id);
    }
    o->pending = false;
}

static void fd_cb(void *opaque)
{
    Ref *r = opaque;
    MFd *f = &m.fd[r->c][r->i];
    Level *l = callback_level(r->c, "fd handler", r->i);
    uint64_t v;

    if (!l) {
        return;
    }
    if (!f->registered) {
        violation("fd handler %d of context %d ran after its removal", r->i, r->c);
        return;
    }
    /* A wait may report readiness that is gone by dispatch (io_uring's poll
     * completions wait in the ring): a handler must cope with a spurious
     * call, but only after its fd was readable since its last run. */
    if (!f->readable && !f->event) {
        violation("fd handler %d of context %d ran, but its fd was not readable since "
                  "its last run", r->i, r->c);
        return;
    }
    f->event = false;
    f->last_run_seq = l->seq;
    switch (f->action) {
    case ACT_NONE:
    case ACT_NESTED_POLL:
        if (read(f->fd, &v, sizeof(v)) != sizeof(v) && (errno != EAGAIN || f->readable)) {
            violation("fd %d of context %d: read: %s", r->i, r->c, strerror(errno));
        }
        f->readable = false;
        if (f->action == ACT_NESTED_POLL && m.depth == 1) {
            model_poll(r->c, false);
        }
        break;
    case ACT_SELF_A:
        break;  /* stays readable: runs again at every pass */
    case ACT_SELF_B:
        t_set_fd_handler(m.ctx[r->c], f->fd, NULL, NULL, NULL, NULL, NULL);
        f->registered = false;
        break;
    }
}

static void timer_cb(void *opaque)
{
    Ref *r = opaque;
    MTimer *t = &m.timer[r->c][r->i];
    Level *l = callback_level(r->c, "timer", r->i);

    if (!l) {
        return;
    }
    if (!t->armed) {
        violation("timer %d of context %d ran while not armed (deleted, or twice)", r->i, r->c);
        return;
    }
    if (!t->due) {
        violation("timer %d of context %d ran an hour early", r->i, r->c);
        return;
    }
    t->armed = false;
    switch (t->action) {
    case ACT_SELF_A:
        if (t->rearm_left-- > 0) {
            t->armed = t->due = true;
            timer_mod_ns(t->t, 0);  /* due: runs again in this same pass */
        }
        break;
    case ACT_SELF_B:
        t->armed = true;
        t->due = false;
        timer_mod_ns(t->t, qemu_clock_get_ns(QEMU_CLOCK_REALTIME) + 3600 * NANOSECONDS_PER_SECOND);
        break;
    case ACT_NESTED_POLL:
        if (m.depth == 1) {
            model_poll(r->c, false);
        }
        break;
    }
}

/* Whether a poll of context c has something it must run. */
static bool work_expected(int c)
{
    for (int i = 0; i < NBH; i++) {
        if (m.bh[c][i].exists && m.bh[c][i].scheduled) {
            return true;
        }
    }
    for (int i = 0; i < m.n_oneshots; i++) {
        if (m.oneshot[i].pending && m.oneshot[i].c == c) {
            return true;
        }
    }
    for (int i = 0; i < NFD; i++) {
        if (m.fd[c][i].registered && m.fd[c][i].readable) {
            return true;
        }
    }
    for (int i = 0; i < NTIMER; i++) {
        if (m.timer[c][i].armed && m.timer[c][i].due) {
            return true;
        }
    }
    return false;
}

/* What must have happened by the end of level l. */
static void check_level_end(Level *l, bool ret)
{
    int c = l->c;

    for (int i = 0; i < NBH; i++) {
        MBh *b = &m.bh[c][i];

        if (b->exists && b->scheduled && b->sched_tick < l->entry_tick) {
            violation("BH %d of context %d, scheduled before aio_poll began, did not run", i, c);
        }
    }
    for (int i = 0; i < m.n_oneshots; i++) {
        MOneshot *o = &m.oneshot[i];

        if (o->pending && o->c == c && o->tick < l->entry_tick) {
            violation("oneshot %d, scheduled before aio_poll began, did not run", i);
        }
    }
    for (int i = 0; i < NFD; i++) {
        MFd *f = &m.fd[c][i];

        if (f->registered && f->readable && f->reg_tick < l->entry_tick &&
            f->ready_tick < l->entry_tick && f->last_run_seq < l->seq) {
            violation("fd handler %d of context %d, readable before aio_poll began, did not run",
                      i, c);
        }
    }
    for (int i = 0; i < NTIMER; i++) {
        if (m.timer[c][i].armed && m.timer[c][i].due) {
            violation("timer %d of context %d is due but did not run", i, c);
        }
    }
    if (ret != (l->direct > 0)) {
        violation("aio_poll(ctx %d%s) returned %s after %d callbacks of its own", c,
                  m.depth > 1 ? ", nested" : "", ret ? "true" : "false", l->direct);
    }
}

/* ---- a guard for blocking polls: a poll that should return but sleeps
 * is woken after a while by a notification, and then fails its checks
 * instead of hanging.  No verdict rests on this timing. ---------------- */

static atomic_uintptr_t guard_ctx;
static atomic_uint guard_gen;

static void *guard_main(void *unused)
{
    unsigned seen = 0;
    int ticks = 0;

    for (;;) {
        unsigned gen = atomic_load(&guard_gen);
        AioContext *ctx = (AioContext *)atomic_load(&guard_ctx);

        if (!ctx || gen != seen) {
            seen = gen;
            ticks = 0;
        } else if (++ticks == 50) {  /* 5 s in one blocking aio_poll */
            aio_notify(ctx);
        }
        usleep(100 * 1000);
    }
    return NULL;
}

static bool model_poll(int c, bool blocking)
{
    Level *l;
    bool ret;

    if (m.depth == MAX_LEVELS) {
        return false;
    }
    l = &m.level[m.depth++];
    *l = (Level){ .c = c, .entry_tick = ++m.tick, .seq = ++m.level_seq };
    if (blocking) {
        if (!work_expected(c)) {
            aio_notify(m.ctx[c]);  /* then the poll may only return false */
        }
        atomic_fetch_add(&guard_gen, 1);
        atomic_store(&guard_ctx, (uintptr_t)m.ctx[c]);
    }
    ret = aio_poll(m.ctx[c], blocking);
    if (blocking) {
        atomic_store(&guard_ctx, 0);
    }
    check_level_end(l, ret);
    m.depth--;
    ++m.tick;
    return ret;
}

/* ---- executing a sequence; an op invalid in the current state is a no-op,
 * so that any subsequence can be replayed. ---------------------------------- */

static void fd_register(int c, int i)
{
    MFd *f = &m.fd[c][i];

    t_set_fd_handler(m.ctx[c], f->fd, fd_cb, NULL, NULL, NULL, &fd_refs[c][i]);
    f->registered = true;
    f->reg_tick = ++m.tick;
}

static void exec_op(const Op *op)
{
    int c = op->c, i = op->i;
    AioContext *ctx = m.ctx[c];
    MBh *b = &m.bh[c][i % NBH];
    MFd *f = &m.fd[c][i % NFD];
    MTimer *t = &m.timer[c][i % NTIMER];
    uint64_t v = 1;

    switch (op->kind) {
    case OP_BH_NEW:
        if (!b->exists) {
            *b = (MBh){ .exists = true, .action = op->action, .resched_left = 3 };
            b->bh = aio_bh_new(ctx, bh_cb, &bh_refs[c][i % NBH]);
        }
        break;
    case OP_BH_SCHEDULE:
        if (b->exists) {
            if (!b->scheduled) {
                b->sched_tick = ++m.tick;
            }
            b->scheduled = true;
            qemu_bh_schedule(b->bh);
        }
        break;
    case OP_BH_CANCEL:
        if (b->exists) {
            b->scheduled = false;
            qemu_bh_cancel(b->bh);
        }
        break;
    case OP_BH_DELETE:
        if (b->exists) {
            b->exists = false;
            qemu_bh_delete(b->bh);
            b->bh = NULL;
        }
        break;
    case OP_ONESHOT:
        if (m.n_oneshots < MAX_ONESHOTS) {
            int id = m.n_oneshots++;

            m.oneshot[id] = (MOneshot){ .pending = true, .tick = ++m.tick, .c = c };
            aio_bh_schedule_oneshot(ctx, oneshot_cb, (void *)(intptr_t)id);
        }
        break;
    case OP_FD_ADD:
        if (!f->open) {
            f->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
            f->open = true;
            f->readable = f->event = false;
        }
        f->action = op->action;
        fd_register(c, i % NFD);
        break;
    case OP_FD_REMOVE:
        if (f->open) {
            t_set_fd_handler(ctx, f->fd, NULL, NULL, NULL, NULL, NULL);
            f->registered = false;
        }
        break;
    case OP_FD_SET:
        if (f->open) {
            if (write(f->fd, &v, sizeof(v)) != sizeof(v)) {
                violation("eventfd write: %s", strerror(errno));
            }
            if (!f->readable) {
                f->ready_tick = ++m.tick;
            }
            f->readable = true;
            f->event = true;
        }
        break;
    case OP_FD_CLEAR:
        if (f->open && f->readable) {
            if (read(f->fd, &v, sizeof(v)) != sizeof(v)) {
                violation("eventfd read: %s", strerror(errno));
            }
            f->readable = false;
        }
        break;
    case OP_FD_CLOSE:
        if (f->open) {
            if (f->registered) {
                t_set_fd_handler(ctx, f->fd, NULL, NULL, NULL, NULL, NULL);
                f->registered = false;
            }
            close(f->fd);
            f->open = false;
            f->readable = false;
        }
        break;
    case OP_TIMER_ARM_DUE:
    case OP_TIMER_ARM_FAR:
        if (!t->t) {
            t->t = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS, timer_cb,
                                 &timer_refs[c][i % NTIMER]);
        }
        t->action = op->action;
        t->rearm_left = 2;
        t->armed = true;
        t->due = op->kind == OP_TIMER_ARM_DUE;
        timer_mod_ns(t->t, t->due ? 0 : qemu_clock_get_ns(QEMU_CLOCK_REALTIME) +
                     3600 * NANOSECONDS_PER_SECOND);
        break;
    case OP_TIMER_DEL:
        if (t->t) {
            timer_del(t->t);
            t->armed = false;
        }
        break;
    case OP_POLL:
    case OP_POLL_BLOCKING:
        model_poll(c, op->kind == OP_POLL_BLOCKING);
        break;
    }
}

/* Undo everything, then poll until idle: pending oneshots must still run. */
static void teardown(int contexts)
{
    for (int c = 0; c < contexts; c++) {
        for (int i = 0; i < NBH; i++) {
            if (m.bh[c][i].exists) {
                m.bh[c][i].exists = false;
                qemu_bh_delete(m.bh[c][i].bh);
            }
        }
        for (int i = 0; i < NFD; i++) {
            Op close_op = { .kind = OP_FD_CLOSE, .c = c, .i = i };

            exec_op(&close_op);
        }
        for (int i = 0; i < NTIMER; i++) {
            if (m.timer[c][i].t) {
                timer_free(m.timer[c][i].t);
                m.timer[c][i].t = NULL;
                m.timer[c][i].armed = false;
            }
        }
        for (int k = 0; k < 10 && model_poll(c, false); k++) {
        }
        if (model_poll(c, false)) {
            violation("context %d still makes progress after teardown", c);
        }
    }
    for (int c = 0; c < contexts; c++) {
        aio_context_unref(m.ctx[c]);
    }
}

/* Runs the sequence; on a violation fills in why and the op index. */
static void start_guard(void)
{
    pthread_t guard;

    pthread_create(&guard, NULL, guard_main, NULL);
    pthread_detach(guard);
}

static void execute(const Seq *s, int fdmon)
{
    memset(&m, 0, sizeof(m));
    for (int c = 0; c < CTXS; c++) {
        for (int i = 0; i < NBH; i++) {
            bh_refs[c][i] = (Ref){ c, i };
        }
        for (int i = 0; i < NFD; i++) {
            fd_refs[c][i] = (Ref){ c, i };
        }
        for (int i = 0; i < NTIMER; i++) {
            timer_refs[c][i] = (Ref){ c, i };
        }
    }
    for (int c = 0; c < s->contexts; c++) {
        m.ctx[c] = t_ctx_new_for_monitor(fdmon);
        t_drain_ctx(m.ctx[c]);
    }
    qemu_set_current_aio_context(m.ctx[0]);
    for (m.op_index = 0; m.op_index < s->n && !m.failed; m.op_index++) {
        exec_op(&s->op[m.op_index]);
    }
    if (!m.failed) {
        m.op_index = s->n;  /* the teardown */
        teardown(s->contexts);
    }
}

/* ---- generating, replaying, shrinking --------------------------------------- */

static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void generate(Seq *s, unsigned seed)
{
    uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 7;
    /* Polls often, so that sequences explore state rather than pile it up. */
    static const uint8_t weights[OP_KINDS] = {
        [OP_BH_NEW] = 4, [OP_BH_SCHEDULE] = 6, [OP_BH_CANCEL] = 2, [OP_BH_DELETE] = 2,
        [OP_ONESHOT] = 3, [OP_FD_ADD] = 4, [OP_FD_REMOVE] = 2, [OP_FD_SET] = 5,
        [OP_FD_CLEAR] = 2, [OP_FD_CLOSE] = 2, [OP_TIMER_ARM_DUE] = 3,
        [OP_TIMER_ARM_FAR] = 2, [OP_TIMER_DEL] = 2, [OP_POLL] = 8, [OP_POLL_BLOCKING] = 4,
    };
    int total = 0;

    for (int k = 0; k < OP_KINDS; k++) {
        total += weights[k];
    }
    rng_next(&x);
    s->contexts = 1 + (int)(rng_next(&x) % CTXS);
    s->n = 20 + (int)(rng_next(&x) % (MAX_OPS - 20));
    for (int n = 0; n < s->n; n++) {
        int r = (int)(rng_next(&x) % total), k = 0;

        while (r >= weights[k]) {
            r -= weights[k++];
        }
        s->op[n] = (Op){
            .kind = k,
            .c = (uint8_t)(rng_next(&x) % s->contexts),
            .i = (uint8_t)(rng_next(&x) % 4),
            .action = (uint8_t)(rng_next(&x) % ACT_KINDS),
        };
    }
}

typedef struct {
    bool failed;
    int op_index;
    char why[600];
} Outcome;

typedef struct {
    const Seq *s;
    int fdmon;
    Outcome o;
} ThreadRun;

static void *replay_thread(void *opaque)
{
    ThreadRun *t = opaque;

    execute(t->s, t->fdmon);
    t->o.failed = m.failed;
    t->o.op_index = m.failed_at;
    snprintf(t->o.why, sizeof(t->o.why), "%s", m.why);
    return NULL;
}

/* The seed under test, printed if the program crashes running it. */
static unsigned current_seed;

static void crash_handler(int sig)
{
    char msg[160];
    int n = snprintf(msg, sizeof(msg), "model: seed %u crashed (signal %d); "
                     "QAIO_MODEL_SEED=%u QAIO_MODEL_FORK=1 replays and shrinks it\n",
                     current_seed, sig, current_seed);

    if (write(STDOUT_FILENO, msg, (size_t)n) < 0) {
        /* nothing more to do */
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/*
 * Run a sequence, in a thread of its own (a thread binds one context for
 * good), or with QAIO_MODEL_FORK=1 in a child process, where a crash is a
 * failure that can be shrunk too.  Forking is slow in sanitizer builds, so
 * it is not the default; shrinking always forks.
 */
static Outcome replay_in(const Seq *s, int fdmon, bool in_child)
{
    Outcome o = { 0 };
    int p[2];
    pid_t pid;
    int status;

    if (!in_child) {
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        ThreadRun t = { .s = s, .fdmon = fdmon };
        pthread_t th;

        pthread_once(&once, start_guard);
        pthread_create(&th, NULL, replay_thread, &t);
        pthread_join(th, NULL);
        return t.o;
    }
    if (pipe(p) != 0) {
        ck_abort_msg("pipe: %s", strerror(errno));
    }
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        close(p[0]);
        start_guard();
        execute(s, fdmon);
        o.failed = m.failed;
        o.op_index = m.failed_at;
        snprintf(o.why, sizeof(o.why), "%s", m.why);
        if (write(p[1], &o, sizeof(o)) != sizeof(o)) {
            _exit(3);
        }
        _exit(0);
    }
    close(p[1]);
    if (read(p[0], &o, sizeof(o)) != sizeof(o)) {
        o.failed = true;
        o.op_index = -1;
    }
    close(p[0]);
    waitpid(pid, &status, 0);
    if (o.op_index == -1) {
        if (WIFSIGNALED(status)) {
            snprintf(o.why, sizeof(o.why), "the sequence crashed (signal %d)", WTERMSIG(status));
        } else {
            snprintf(o.why, sizeof(o.why), "the sequence exited with %d",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        }
    }
    return o;
}

static void print_seq(const Seq *s)
{
    for (int n = 0; n < s->n; n++) {
        const Op *op = &s->op[n];
        const char *act = "";

        if (op->kind == OP_BH_NEW) {
            act = bh_actions[op->action];
        } else if (op->kind == OP_FD_ADD) {
            act = fd_actions[op->action];
        } else if (op->kind == OP_TIMER_ARM_DUE || op->kind == OP_TIMER_ARM_FAR) {
            act = timer_actions[op->action];
        }
        printf("    %3d: ctx %d %-16s #%d %s\n", n, op->c, op_names[op->kind],
               op->i % (op->kind <= OP_BH_DELETE ? NBH :
                        op->kind <= OP_FD_CLOSE ? NFD : NTIMER), act);
    }
}

/* Cut a failing sequence down: shortest failing prefix, then drop chunks of
 * ops, halving the chunk size, while the rest still fails. */
static Outcome replay(const Seq *s, int fdmon)
{
    return replay_in(s, fdmon, true);
}

static Outcome shrink(Seq *s, int fdmon, Outcome o)
{
    int budget = 400;

    if (o.op_index >= 0 && o.op_index < s->n) {
        Seq t = *s;
        Outcome ot;

        t.n = o.op_index + 1;
        ot = replay(&t, fdmon);
        if (ot.failed) {
            *s = t;
            o = ot;
        }
    }
    for (int chunk = s->n / 2; chunk >= 1 && budget > 0; chunk /= 2) {
        for (int start = 0; start + chunk <= s->n && budget > 0; budget--) {
            Seq t = *s;
            Outcome ot;

            memmove(&t.op[start], &t.op[start + chunk],
                    (size_t)(t.n - start - chunk) * sizeof(Op));
            t.n -= chunk;
            ot = replay(&t, fdmon);
            if (ot.failed) {
                *s = t;
                o = ot;
            } else {
                start += chunk;
            }
        }
    }
    return o;
}

static int fdmon_for_seed(unsigned seed)
{
    const char *force = getenv("QAIO_MODEL_FDMON");
    int i = (int)(seed % (unsigned)t_n_fdmons);

    for (int k = 0; force && k < t_n_fdmons; k++) {
        if (strcmp(force, t_fdmons[k]) == 0) {
            i = k;
        }
    }
    return strcmp(t_fdmons[i], "io_uring") == 0 && !t_io_uring_available() ? 0 : i;
}

static unsigned env_unsigned(const char *name, unsigned dflt)
{
    const char *v = getenv(name);

    return v && *v ? (unsigned)strtoul(v, NULL, 10) : dflt;
}

START_TEST(random_sequences_follow_the_model)
{
    unsigned first = env_unsigned("QAIO_MODEL_SEED", 1);
    unsigned seeds = getenv("QAIO_MODEL_SEED") ? 1 : env_unsigned("QAIO_MODEL_SEEDS", 1000);
    unsigned long ops = 0;
    int64_t start = t_now_ns();
    bool fork_each = getenv("QAIO_MODEL_FORK") && strcmp(getenv("QAIO_MODEL_FORK"), "1") == 0;

    signal(SIGABRT, crash_handler);
    signal(SIGSEGV, crash_handler);
    for (unsigned seed = first; seed < first + seeds; seed++) {
        Seq s;
        int fdmon = fdmon_for_seed(seed);
        Outcome o;

        generate(&s, seed);
        ops += s.n;
        current_seed = seed;
        o = replay_in(&s, fdmon, fork_each);
        if (o.failed) {
            printf("model: seed %u (%s monitor, %d contexts) fails at op %d: %s\n", seed,
                   t_fdmons[fdmon], s.contexts, o.op_index, o.why);
            o = shrink(&s, fdmon, o);
            printf("model: shortest failing sequence found (%d ops; failing at %s %d: %s):\n",
                   s.n, o.op_index == s.n ? "the teardown after op" : "op",
                   o.op_index == s.n ? s.n - 1 : o.op_index, o.why);
            print_seq(&s);
            printf("model: replay with QAIO_MODEL_SEED=%u\n", seed);
            ck_abort_msg("seed %u: %s", seed, o.why);
        }
    }
    printf("model: %u seeds, %lu operations, %.2f s\n", seeds, ops,
           (t_now_ns() - start) / 1e9);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("sequences");

    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, random_sequences_follow_the_model);
    suite_add_tcase(s, tc);
    return t_run_suite(s);
}
