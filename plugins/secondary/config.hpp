// The `secondary` directives of a server block, read into a typed value:
// `secondary [ZONES...] { transfer from ADDRESS...; fallthrough [ZONES...] }`. Several stanzas in
// one block pull their zones side by side, as in CoreDNS.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "conf/diag.hpp"
#include "dns/query.hpp"
#include "plugins/fall.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::secondary {

// A primary the zone is transferred from: an IP address and port (53 unless written).
struct Primary {
  std::string text;       // "192.0.2.1:53", "[2001:db8::1]:53": for logs
  dns::Endpoint address;  // where SOA queries and transfers go; NOTIFY must come from its IP
};

struct PulledZoneConfig {
  std::string origin;              // "example.org."
  std::vector<Primary> primaries;  // tried in order
  conf::Pos pos;                   // the `secondary` directive
};

struct SecondaryConfig {
  std::vector<PulledZoneConfig> zones;  // one per origin, in the order written
  Fall fall;
};

// "IP" or "IP:port" or "[IPv6]:port"; port 53 when absent. False when `text` is not that.
bool parsePrimary(std::string_view text, Primary& out);

conf::Result<SecondaryConfig> parseSecondary(const SetupContext& ctx);

}  // namespace moat::plugins::secondary
