/* SPDX-License-Identifier: MIT */
/*
 * Suite "startup": what libqaio adds to the start of a short-lived process
 * that takes a CoMutex, as QEMU's tools do (qemu-img info runs in 2-4 ms).
 * It execs bench/startup_probe (built beside qaio-bench, not installed):
 * one idle thread, an AioContext, one coroutine that locks and unlocks a
 * CoMutex once, exit.  Three subjects, one exec of each in turn per round
 * so that drift of the machine hits them alike: the probe with
 * QAIO_COMUTEX_BIAS unset (biased CoMutexes), the probe with
 * QAIO_COMUTEX_BIAS=0 (QEMU's atomic CoMutex, no membarrier),
 * and the probe without any CoMutex ("none").  Each figure is the median
 * wall time of an exec, from posix_spawn to the end of waitpid; ratios are
 * medians of per-round quotients.  Target: at most 1.1x the probe without
 * a CoMutex (a membarrier registration on the way of the first lock cost
 * an RCU grace period, milliseconds, once the process had a thread).
 */
#include "config.h"

#include "bench.h"

#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

enum { STARTUP_SUBJECTS = 3, STARTUP_WARMUP = 5 };

typedef struct startup_subject {
    const char *name;       /* result subject */
    const char *mode;       /* the probe's argument */
    const char *bias;       /* QAIO_COMUTEX_BIAS for the probe; NULL: unset */
    char **envp;
    double *samples;        /* ns per exec, in round order */
} startup_subject;

/* environ without QAIO_COMUTEX_BIAS, plus `bias` when given. */
static char **startup_env(const char *bias)
{
    GPtrArray *env = g_ptr_array_new();

    for (char **e = environ; *e; e++) {
        if (!g_str_has_prefix(*e, "QAIO_COMUTEX_BIAS=")) {
            g_ptr_array_add(env, g_strdup(*e));
        }
    }
    if (bias) {
        g_ptr_array_add(env, g_strdup_printf("QAIO_COMUTEX_BIAS=%s", bias));
    }
    g_ptr_array_add(env, NULL);
    return (char **)g_ptr_array_free(env, FALSE);
}

/* Wall time of one exec of the probe in ns, or -1 with a reason in `why`. */
static double startup_exec(const char *probe, startup_subject *s, char *why,
                           size_t whylen)
{
    char *argv[] = { (char *)probe, (char *)s->mode, NULL };
    uint64_t t0 = bench_now_ns();
    pid_t pid;
    int status;
    int err = posix_spawn(&pid, probe, NULL, NULL, argv, s->envp);

    if (err) {
        snprintf(why, whylen, "cannot run %s: %s", probe, strerror(err));
        return -1;
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            snprintf(why, whylen, "waitpid: %s", strerror(errno));
            return -1;
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(why, whylen, "%s %s failed (status %#x)", probe, s->mode, status);
        return -1;
    }
    return (double)(bench_now_ns() - t0);
}

static void startup_run(void)
{
    static const char case_name[] = "exec: thread, context, CoMutex";
    startup_subject subj[STARTUP_SUBJECTS] = {
        { .name = "qaio", .mode = "lock" },
        { .name = "qaio-bias0", .mode = "lock", .bias = "0" },
        { .name = "no-comutex", .mode = "none" },
    };
    const char *probe = QAIO_BENCH_STARTUP_PROBE;
    int rounds = bench_opt.quick ? 30 : 100;
    char why[256] = "";
    bool ok = true;

    for (int i = 0; i < STARTUP_SUBJECTS; i++) {
        subj[i].envp = startup_env(subj[i].bias);
        subj[i].samples = g_new0(double, rounds);
    }
    /* Page cache and dynamic linker warm; not counted. */
    for (int w = 0; ok && w < STARTUP_WARMUP; w++) {
        for (int i = 0; ok && i < STARTUP_SUBJECTS; i++) {
            ok = startup_exec(probe, &subj[i], why, sizeof(why)) >= 0;
        }
    }
    for (int r = 0; ok && r < rounds; r++) {
        bench_progress("startup", case_name, 1, 1, r + 1, rounds);
        bench_alive("[startup] exec of the probe");
        for (int i = 0; ok && i < STARTUP_SUBJECTS; i++) {
            subj[i].samples[r] = startup_exec(probe, &subj[i], why, sizeof(why));
            ok = subj[i].samples[r] >= 0;
        }
    }

    if (!ok) {
        bench_result *r = bench_record("startup", case_name, "qaio", NULL);
        bench_set_target(r, "≤1.1x no-comutex", 1.1, -1);
        bench_note("startup", "not measured: %s", why);
    } else {
        bench_stats st[STARTUP_SUBJECTS];
        bench_result *row[STARTUP_SUBJECTS];

        for (int i = 0; i < STARTUP_SUBJECTS; i++) {
            st[i] = (bench_stats){ .iters = 1 };
            bench_stats_set_samples(&st[i], subj[i].samples, rounds);
            row[i] = bench_record("startup", case_name, subj[i].name, &st[i]);
            g_strlcpy(row[i]->metric, "ns/exec", sizeof(row[i]->metric));
        }
        double vs_none = bench_paired_ratio(&st[0], &st[2]);
        bench_add_ratio(row[0], "qaio/no-comutex", vs_none);
        bench_add_ratio(row[0], "qaio/qaio-bias0", bench_paired_ratio(&st[0], &st[1]));
        bench_set_target(row[0], "≤1.1x no-comutex", 1.1, vs_none);
        bench_add_ratio(row[1], "qaio-bias0/no-comutex", bench_paired_ratio(&st[1], &st[2]));
        bench_result_note(row[0], "median of %d execs each, interleaved; min %.2f ms, "
                          "max %.2f ms", rounds, st[0].min_ns / 1e6, st[0].max_ns / 1e6);
        bench_result_note(row[1], "QAIO_COMUTEX_BIAS=0: QEMU's atomic CoMutex");
        bench_result_note(row[2], "the probe without a CoMutex (an empty coroutine)");
    }
    for (int i = 0; i < STARTUP_SUBJECTS; i++) {
        g_strfreev(subj[i].envp);
        g_free(subj[i].samples);
    }
}

const bench_suite bench_suite_startup = {
    .name = "startup",
    .summary = "exec of a small program that locks one CoMutex, vs none (~2 s)",
    .run = startup_run,
};
