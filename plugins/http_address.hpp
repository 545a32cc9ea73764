// The `[ADDR]` argument that health, ready and prometheus share: at most one host:port
// argument (":8080", "localhost:9153", "[::1]:8181"), else the plugin's default.
#pragma once

#include <string>
#include <string_view>

#include "conf/ast.hpp"
#include "conf/diag.hpp"

namespace moat::plugins {

conf::Result<std::string> httpAddress(const conf::Directive& stanza, std::string_view plugin,
                                      std::string_view defaultAddress);

}  // namespace moat::plugins
