#pragma once

#include <string>

#include "dns/version.hpp"

namespace moat::app {

using moat::versionLine;

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
