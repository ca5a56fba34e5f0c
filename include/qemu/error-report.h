/* SPDX-License-Identifier: MIT */
/* Reporting errors to the user (stderr), QEMU's error_report family. */
#ifndef QEMU_ERROR_REPORT_H
#define QEMU_ERROR_REPORT_H

#include "qemu/osdep.h"

#ifdef __cplusplus
extern "C" {
#endif

void error_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void warn_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

#ifdef __cplusplus
}
#endif

#endif
