/* SPDX-License-Identifier: MIT */
/*
 * coroutine.hh's enter(), enter_here(), yield() and switch_to() on x86-64
 * System V, around the C++ steps and Boost's jump_fcontext.  Why: after a
 * switch the return-stack predictor holds the left stack's addresses, so
 * each `ret` on the resumed stack mispredicts; these return by pop-and-jump,
 * which the indirect predictor learns.  That breaks a CET shadow stack and
 * skips the sanitizer annotations: those builds use coroutine.cc.
 *
 * Hidden symbols named by coroutine.hh's asm labels.  jump_fcontext saves
 * the callee-saved registers; the stack is 16-byte aligned at every call;
 * nothing read from TLS before a jump is used after it.  The jump's word is
 * the coroutine left | the action (two low bits).
 */
#include "lib/coroutine/switch_asm.h"

#if defined(QAIO_SWITCH_ASM)

#define COROUTINE_YIELD 1
#define COROUTINE_ENTER 3

/* Resumed: rax = the jumper's handle, saved in the coroutine it left (rdx). */
.macro STORE_LEFT_HANDLE
    mov     %rdx, %rcx
    and     $-4, %rcx
    mov     %rax, QAIO_CO_FCTX(%rcx)
.endm

/* Back to the caller without a `ret`. */
.macro RETURN_BY_JUMP frame
    add     $\frame, %rsp
    .cfi_adjust_cfa_offset -\frame
    pop     %rcx
    .cfi_adjust_cfa_offset -8
    jmp     *%rcx
.endm

.macro ENTRY name
    .p2align 4
    .globl  \name
    .hidden \name
    .type   \name, @function
\name:
    .cfi_startproc
.endm

.macro END name
    .cfi_endproc
    .size   \name, .-\name
.endm

    .text

/*
 * enter(ctx = rdi, co = rsi), enter_here(co = rdi): enter_start[_here]()
 * fills the enter_frame and returns whom to enter; after each switch back,
 * enter_resumed() returns the next, or null.  Frame (CFA at rsp + 48):
 *
 *     rsp + 40   return address
 *     rsp + 32   padding (alignment)
 *     rsp + 24   enter_frame.pending_
 *     rsp + 16   enter_frame.to_
 *     rsp +  8   enter_frame.ctx_
 *     rsp +  0   enter_frame.self_
 */
ENTRY qaio.coroutine.enter_here
    sub     $40, %rsp
    .cfi_adjust_cfa_offset 40
    mov     %rsp, %rsi
    call    qaio.coroutine.enter_start_here   /* rax = coroutine to enter */
    jmp     .Lenter_loop
END qaio.coroutine.enter_here

ENTRY qaio.coroutine.enter
    sub     $40, %rsp
    .cfi_adjust_cfa_offset 40
    mov     %rsp, %rdx
    call    qaio.coroutine.enter_start        /* rax = coroutine to enter */
.Lenter_loop:
    mov     QAIO_CO_FCTX(%rax), %rdi
    mov     QAIO_FRAME_SELF(%rsp), %rsi
    or      $COROUTINE_ENTER, %rsi
    call    *jump_fcontext@GOTPCREL(%rip)
    STORE_LEFT_HANDLE
    mov     %edx, %esi
    and     $3, %esi
    /* A yield that woke nobody, nothing pending: done. */
    cmp     $COROUTINE_YIELD, %esi
    jne     1f
    mov     QAIO_FRAME_TO(%rsp), %rcx
    cmpq    $0, QAIO_CO_WAKEUP(%rcx)
    jne     1f
    cmpq    $0, QAIO_FRAME_PENDING(%rsp)
    je      2f
1:
    mov     %rsp, %rdi
    call    qaio.coroutine.enter_resumed      /* rax = next, or null */
    test    %rax, %rax
    jnz     .Lenter_loop
2:
    RETURN_BY_JUMP 40
END qaio.coroutine.enter

/*
 * yield(): yield_start() inline when the running coroutine has a caller;
 * otherwise the call, which aborts.  Frame while jumping (CFA at rsp + 16):
 *
 *     rsp +  8   return address
 *     rsp +  0   padding (alignment)
 */
ENTRY qaio.coroutine.yield
    mov     qaio.coroutine.tls_thread@gottpoff(%rip), %rax
    mov     %fs:(%rax), %rax                   /* the thread's state */
    test    %rax, %rax
    jz      1f
    mov     QAIO_TS_CURRENT(%rax), %rcx        /* from: the running one */
    test    %rcx, %rcx
    jz      1f
    mov     QAIO_CO_CALLER(%rcx), %rdx         /* to: its caller */
    test    %rdx, %rdx
    jz      1f
    movq    $0, QAIO_CO_CALLER(%rcx)
    mov     %rdx, QAIO_TS_CURRENT(%rax)
    mov     %rcx, %rax
    jmp     2f
1:
    sub     $8, %rsp
    .cfi_adjust_cfa_offset 8
    call    qaio.coroutine.yield_start        /* rax = from, rdx = to */
    add     $8, %rsp
    .cfi_adjust_cfa_offset -8
2:
    sub     $8, %rsp
    .cfi_adjust_cfa_offset 8
    mov     QAIO_CO_FCTX(%rdx), %rdi
    lea     COROUTINE_YIELD(%rax), %rsi
    call    *jump_fcontext@GOTPCREL(%rip)
    STORE_LEFT_HANDLE
    RETURN_BY_JUMP 8
END qaio.coroutine.yield

/*
 * switch_to(from = rdi, to = rsi, action = edx) returns the action `from`
 * is resumed with; switch_start() inline once the thread has its state.
 * Frame (CFA at rsp + 32):
 *
 *     rsp + 24   return address
 *     rsp + 16   from
 *     rsp +  8   to
 *     rsp +  0   action, zero-extended
 */
ENTRY qaio.coroutine.switch_to
    mov     %edx, %edx                         /* an int's upper half is undefined */
    push    %rdi
    .cfi_adjust_cfa_offset 8
    push    %rsi
    .cfi_adjust_cfa_offset 8
    push    %rdx
    .cfi_adjust_cfa_offset 8
    mov     qaio.coroutine.tls_thread@gottpoff(%rip), %rax
    mov     %fs:(%rax), %rax
    test    %rax, %rax
    jz      1f
    mov     %rsi, QAIO_TS_CURRENT(%rax)
    jmp     2f
1:
    mov     %rsi, %rdi
    call    qaio.coroutine.switch_start
    mov     8(%rsp), %rsi
2:
    mov     QAIO_CO_FCTX(%rsi), %rdi
    mov     16(%rsp), %rsi
    or      (%rsp), %rsi                       /* from | action */
    call    *jump_fcontext@GOTPCREL(%rip)
    STORE_LEFT_HANDLE
    mov     %edx, %eax
    and     $3, %eax
    RETURN_BY_JUMP 24
END qaio.coroutine.switch_to

#endif

    .section .note.GNU-stack, "", @progbits
