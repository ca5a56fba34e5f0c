// SPDX-License-Identifier: MIT
// The support runtime's Error API and error_report family, for standalone
// programs linking libqaio (inside a QEMU tree, QEMU's util/error.c and
// util/error-report.c serve instead, so these live only in libqaio, never in
// libqaio-core.a).  Behaviour follows QEMU's: an Error is a heap message plus
// where it was raised; passing &error_abort makes raising it abort with that
// location, &error_fatal makes it print and exit(1), NULL discards it, and a
// caller's errno survives error_setg*.
#include "qapi/error.h"
#include "qemu/error-report.h"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#define QAIO_RUNTIME_EXPORT extern "C" __attribute__((visibility("default")))

struct Error {
    char *msg;
    int err_class;
    const char *src, *func;
    int line;
};

// Only their addresses matter: they are sentinels for "abort" and "exit".
// (The braces make these definitions; a bare extern "C" would declare.)
extern "C" {
__attribute__((visibility("default"))) Error *error_abort;
__attribute__((visibility("default"))) Error *error_fatal;
}

namespace qaio::support {
namespace {

// QEMU's ERROR_CLASS_GENERIC_ERROR; the only class error_setg* produce.
constexpr int generic_error_class = 0;

void vreport(const char *prefix, const char *fmt, va_list ap) noexcept
{
    std::fputs(prefix, stderr);
    std::vfprintf(stderr, fmt, ap);
    std::fputc('\n', stderr);
}

void report(const char *fmt, ...) noexcept __attribute__((format(printf, 1, 2)));
void report(const char *fmt, ...) noexcept
{
    va_list ap;
    va_start(ap, fmt);
    vreport("", fmt, ap);
    va_end(ap);
}

void destroy(Error *err) noexcept
{
    if (err) {
        g_free(err->msg);
        g_free(err);
    }
}

// Deliver a freshly made error to errp: the two sentinels end the program,
// anything else stores it.  errp is never NULL here.
void deliver(Error **errp, Error *err) noexcept
{
    if (errp == &error_abort) {
        std::fprintf(stderr, "Unexpected error in %s() at %s:%d:\n",
                     err->func, err->src, err->line);
        report("%s", err->msg);
        std::abort();
    }
    if (errp == &error_fatal) {
        report("%s", err->msg);
        destroy(err);
        std::exit(1);
    }
    if (*errp) {
        // QEMU asserts here: setting an error twice loses the first one.
        std::fprintf(stderr, "error_setg: an error is already set (%s); "
                     "new error at %s:%d: %s\n",
                     (*errp)->msg, err->src, err->line, err->msg);
        std::abort();
    }
    *errp = err;
}

void vset(Error **errp, const char *src, int line, const char *func,
          int os_error, const char *fmt, va_list ap) noexcept
{
    if (!errp) {
        return;
    }
    int saved_errno = errno;
    Error *err = g_new0(Error, 1);
    err->msg = g_strdup_vprintf(fmt, ap);
    if (os_error) {
        char *with_reason = g_strdup_printf("%s: %s", err->msg,
                                            std::strerror(os_error));
        g_free(err->msg);
        err->msg = with_reason;
    }
    err->err_class = generic_error_class;
    err->src = src;
    err->func = func;
    err->line = line;
    deliver(errp, err);
    errno = saved_errno;
}

} // namespace
} // namespace qaio::support

namespace sup = qaio::support;

QAIO_RUNTIME_EXPORT
void error_setg_internal(Error **errp, const char *src, int line,
                         const char *func, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sup::vset(errp, src, line, func, 0, fmt, ap);
    va_end(ap);
}

QAIO_RUNTIME_EXPORT
void error_setg_errno_internal(Error **errp, const char *fname, int line,
                               const char *func, int os_error,
                               const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sup::vset(errp, fname, line, func, os_error, fmt, ap);
    va_end(ap);
}

QAIO_RUNTIME_EXPORT
void error_propagate(Error **dst_errp, Error *local_err)
{
    if (!local_err) {
        return;
    }
    if (dst_errp == &error_abort || dst_errp == &error_fatal) {
        sup::deliver(dst_errp, local_err);
        return;
    }
    if (!dst_errp || *dst_errp) {
        // Nobody wants it, or the first error wins.
        sup::destroy(local_err);
        return;
    }
    *dst_errp = local_err;
}

QAIO_RUNTIME_EXPORT
const char *error_get_pretty(const Error *err)
{
    return err->msg;
}

QAIO_RUNTIME_EXPORT
void error_free(Error *err)
{
    sup::destroy(err);
}

QAIO_RUNTIME_EXPORT
void error_report_err(Error *err)
{
    sup::report("%s", err->msg);
    sup::destroy(err);
}

QAIO_RUNTIME_EXPORT
void error_report(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sup::vreport("", fmt, ap);
    va_end(ap);
}

QAIO_RUNTIME_EXPORT
void warn_report(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sup::vreport("warning: ", fmt, ap);
    va_end(ap);
}
