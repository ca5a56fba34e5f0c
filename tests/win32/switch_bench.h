/*
 * The timing loop shared by the two switch ping-pongs.  always_inline, so
 * that the round function is a direct, inlinable call and the figure is
 * the switch alone.
 */
#ifndef QAIO_TESTS_WIN32_SWITCH_BENCH_H
#define QAIO_TESTS_WIN32_SWITCH_BENCH_H

#include <windows.h>
#include <stdio.h>

#define BURSTS 10

/*
 * The machine may be shared: time bursts and keep the fastest, which a
 * preemption can only slow down, never speed up.  One round is two switches.
 */
static inline __attribute__((always_inline)) void
time_switches(const char *label, long rounds, void (*one_round)(void))
{
    LARGE_INTEGER freq, start, end;
    double best = 1e30, total = 0;

    for (long i = 0; i < 1000; i++) {   /* fault the stacks in */
        one_round();
    }
    QueryPerformanceFrequency(&freq);
    for (int burst = 0; burst < BURSTS; burst++) {
        QueryPerformanceCounter(&start);
        for (long i = 0; i < rounds; i++) {
            one_round();
        }
        QueryPerformanceCounter(&end);
        double ns = (double)(end.QuadPart - start.QuadPart) * 1e9 / (double)freq.QuadPart;
        total += ns;
        best = ns < best ? ns : best;
    }
    printf("%s %.1f ns/switch best burst, %.1f mean (%d bursts of %ld switches)\n", label,
           best / (2.0 * rounds), total / (2.0 * rounds * BURSTS), BURSTS, 2 * rounds);
}

#endif
