// SPDX-License-Identifier: MIT
#include "lib/support/fatal.hh"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

namespace qaio::support {

void fatal(const char *file, int line, const char *func, const char *fmt, ...) noexcept
{
    std::fprintf(stderr, "qaio: %s:%d: %s: ", file, line, func);
    va_list ap;
    va_start(ap, fmt);
    std::vfprintf(stderr, fmt, ap);
    va_end(ap);
    std::fputc('\n', stderr);
    std::fflush(stderr);
    std::abort();
}

} // namespace qaio::support
