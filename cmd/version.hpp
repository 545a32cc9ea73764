#pragma once

#include <string>

namespace moat::app {

constexpr const char* kVersion = "0.1.0";

inline std::string versionLine() { return std::string("Moat-") + kVersion; }
inline std::string platformLine() {
  return std::string("linux/") +
#if defined(__x86_64__)
         "amd64"
#elif defined(__aarch64__)
         "arm64"
#else
         "unknown"
#endif
#if defined(__clang__)
         + ", " + __VERSION__;  // "Debian Clang 14.0.6"
#else
         + ", gcc " + __VERSION__;
#endif
}

}  // namespace moat::app
