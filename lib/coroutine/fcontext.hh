// SPDX-License-Identifier: MIT
// Boost.Context's fcontext primitives.  The Windows build links Boost's
// assembly alone (tests/win32/build-boost-fcontext.sh), without headers, so
// the declarations are written out here.
#pragma once

#ifdef _WIN32
#include <cstddef>

namespace boost::context::detail {

using fcontext_t = void *;

struct transfer_t {
    fcontext_t fctx;
    void *data;
};

extern "C" transfer_t jump_fcontext(fcontext_t const to, void *vp);
extern "C" fcontext_t make_fcontext(void *sp, std::size_t size, void (*fn)(transfer_t));

} // namespace boost::context::detail
#else
// The public fiber classes add a record and a call per switch.
#include <boost/context/detail/fcontext.hpp>
#endif
