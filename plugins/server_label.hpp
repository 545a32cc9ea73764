// The `server` label CoreDNS puts on a block's series: "dns://:53", "dns://127.0.0.1:1053",
// "tls://:853".
#pragma once

#include <string>

#include "plugins/plugin.hpp"

namespace moat::plugins {

// From the block's first key's port (53 when it names none; -dns.port is not visible to
// plugins) and its first `bind` address (an interface's first address for `bind IFACE`).
std::string serverLabel(const SetupContext& ctx);

}  // namespace moat::plugins
