// SPDX-License-Identifier: MIT
// The one conversion of a failed setup into an Error: lib/ reports the errno
// and what failed, the C layer turns that into *errp.
#pragma once

#include "qapi/error.h"

namespace qaio::cabi {

// *errp becomes "what: strerror(err)".  The defaults record the caller's
// function and line, as error_setg_errno() written there would (they show
// with &error_abort).
inline void set_init_error(Error **errp, int err, const char *what,
                           const char *func = __builtin_FUNCTION(),
                           const char *file = __builtin_FILE(),
                           int line = __builtin_LINE()) noexcept
{
    error_setg_errno_internal(errp, file, line, func, err, "%s", what);
}

} // namespace qaio::cabi
