// SPDX-License-Identifier: MIT
// Stops the program on misuse (where QEMU asserts) with file, line,
// function and the culprit.
#pragma once

namespace qaio::support {

[[noreturn]] void fatal(const char *file, int line, const char *func, const char *fmt, ...) noexcept
    __attribute__((format(printf, 4, 5), cold));

} // namespace qaio::support

#define QAIO_FATAL(...) \
    ::qaio::support::fatal(__FILE__, __LINE__, __func__, __VA_ARGS__)

// Checks that stay in release builds: misuse of the API must never corrupt.
#define QAIO_CHECK(cond, ...)                   \
    do {                                        \
        if (__builtin_expect(!(cond), 0)) {     \
            QAIO_FATAL(__VA_ARGS__);            \
        }                                       \
    } while (0)
