/* SPDX-License-Identifier: MIT */
/*
 * What the fcontext backend's x86-64 assembly (switch_x86_64.S) and the C++
 * side agree on: which sanitizer the build uses, whether the assembly entry
 * points are the ones built, and the offsets of the fields the assembly
 * reads.  Macros only, so that the assembler's preprocessor can read it;
 * switch_fcontext.cc checks each offset against the C++ layout.
 */
#ifndef QAIO_LIB_COROUTINE_SWITCH_ASM_H
#define QAIO_LIB_COROUTINE_SWITCH_ASM_H

#include "lib/support/sanitizer.hh"

/* The assembly entry points need no annotation around the jump (the
 * sanitizers do) and return by pop-and-jump, which a CET shadow stack
 * forbids; and they are ELF, System V ABI code, not Windows'.
 * -DQAIO_SWITCH_GENERIC in CPPFLAGS builds the C++ entry points instead, to
 * measure what the assembly gains. */
#if defined(__x86_64__) && !defined(_WIN32) && !defined(QAIO_ASAN) && !defined(QAIO_TSAN) && \
    !defined(__CET__) && !defined(QAIO_SWITCH_GENERIC)
#define QAIO_SWITCH_ASM 1
#endif

/* coroutine::sw_.fctx_, the suspended context of a coroutine. */
#define QAIO_CO_FCTX 88
/* Coroutine::caller and Coroutine::co_queue_wakeup's first element. */
#define QAIO_CO_CALLER 16
#define QAIO_CO_WAKEUP 64
/* detail::thread_state::current_. */
#define QAIO_TS_CURRENT 192
/* enter_frame: its size and the fields the enter loop reads. */
#define QAIO_FRAME_SIZE 32
#define QAIO_FRAME_SELF 0
#define QAIO_FRAME_TO 16
#define QAIO_FRAME_PENDING 24

#endif
