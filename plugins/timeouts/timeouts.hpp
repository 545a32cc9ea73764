// `timeouts { read D; write D; idle D; maxtcpqueries N }`: the TCP limits of a server block's
// listeners, as CoreDNS's timeouts. It configures listeners and has no handler; the runtime
// reads the result with parseTimeouts() and applies it to every listener the block uses.
#pragma once

#include <chrono>
#include <optional>
#include <vector>

#include "conf/diag.hpp"
#include "dns/server/tcp.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::timeouts {

// What one block asked for; an option it did not write stays unset.
struct Timeouts {
  std::optional<std::chrono::milliseconds> read, write, idle;
  std::optional<unsigned> maxTcpQueries;  // 0: unlimited (`-1` in the Corefile)

  bool any() const { return read || write || idle || maxTcpQueries; }
};

conf::Result<Timeouts> parseTimeouts(const std::vector<const conf::Directive*>& stanzas);

// The options a block set, over `limits`. Several blocks sharing a listener apply in Corefile
// order, so the last one that sets an option wins, as in CoreDNS.
void applyTo(const Timeouts& t, dns::server::TcpLimits& limits);

// Validates the stanzas and returns no handler.
conf::Result<HandlerPtr> setupTimeouts(const SetupContext& ctx);

}  // namespace moat::plugins::timeouts
