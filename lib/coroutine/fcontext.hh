// SPDX-License-Identifier: MIT
// The three fcontext primitives of Boost.Context's assembly, as
// switch_fcontext.cc calls them.  On Linux they come with Boost's header and
// library; the Windows build links Boost's x86-64 Windows assembly alone
// (tests/win32/build-boost-fcontext.sh), without Boost's headers, so the
// declarations of that assembly's C interface are written out here.
#pragma once

#ifdef _WIN32
#include <cstddef>

namespace boost::context::detail {

using fcontext_t = void *;

// What a jump hands to the resumed side: the context that jumped (now
// suspended) and the pointer it passed.
struct transfer_t {
    fcontext_t fctx;
    void *data;
};

extern "C" transfer_t jump_fcontext(fcontext_t const to, void *vp);
extern "C" fcontext_t make_fcontext(void *sp, std::size_t size, void (*fn)(transfer_t));

} // namespace boost::context::detail
#else
// Boost.Context's only header declaring the fcontext primitives; its
// public fiber and continuation classes are built on them and add a
// record and a call per switch.
#include <boost/context/detail/fcontext.hpp>
#endif
