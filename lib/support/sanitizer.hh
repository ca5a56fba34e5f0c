/* SPDX-License-Identifier: MIT */
/* QAIO_ASAN, QAIO_TSAN (GCC: __SANITIZE_*__, Clang: __has_feature).  The
 * coroutine switch's assembly includes it too. */
#ifndef QAIO_LIB_SUPPORT_SANITIZER_HH
#define QAIO_LIB_SUPPORT_SANITIZER_HH

#if defined(__SANITIZE_ADDRESS__)
#define QAIO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define QAIO_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define QAIO_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define QAIO_TSAN 1
#endif
#endif

#endif
