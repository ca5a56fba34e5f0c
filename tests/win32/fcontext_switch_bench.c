/*
 * Ping-pong between two Boost.Context fcontexts (Boost's x86-64 Windows
 * assembly, linked from tests/win32/build-boost-fcontext.sh's cache): ns per
 * jump_fcontext.  Standalone, not built by make; see switch-bench.sh.
 */
#include <stdlib.h>
#include "switch_bench.h"

/* Boost.Context's C-linkage switch primitives (boost/context/detail/fcontext.hpp) */
typedef void *fcontext_t;
typedef struct {
    fcontext_t fctx;
    void *data;
} transfer_t;
transfer_t jump_fcontext(fcontext_t const to, void *vp);
fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t));

static fcontext_t peer;

static void bounce_back(transfer_t from)
{
    for (;;) {
        from = jump_fcontext(from.fctx, NULL);
    }
}

static void one_round(void)
{
    peer = jump_fcontext(peer, NULL).fctx;
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 200000;
    size_t stack_size = 1 << 20;

    char *stack = VirtualAlloc(NULL, stack_size, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    if (!stack) {
        fprintf(stderr, "stack allocation failed: %lu\n", GetLastError());
        return 1;
    }
    peer = make_fcontext(stack + stack_size, stack_size, bounce_back);
    time_switches("fcontext", rounds, one_round);
    VirtualFree(stack, 0, MEM_RELEASE);
    return 0;
}
