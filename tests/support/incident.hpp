// The incident's Corefile (issue 4, DESIGN.md §4), the one place tests spell it: hosts with a
// bare fallthrough in front of an unscoped `forward .`, next to kubeadm's kubernetes block.
#pragma once

#include <string>

namespace moat::testing {

struct Incident {
  std::string key = ".:53";      // the server block's key
  std::string bind;              // a `bind` address line when not empty (tests: 127.0.0.1)
  std::string health = "health";  // the health line as written
  std::string hostsPath = "/etc/coredns/custom.hosts";
  std::string forwardTo = "/etc/resolv.conf";
  std::string extra;  // lines added at the end of the block (e.g. "    private internal.company\n")
};

// Without `bind`, the forward line is line 13, as in the issue.
inline std::string incidentCorefile(const Incident& i) {
  return i.key + " {\n" + (i.bind.empty() ? "" : "    bind " + i.bind + "\n") +
         "    errors\n"
         "    " + i.health + "\n"
         "    kubernetes cluster.local in-addr.arpa ip6.arpa {\n"
         "        pods insecure\n"
         "        upstream 1.1.1.1 8.8.8.8\n"
         "        fallthrough in-addr.arpa ip6.arpa\n"
         "    }\n"
         "    hosts " + i.hostsPath + " {\n"
         "        reload 30s\n"
         "        fallthrough\n"
         "    }\n"
         "    forward . " + i.forwardTo + "\n" + i.extra + "}\n";
}

}  // namespace moat::testing
