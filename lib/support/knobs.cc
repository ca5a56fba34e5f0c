// SPDX-License-Identifier: MIT
// QAIO_* environment knobs (see knobs.hh).
#include "lib/support/knobs.hh"
#include "lib/support/fatal.hh"

#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>

namespace qaio::support {

const char *knob(const char *name) noexcept
{
    const char *v = std::getenv(name);
    return (v && *v) ? v : nullptr;
}

std::optional<int64_t> knob_int(const char *name) noexcept
{
    const char *v = knob(name);
    if (!v) {
        return std::nullopt;
    }
    char *end = nullptr;
    errno = 0;
    long long n = std::strtoll(v, &end, 0);
    QAIO_CHECK(errno != ERANGE || n < 0, "%s='%s' is above %lld", name, v, LLONG_MAX);
    QAIO_CHECK(errno == 0 && *end == '\0' && n >= 0,
               "%s='%s' is not a non-negative integer", name, v);
    return n;
}

bool knob_flag(const char *name) noexcept
{
    const char *v = knob(name);
    return v && !(v[0] == '0' && v[1] == '\0');
}

void knob_adjusted(const char *name, const char *fmt, ...) noexcept
{
    const char *v = knob(name);
    char why[256];
    std::va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    // One call, so that the line is not interleaved with other threads'.
    std::fprintf(stderr, "qaio: %s=%s: %s\n", name, v ? v : "", why);
}

} // namespace qaio::support
