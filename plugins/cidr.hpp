// Addresses and CIDR prefixes as the plugins that match clients read them (acl's `net`, the
// `incidr` of view expressions): an address as one number, IPv4 in the low 32 bits, and a CIDR
// as the first and last address it covers, so containment and overlap are comparisons.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "dns/query.hpp"

namespace moat::plugins {

using Uint128 = unsigned __int128;

// An address as the matchers compare it: IPv4 as a 32-bit number in the low bits, IPv6 as 128.
struct IpKey {
  bool v4 = true;
  Uint128 value = 0;
};

// The client's address of a query. An IPv4-mapped IPv6 address (an IPv4 client on a dual-stack
// socket) counts as IPv4, as Go reports it to CoreDNS. nullopt for any other family.
std::optional<IpKey> clientKey(const dns::Endpoint& client);

// An address in text, as Go's net.ParseIP reads it: an IPv4-mapped IPv6 address is IPv4.
std::optional<IpKey> parseAddress(std::string_view text);

// One CIDR: the first and last address it covers.
struct Cidr {
  bool v4 = true;
  Uint128 first = 0;
  Uint128 last = 0;

  bool contains(const IpKey& a) const { return a.v4 == v4 && first <= a.value && a.value <= last; }
  bool covers(const Cidr& o) const { return o.v4 == v4 && first <= o.first && o.last <= last; }
  bool overlaps(const Cidr& o) const { return o.v4 == v4 && first <= o.last && o.first <= last; }
};

// "192.0.2.0/24", "2001:db8::/32", or a bare address (a /32 or /128), read as CoreDNS reads an
// acl `net` token (Go's net.ParseCIDR after appending the host prefix): host bits may be set and
// are masked off, a zone ("%eth0") is not an address, an IPv4-mapped IPv6 address stays IPv6.
// With `prefixRequired` a bare address is refused, as Go's ParseCIDR itself (view's incidr).
std::optional<Cidr> parseCidr(std::string_view text, bool prefixRequired = false);

}  // namespace moat::plugins
