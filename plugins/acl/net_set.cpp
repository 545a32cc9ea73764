#include "plugins/acl/net_set.hpp"

#include <algorithm>

namespace moat::plugins::acl {

void NetSet::addEverything() {
  add(Cidr{true, 0, 0xFFFFFFFFu});
  add(Cidr{false, 0, ~Uint128{0}});
}

void NetSet::add(const Cidr& cidr) { (cidr.v4 ? v4_ : v6_).push_back(Range{cidr.first, cidr.last}); }

void NetSet::seal() {
  merge(v4_);
  merge(v6_);
}

void NetSet::merge(std::vector<Range>& ranges) {
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.first < b.first; });
  std::vector<Range> merged;
  for (const Range& r : ranges) {
    // Overlapping or adjacent ranges become one (adjacent: the previous ends right before).
    if (!merged.empty() && (r.first <= merged.back().last || r.first - 1 == merged.back().last)) {
      merged.back().last = std::max(merged.back().last, r.last);
    } else {
      merged.push_back(r);
    }
  }
  merged.shrink_to_fit();
  ranges = std::move(merged);
}

bool NetSet::within(const std::vector<Range>& ranges, Uint128 value) {
  // The last range starting at or before `value` is the only one that can hold it.
  auto after = std::upper_bound(ranges.begin(), ranges.end(), value,
                                [](Uint128 v, const Range& r) { return v < r.first; });
  if (after == ranges.begin()) return false;
  return value <= std::prev(after)->last;
}

bool NetSet::everything() const {
  return v4_.size() == 1 && v4_[0].first == 0 && v4_[0].last == 0xFFFFFFFFu && v6_.size() == 1 &&
         v6_[0].first == 0 && v6_[0].last == ~Uint128{0};
}

bool NetSet::contains(const IpKey& address) const {
  return within(address.v4 ? v4_ : v6_, address.value);
}

}  // namespace moat::plugins::acl
