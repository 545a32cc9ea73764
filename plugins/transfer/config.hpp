// The `transfer` directive as CoreDNS reads it: one stanza per `transfer` line, each naming its
// zones (the block's when none), who may transfer them (`to`) and where NOTIFYs come from
// (`source`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "conf/diag.hpp"
#include "dns/query.hpp"
#include "dns/zone_set.hpp"
#include "plugins/cidr.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::transfer {

// One `to` address: who may transfer, and where NOTIFYs go (port 53 unless written).
struct Destination {
  std::string host;  // the address as written, without brackets or port ("2001:db8::1")
  IpKey address;
  uint16_t port = 53;
  std::string text() const;  // "192.0.2.1:53", "[2001:db8::1]:5300": for logs
};

struct Stanza {
  conf::Pos pos;
  std::vector<std::string> zones;  // normalised ("example.org.")
  dns::ZoneSet zoneSet;            // the same, for matching a question
  std::vector<Destination> to;     // every address written (not `*`)
  bool anyone = false;             // `to *`
  std::optional<std::string> source;  // `source ADDRESS`: NOTIFYs leave from it

  // Whether the client's address is listed (ports do not matter here, as in CoreDNS).
  bool allows(const dns::Endpoint& client) const;
};

struct TransferConfig {
  std::vector<Stanza> stanzas;

  // The stanza with the longest zone that `lowerName` equals or lies below (CoreDNS's
  // longestMatch: of stanzas naming the same zone, the first); null when none covers it.
  const Stanza* match(std::span<const uint8_t> lowerName) const;
};

// Every `transfer` stanza of the block; errors carry file:line:col.
conf::Result<TransferConfig> parseTransfer(const SetupContext& ctx);

}  // namespace moat::plugins::transfer
