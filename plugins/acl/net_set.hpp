// Source networks of an acl rule, parsed once at load into sorted, disjoint address ranges per
// family, so a query's client address is matched by one binary search and no allocation.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "plugins/cidr.hpp"

namespace moat::plugins::acl {

using plugins::Cidr;
using plugins::IpKey;
using plugins::Uint128;
using plugins::clientKey;
using plugins::parseCidr;

class NetSet {
 public:
  // `*`: 0.0.0.0/0 and ::/0.
  void addEverything();
  void add(const Cidr& cidr);
  // Sorts and merges what was added; call once, after the last add and before contains().
  void seal();

  bool contains(const IpKey& address) const;
  // Every address of both families (after seal()): `*`, or networks that add up to it.
  bool everything() const;

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
