/* SPDX-License-Identifier: MIT */
/*
 * Compiler helpers used by the public headers: attributes, stringification and
 * container_of, under the names QEMU's headers use.
 */
#ifndef QEMU_COMPILER_H
#define QEMU_COMPILER_H

#include <stddef.h>

#define QEMU_NORETURN __attribute__((__noreturn__))
#define QEMU_WARN_UNUSED_RESULT __attribute__((warn_unused_result))
#define QEMU_SENTINEL __attribute__((sentinel))
#define QEMU_PACKED __attribute__((packed))
#define QEMU_ALIGNED(x) __attribute__((aligned(x)))
#define QEMU_ALWAYS_INLINE __attribute__((always_inline))

#ifndef likely
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

#define xglue(x, y) x ## y
#define glue(x, y) xglue(x, y)
#define stringify(s) tostring(s)
#define tostring(s) #s

#ifndef container_of
#define container_of(ptr, type, member) ({                      \
        const __typeof__(((type *) 0)->member) *__mptr = (ptr); \
        (type *) ((char *) __mptr - offsetof(type, member));})
#endif

#define typeof_field(type, field) __typeof__(((type *)0)->field)
#define type_check(t1, t2) ((t1 *)0 - (t2 *)0)

/*
 * Marks functions that may only run in coroutine context.  QEMU's static
 * analysers read it; for the compiler it is empty.
 */
#define coroutine_fn
#define coroutine_mixed_fn

#endif
