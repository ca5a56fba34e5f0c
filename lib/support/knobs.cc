// SPDX-License-Identifier: MIT
// QAIO_* environment knobs (see knobs.hh).
#include "lib/support/knobs.hh"
#include "lib/support/fatal.hh"

#include <cerrno>
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
    QAIO_CHECK(errno == 0 && *end == '\0' && n >= 0,
               "%s='%s' is not a non-negative integer", name, v);
    return n;
}

bool knob_flag(const char *name) noexcept
{
    const char *v = knob(name);
    return v && !(v[0] == '0' && v[1] == '\0');
}

} // namespace qaio::support
