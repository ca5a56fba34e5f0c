/* SPDX-License-Identifier: MIT */
/*
 * What switch_x86_64.S and the C++ side agree on: whether the assembly is
 * built, and the field offsets it reads (macros for the assembler;
 * switch_fcontext.cc checks them).
 */
#ifndef QAIO_LIB_COROUTINE_SWITCH_ASM_H
#define QAIO_LIB_COROUTINE_SWITCH_ASM_H

#include "lib/support/sanitizer.hh"

/* No sanitizer annotations, no CET, System V only.  -DQAIO_SWITCH_GENERIC
 * builds the C++ entry points, to measure what the assembly gains. */
#if defined(__x86_64__) && !defined(_WIN32) && !defined(QAIO_ASAN) && !defined(QAIO_TSAN) && \
    !defined(__CET__) && !defined(QAIO_SWITCH_GENERIC)
#define QAIO_SWITCH_ASM 1
#endif

#define QAIO_CO_FCTX 88     /* coroutine::sw_.fctx_ */
#define QAIO_CO_CALLER 16   /* Coroutine::caller */
#define QAIO_CO_WAKEUP 64   /* Coroutine::co_queue_wakeup.sqh_first */
#define QAIO_TS_CURRENT 192 /* detail::thread_state::current_ */
#define QAIO_FRAME_SIZE 32
#define QAIO_FRAME_SELF 0
#define QAIO_FRAME_TO 16
#define QAIO_FRAME_PENDING 24

#endif
