// The `edns0` rules: EDNS options of the query set, appended, replaced or removed in place in the
// request bytes (the plugins after rewrite, forward included, send those bytes as they are).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "dns/query.hpp"
#include "plugins/rewrite/rewrite.hpp"

namespace moat::plugins::rewrite {

// The OPT CoreDNS gives a query that had none (SetEdns0(4096, false)).
constexpr uint16_t kAddedOptSize = 4096;

// Applies `rule` (Field::Edns0) to q's request; `qname` and `qtype` are the question as the rules
// before it left it (for {qname} and {qtype}). Returns whether the rule fired as CoreDNS counts
// it (RewriteDone): unset always, set always, append unless the option is there and CoreDNS
// leaves it (subnet, a {variable}), replace only when the option is there. A query without EDNS
// is given an OPT first, as CoreDNS does for every edns0 rule.
bool applyEdns0(const Rule& rule, dns::Query& q, std::string_view qname, uint16_t qtype);

// The reply side of the rules that fired with `revert`: their options taken out of the reply's
// OPT (an upstream that echoes a client subnet or answers an NSID).
void revertEdns0(const Rule& rule, std::vector<uint8_t>& reply);

}  // namespace moat::plugins::rewrite
