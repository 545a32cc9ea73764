// The `health` plugin, as CoreDNS's: `health [ADDR] { lameduck DUR }` serves 200 "OK" on
// ADDR/health (default :8080) for as long as the process runs; it says the process is alive,
// not that plugins are ready (that is `ready`). `lameduck` makes shutdown wait DUR while still
// serving. It has no role on the query path.
#pragma once

#include "conf/diag.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::health {

inline constexpr std::string_view kDefaultAddress = ":8080";
inline constexpr std::string_view kPath = "/health";

// Appends the route to ctx.http and raises *ctx.lameduck to this stanza's lameduck; returns
// no handler.
conf::Result<HandlerPtr> setupHealth(const SetupContext& ctx);

}  // namespace moat::plugins::health
