// SPDX-License-Identifier: MIT
// The Error API and error_report family for standalone programs (libqaio
// only; a QEMU tree brings its own), with QEMU's behaviour: &error_abort
// aborts with the location, &error_fatal exits, NULL discards, errno is kept.
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
    const char *src, *func;
    int line;
};

// Sentinels; the braces make these definitions.
extern "C" {
__attribute__((visibility("default"))) Error *error_abort;
__attribute__((visibility("default"))) Error *error_fatal;
}

namespace qaio::support {
namespace {

void vreport(const char *prefix, const char *fmt, va_list ap) noexcept
{
    std::fputs(prefix, stderr);
    std::vfprintf(stderr, fmt, ap);
    std::fputc('\n', stderr);
}

void destroy(Error *err) noexcept
{
    if (err) {
        g_free(err->msg);
        g_free(err);
    }
}

// errp is never NULL here.
void deliver(Error **errp, Error *err) noexcept
{
    if (errp == &error_abort) {
        std::fprintf(stderr, "Unexpected error in %s() at %s:%d:\n%s\n", err->func,
                     err->src, err->line, err->msg);
        std::abort();
    }
    if (errp == &error_fatal) {
        std::fprintf(stderr, "%s\n", err->msg);
        destroy(err);
        std::exit(1);
    }
    if (*errp) {
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
    char *msg = g_strdup_vprintf(fmt, ap);
    if (os_error) {
        char *with_reason = g_strdup_printf("%s: %s", msg, std::strerror(os_error));
        g_free(msg);
        msg = with_reason;
    }
    Error *err = g_new(Error, 1);
    *err = {msg, src, func, line};
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
    std::fprintf(stderr, "%s\n", err->msg);
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
