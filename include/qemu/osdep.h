/* SPDX-License-Identifier: MIT */
/*
 * The first header every QEMU source includes: system headers, glib, the
 * configuration and the small helpers the public headers rely on.
 */
#ifndef QEMU_OSDEP_H
#define QEMU_OSDEP_H

#include "qaio/config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <inttypes.h>
#include <limits.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <assert.h>
#include <time.h>
#include <sys/types.h>
#ifdef CONFIG_POSIX
#include <unistd.h>
#include <fcntl.h>
#include <sys/time.h>
#include <sys/uio.h>
#else
/* Windows, as QEMU's osdep does it there: Winsock before windows.h, and
 * QEMU's own struct iovec (Windows has none). */
#include <winsock2.h>
#include <windows.h>
#include <sys/time.h>
struct iovec {
    void *iov_base;
    size_t iov_len;
};
#endif
#include <glib.h>

#include "qemu/compiler.h"
#include "qemu/typedefs.h"

#ifndef MIN
#define MIN(a, b) (((a) < (b)) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) (((a) > (b)) ? (a) : (b))
#endif
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(x) (sizeof(x) / sizeof((x)[0]))
#endif
#define QEMU_IS_ALIGNED(n, m) (((n) % (m)) == 0)
#define ROUND_UP(n, d) (((n) + (d) - 1) & -(0 ? (n) : (d)))
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))

#ifndef G_GNUC_PRINTF
#define G_GNUC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#endif

#endif
