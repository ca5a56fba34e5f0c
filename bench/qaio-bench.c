/* SPDX-License-Identifier: MIT */
/*
 * qaio-bench: the driver.  It parses the command line, raises the open-file
 * limit (the fd suite registers ten thousand eventfds, several times over),
 * runs the chosen suites in the order of the suite table and prints one
 * report: an aligned table by default, JSON with --json.  Each suite lives
 * in its own suite_<name>.c and measures qaio beside whichever peers (glib
 * always; libevent and libuv when configure found them) in the same
 * invocation; adding a suite is a new file plus one line in bench_suites[].
 */
#include "config.h"

#include "bench.h"

#include <getopt.h>
#ifndef _WIN32
#include <sys/resource.h>
#endif

extern const bench_suite bench_suite_coroutine;   /* suite_coroutine.c */
#ifndef _WIN32
extern const bench_suite bench_suite_pool;        /* suite_pool.c */
extern const bench_suite bench_suite_startup;     /* suite_startup.c */
extern const bench_suite bench_suite_mainloop;    /* suite_mainloop.c */
extern const bench_suite bench_suite_scale;       /* suite_scale.c */
extern const bench_suite bench_suite_io;          /* suite_io.c, and its options: */
extern const char *bench_io_path;                 /* --io-path */
extern long bench_io_size_mib;                    /* --io-size */
extern int bench_io_direct;                       /* --io-direct */
#endif

/* Windows: the suites that need no fd, eventfd, file (pool: pread), exec,
 * /proc or Linux engine, and no peer library (libevent and libuv are not
 * cross-built). */
static const bench_suite *const bench_suites[] = {
    &bench_suite_bh,
#ifndef _WIN32
    &bench_suite_notify,
    &bench_suite_fd,
#endif
    &bench_suite_timers,
    &bench_suite_lock,
    &bench_suite_coroutine,
#ifndef _WIN32
    &bench_suite_mainloop,
    &bench_suite_io,
    &bench_suite_pool,
    &bench_suite_startup,
    &bench_suite_scale,
#endif
};

/* The knob table, as libqaio reads it. */
enum {
#define QAIO_KNOB_WHEN(id, words) bench_when_##id,
#include "lib/support/knobs.def"
};

static const char *const bench_when_words[] = {
#define QAIO_KNOB_WHEN(id, words) [bench_when_##id] = words,
#include "lib/support/knobs.def"
};

static const struct {
    const char *name, *values, *fallback, *help;
    int when;
} bench_knobs[] = {
#define QAIO_KNOB(id, name, values, type, default_, when, help) \
    { name, values, default_, help, bench_when_##when },
#include "lib/support/knobs.def"
};

/* Prints `text` from column `indent`, broken at spaces before column 78. */
static void print_wrapped(FILE *out, int indent, const char *text)
{
    int column = indent;

    fprintf(out, "%*s", indent, "");
    while (*text) {
        size_t word = strcspn(text, " ");

        if (column > indent && column + 1 + (int)word > 78) {
            fprintf(out, "\n%*s", indent, "");
            column = indent;
        } else if (column > indent) {
            fputc(' ', out);
            column++;
        }
        fprintf(out, "%.*s", (int)word, text);
        column += (int)word;
        text += word;
        text += strspn(text, " ");
    }
    fputc('\n', out);
}

static void print_knobs(FILE *out)
{
    for (size_t i = 0; i < ARRAY_SIZE(bench_knobs); i++) {
        char *line = g_strdup_printf("%s (default: %s; read %s)", bench_knobs[i].help,
                                     bench_knobs[i].fallback,
                                     bench_when_words[bench_knobs[i].when]);
        fprintf(out, "  %s=%s\n", bench_knobs[i].name, bench_knobs[i].values);
        print_wrapped(out, 6, line);
        g_free(line);
    }
}

static void usage(FILE *out)
{
    fprintf(out,
"usage: qaio-bench [--json] [--suite NAME[,NAME...]] [--repeat N] [--quick]\n"
"                  [--help]\n"
"\n"
"Micro-benchmarks of qaio's event loop, beside libevent, libuv and glib\n"
"where they are installed, all in the same run.  Each figure is the median\n"
"of N repeats (default 5) of a batch calibrated to last about 0.2 s; the\n"
"repeats of the subjects compared in one row group are interleaved.\n"
"\n"
"  --json          print JSON on stdout instead of the table\n"
"  --suite LIST    comma-separated suites to run (default: all)\n"
"  --repeat N      repeats per case (default 5; 3 with --quick)\n"
"  --quick         batches of about 0.05 s: a smoke run of ~20 s\n"
"  --io-path DIR   io suite: one file in DIR instead of /dev/shm (buffered)\n"
"                  and the current directory (O_DIRECT)\n"
"  --io-size MIB   io suite: size of each file (default 256)\n"
"  --io-direct yes|no  io suite: O_DIRECT for --io-path's file (default:\n"
"                  yes where the file system allows it)\n"
"  --help          this text\n"
"\n"
"suites:\n");
    for (size_t i = 0; i < ARRAY_SIZE(bench_suites); i++) {
        fprintf(out, "  %-10s %s\n", bench_suites[i]->name,
                bench_suites[i]->summary);
    }
    fprintf(out,
"\n"
"peers, where installed: bh: libevent event_active, uv_idle, g_idle_add;\n"
"notify: a bare eventfd ping-pong between the same two threads,\n"
"uv_async_send; fd: libevent (epoll), uv_poll, g_unix_fd_source; timers:\n"
"evtimer_add/evtimer_del, uv_timer_start/uv_timer_stop; lock: Boost.Context\n"
"jump_fcontext there and back, pthread_mutex; io: fio with libaio,\n"
"io_uring and psync (as many threads as the thread pool's requests in\n"
"flight) on the same file (the io rows show IOPS, their notes MB/s and\n"
"p50/p99 latency); pool: uv_queue_work with UV_THREADPOOL_SIZE=64 and an\n"
"exclusive GThreadPool of 64 threads completing through\n"
"g_main_context_invoke; startup: the same probe program without a CoMutex,\n"
"and with QAIO_COMUTEX_BIAS=0 (its rows show ns per exec, the median of\n"
"100 execs each, 30 with --quick; --repeat does not apply).\n"
"\n"
"The table shows ns per operation; 'ratio' is qaio's median over the row's\n"
"(qaio/PEER) or a row over its own baseline (n10000/n1, p10000/p10), and\n"
"'target' the project's goal for that ratio, judged on this run.  A ratio\n"
"between cases measured together is the median of per-round quotients.\n"
"\n"
"environment: libqaio's knobs (lib/support/knobs.def), set for the whole\n"
"run, apply to every suite; the fd suite sets QAIO_FDMON per case and\n"
"restores it.\n");
    print_knobs(out);
}

static const bench_suite *find_suite(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(bench_suites); i++) {
        if (strcmp(bench_suites[i]->name, name) == 0) {
            return bench_suites[i];
        }
    }
    return NULL;
}

/* Mark the suites named in a comma-separated list; false on an unknown one. */
static bool select_suites(const char *list, bool *chosen)
{
    char **names = g_strsplit(list, ",", -1);
    bool ok = true;

    for (char **n = names; *n; n++) {
        const bench_suite *s;

        g_strstrip(*n);
        if (!**n) {
            continue;
        }
        s = find_suite(*n);
        if (!s) {
            fprintf(stderr, "qaio-bench: unknown suite '%s'\n", *n);
            ok = false;
            continue;
        }
        for (size_t i = 0; i < ARRAY_SIZE(bench_suites); i++) {
            if (bench_suites[i] == s) {
                chosen[i] = true;
            }
        }
    }
    g_strfreev(names);
    return ok;
}

#ifdef _WIN32
static void raise_fd_limit(void)
{
    /* no fd suite, and no such limit */
}
#else
static void raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            fprintf(stderr, "qaio-bench: cannot raise the open-file limit: "
                    "%s\n", strerror(errno));
        }
    }
}
#endif

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "json", no_argument, NULL, 'j' },
        { "suite", required_argument, NULL, 's' },
        { "repeat", required_argument, NULL, 'r' },
        { "quick", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
#ifndef _WIN32
        { "io-path", required_argument, NULL, 1000 },
        { "io-size", required_argument, NULL, 1001 },
        { "io-direct", required_argument, NULL, 1002 },
#endif
        { NULL, 0, NULL, 0 },
    };
    bool chosen[ARRAY_SIZE(bench_suites)] = { false };
    bool any_chosen = false;
    int repeat = 0;
    int opt;

    while ((opt = getopt_long(argc, argv, "js:r:qh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'j':
            bench_opt.json = true;
            break;
        case 's':
            if (!select_suites(optarg, chosen)) {
                usage(stderr);
                return 2;
            }
            any_chosen = true;
            break;
        case 'r': {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || n < 1 || n > 1000) {
                fprintf(stderr, "qaio-bench: --repeat wants 1..1000, not "
                        "'%s'\n", optarg);
                return 2;
            }
            repeat = n;
            break;
        }
        case 'q':
            bench_opt.quick = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
#ifndef _WIN32
        case 1000:
            bench_io_path = optarg;
            break;
        case 1001: {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || n < 1 || n > (1L << 20)) {
                fprintf(stderr, "qaio-bench: --io-size wants MiB, not '%s'\n",
                        optarg);
                return 2;
            }
            bench_io_size_mib = n;
            break;
        }
        case 1002:
            if (strcmp(optarg, "yes") && strcmp(optarg, "no")) {
                fprintf(stderr, "qaio-bench: --io-direct wants yes or no\n");
                return 2;
            }
            bench_io_direct = strcmp(optarg, "yes") == 0;
            break;
#endif
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "qaio-bench: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (bench_opt.quick) {
        bench_opt.repeats = 3;
        bench_opt.repeat_seconds = 0.05;
    }
    if (repeat) {
        bench_opt.repeats = repeat;
    }

    raise_fd_limit();
    bench_init();
    for (size_t i = 0; i < ARRAY_SIZE(bench_suites); i++) {
        if (!any_chosen || chosen[i]) {
            bench_suites[i]->run();
        }
    }
    bench_report(argc, argv);
    return 0;
}
