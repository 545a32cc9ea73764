// The `ready` plugin, as CoreDNS's: `ready [ADDR] { monitor until-ready|continuously }` serves
// ADDR/ready (default :8181): 200 "OK" once every plugin that reports readiness (kubernetes) in
// the blocks that load `ready` is ready, else 503 with their sorted, comma-joined names. It has
// no role on the query path.
#pragma once

#include "conf/diag.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::ready {

inline constexpr std::string_view kDefaultAddress = ":8181";
inline constexpr std::string_view kPath = "/ready";

// Appends the route to ctx.http; the route reads ctx.readiness when asked, so handlers the
// runtime adds after setup are seen. Returns no handler.
conf::Result<HandlerPtr> setupReady(const SetupContext& ctx);

// Process-wide: once the program starts shutting down, every /ready answers 503 "Shutting
// down", so load balancers stop sending before health's lameduck ends. CoreDNS closes the ready
// listener instead; a 503 tells a probe the same and keeps the address shared with health
// serving.
void setShuttingDown(bool value);
bool shuttingDown();

}  // namespace moat::plugins::ready
