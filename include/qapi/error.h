/* SPDX-License-Identifier: MIT */
/*
 * QEMU's Error API, as far as this subsystem and its callers use it.  Inside a
 * QEMU tree QEMU's own util/error.c provides these functions; standalone
 * programs get them from libqaio's support runtime.
 */
#ifndef QAPI_ERROR_H
#define QAPI_ERROR_H

#include "qemu/osdep.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Pass &error_abort to abort on error, &error_fatal to exit(1). */
extern Error *error_abort;
extern Error *error_fatal;

void error_setg_internal(Error **errp, const char *src, int line,
                         const char *func, const char *fmt, ...)
    G_GNUC_PRINTF(5, 6);
void error_setg_errno_internal(Error **errp, const char *fname, int line,
                               const char *func, int os_error,
                               const char *fmt, ...)
    G_GNUC_PRINTF(6, 7);
void error_propagate(Error **dst_errp, Error *local_err);
const char *error_get_pretty(const Error *err);
void error_free(Error *err);
void error_report_err(Error *err);

#define error_setg(errp, fmt, ...) \
    error_setg_internal((errp), __FILE__, __LINE__, __func__, (fmt), ## __VA_ARGS__)
#define error_setg_errno(errp, os_error, fmt, ...) \
    error_setg_errno_internal((errp), __FILE__, __LINE__, __func__, \
                              (os_error), (fmt), ## __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif
