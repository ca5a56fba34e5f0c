/*
 * Ping-pong between two Windows fibers, the switch QEMU's coroutine-win32
 * uses: ns per SwitchToFiber.  Standalone, not built by make; see
 * tests/win32/switch-bench.sh.
 */
#include <stdlib.h>
#include "switch_bench.h"

static LPVOID main_fiber, peer_fiber;

static VOID CALLBACK bounce_back(LPVOID unused)
{
    (void)unused;
    for (;;) {
        SwitchToFiber(main_fiber);
    }
}

static void one_round(void)
{
    SwitchToFiber(peer_fiber);
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 200000;

    main_fiber = ConvertThreadToFiber(NULL);
    /* QEMU's Windows coroutines ask for a 1 MiB stack */
    peer_fiber = CreateFiber(1 << 20, bounce_back, NULL);
    if (!main_fiber || !peer_fiber) {
        fprintf(stderr, "fiber creation failed: %lu\n", GetLastError());
        return 1;
    }
    time_switches("fiber", rounds, one_round);
    DeleteFiber(peer_fiber);
    return 0;
}
