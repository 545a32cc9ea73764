// The `whoami` plugin, as CoreDNS's: every query it sees gets an authoritative NOERROR with an
// empty answer and, in the additional section, the client's address (A or AAAA, owned by the
// qname) and an SRV `_udp.<qname>` / `_tcp.<qname>` carrying the client's port. TTLs are 0, the
// class is the query's, the qname keeps the client's spelling.
#pragma once

#include "conf/diag.hpp"
#include "plugins/handler.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::whoami {

class WhoamiHandler final : public Handler {
 public:
  Verdict onQuery(dns::Query& q) override;
  std::string_view name() const override { return "whoami"; }
};

// `whoami` takes no arguments and no block.
conf::Result<HandlerPtr> setupWhoami(const SetupContext& ctx);

}  // namespace moat::plugins::whoami
