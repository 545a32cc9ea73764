// The `minimal` plugin, as CoreDNS's: a successful reply (NOERROR, not NODATA and not a
// delegation) leaves with its answer section only; authority and additional records are
// removed, except the OPT that echoes the client's EDNS. Negative, error and referral replies
// pass whole. Works on the reply's bytes in place: nothing is allocated per query.
#pragma once

#include <cstdint>
#include <ctime>
#include <vector>

#include "conf/diag.hpp"
#include "plugins/handler.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::minimal {

// What the reply is, in the terms of CoreDNS's response.Typify, as far as minimal cares.
enum class Kind : uint8_t {
  Success,     // NOERROR that is not NODATA nor a delegation: minimised
  Denial,      // NXDOMAIN or NODATA
  Error,       // SERVFAIL, NOTIMP, other rcodes, NXDOMAIN with answers, expired signatures
  Delegation,  // NOERROR, no answer, NS records in authority
  Meta,        // zone transfers, NOTIFY and UPDATE
  Malformed,   // its records do not walk: left alone
};

// Pure: classifies `reply` and, when it is a success, cuts authority and additional away,
// keeping the first OPT. `now` is the Unix time RRSIG validity is judged at (only with DO set,
// as CoreDNS). Returns the kind and, through `removed`, how many records went.
Kind minimize(std::vector<uint8_t>& reply, std::time_t now, unsigned& removed);

class MinimalHandler final : public Handler {
 public:
  Verdict onQuery(dns::Query&) override { return Verdict::Next; }
  void onReply(dns::Query& q) override;
  bool observesReplies() const override { return true; }
  std::string_view name() const override { return "minimal"; }
};

// `minimal` takes no arguments and no block.
conf::Result<HandlerPtr> setupMinimal(const SetupContext& ctx);

}  // namespace moat::plugins::minimal
