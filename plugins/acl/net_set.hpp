// Source networks of an acl rule, parsed once at load into sorted, disjoint address ranges per
// family, so a query's client address is matched by one binary search and no allocation.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "dns/query.hpp"

namespace moat::plugins::acl {

using Uint128 = unsigned __int128;

// An address as the matcher compares it: IPv4 as a 32-bit number in the low bits, IPv6 as 128.
struct IpKey {
  bool v4 = true;
  Uint128 value = 0;
};

// The client's address of a query. An IPv4-mapped IPv6 address (an IPv4 client on a dual-stack
// socket) counts as IPv4, as Go reports it to CoreDNS. nullopt for any other family.
std::optional<IpKey> clientKey(const dns::Endpoint& client);

// One CIDR: the first and last address it covers.
struct Cidr {
  bool v4 = true;
  Uint128 first = 0;
  Uint128 last = 0;
};

// "192.0.2.0/24", "2001:db8::/32", or a bare address (a /32 or /128), read as CoreDNS reads a
// `net` token (Go's net.ParseCIDR after appending the host prefix): host bits may be set and
// are masked off, a zone ("%eth0") is not an address, an IPv4-mapped IPv6 address stays IPv6.
std::optional<Cidr> parseCidr(std::string_view text);

class NetSet {
 public:
  // `*`: 0.0.0.0/0 and ::/0.
  void addEverything();
  void add(const Cidr& cidr);
  // Sorts and merges what was added; call once, after the last add and before contains().
  void seal();

  bool contains(const IpKey& address) const;

 private:
  struct Range {
    Uint128 first = 0;
    Uint128 last = 0;
  };
  static void merge(std::vector<Range>& ranges);
  static bool within(const std::vector<Range>& ranges, Uint128 value);

  std::vector<Range> v4_;
  std::vector<Range> v6_;
};

}  // namespace moat::plugins::acl
