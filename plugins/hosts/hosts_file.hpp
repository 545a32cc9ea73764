// The hosts(5) text format as CoreDNS reads it, and the address forms the index is keyed by.
// Everything here runs at load time except addressFromReverse, which runs per PTR query and
// therefore works on the wire name in place.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "dns/name.hpp"
#include "dns/zone_set.hpp"

namespace moat::plugins::hosts {

// An address as the index keys it: 4 bytes for IPv4 (an IPv4-mapped IPv6 address is folded to
// its IPv4 form, as Go's To4 does), 16 bytes for any other IPv6 address.
struct Address {
  std::array<uint8_t, 16> bytes{};
  uint8_t len = 0;

  bool isV4() const { return len == 4; }
  std::span<const uint8_t> view() const { return {bytes.data(), len}; }
  std::string_view key() const { return {reinterpret_cast<const char*>(bytes.data()), len}; }
};

// "10.0.0.1", "fe80::1%eth0" (the zone is dropped), "::ffff:10.0.0.1" (becomes IPv4).
std::optional<Address> parseAddress(std::string_view text);

// The address a reverse name stands for: exactly four decimal labels under in-addr.arpa. or
// 32 hex nibbles under ip6.arpa. `lowerName` is a lowercased uncompressed wire name.
std::optional<Address> addressFromReverse(std::span<const uint8_t> lowerName);

struct HostsEntry {
  Address address;
  dns::WireName name;     // lowercased wire name; a wildcard keeps its leading "*" label
  bool wildcard = false;  // owner began with "*.": matches exactly one label in its place
};

// Reads hosts-file text: `#` comments, `IP name [aliases...]`, lines with fewer than two
// fields or an unparsable address skipped, names lowercased and made absolute. Names that are
// not valid domain names or lie outside `zones` are dropped. Order is preserved.
std::vector<HostsEntry> parseHostsText(std::string_view text, const dns::ZoneSet& zones);

}  // namespace moat::plugins::hosts
