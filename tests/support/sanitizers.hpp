// Whether this build runs under AddressSanitizer. The tests and the binary they start are
// compiled with the same flags, so this also says what the binary is. GCC says so with
// __SANITIZE_ADDRESS__, clang with __has_feature.
#pragma once

namespace moat::testing {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

}  // namespace moat::testing
