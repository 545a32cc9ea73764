// The search list of a resolv.conf: what autopath tries, and what the kubernetes plugin appends
// to a pod's search path (CoreDNS reads the host's /etc/resolv.conf for it).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dns/name.hpp"

namespace moat::plugins {

// The `search` domains of a resolv.conf's text as lowercased wire names, in order. As Go's
// resolver (and glibc) read it, the last `search` or `domain` line wins; `#` and `;` start a
// comment. A domain that is not a name is skipped.
std::vector<dns::WireName> resolvSearch(std::string_view text);

// resolvSearch of the host's /etc/resolv.conf; empty when it cannot be read.
std::vector<dns::WireName> hostSearchDomains();

}  // namespace moat::plugins
