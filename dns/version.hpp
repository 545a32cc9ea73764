// The product's version, in the lowest layer so that every part can name it: `-version` prints
// it, and the `chaos` plugin answers it to `version.bind`.
#pragma once

#include <string>
#include <string_view>

namespace moat {

inline constexpr std::string_view kVersion = "0.1.0";

// "Moat-0.1.0": how CoreDNS writes its own ("CoreDNS-1.14.0").
inline std::string versionLine() { return "Moat-" + std::string(kVersion); }

}  // namespace moat
