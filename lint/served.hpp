// Which zones the local plugins of a block (hosts, kubernetes) serve and hand on to the plugins
// after them: what the leak rule checks against the block's forwards. hosts names come from its
// file and inline entries (the zone of `api.internal.company` is `internal.company.`);
// kubernetes names from its zones.
#pragma once

#include <string>
#include <vector>

#include "lint/model.hpp"

namespace moat::lint {

struct PassedZone {
  std::string zone;    // "internal.company." (inside the block's zones)
  std::string plugin;  // "hosts" or "kubernetes"
  // False when the hosts file could not be read: the zone is then hosts' own zone, and which
  // names it holds is unknown.
  bool known = true;
  std::string file;    // hosts: the file that was read (or could not be)
  std::string example; // hosts: one name it holds in the zone ("api.internal.company.")
};

// Zones whose names a local plugin answers and whose misses fall through past hosts and
// kubernetes (towards loop and forward). Reverse zones are left out: a kubernetes block falling
// through for in-addr.arpa/ip6.arpa is how public PTRs reach upstream, and the private reverse
// ranges are built-in private zones anyway.
std::vector<PassedZone> passedOnZones(const Block& block);

// Zones whose names the block's local plugins (hosts entries, kubernetes' forward zones) answer,
// whether or not they fall through: what a split horizon keeps for the clients of one view.
std::vector<PassedZone> servedZones(const Block& block);

// True when `fall` lets names at `zone` through (bare fallthrough, or a fall zone at or above).
bool fallCovers(const plugins::Fall& fall, std::string_view zone);

bool isReverseZone(std::string_view zone);  // in-addr.arpa./ip6.arpa. or below

}  // namespace moat::lint
