// The query types of an acl rule: one bit test for the types below 256 (all the common ones),
// a binary search in a small sorted array for the others (URI, CAA, TA, DLV...).
#pragma once

#include <bitset>
#include <cstdint>
#include <vector>

namespace moat::plugins::acl {

class QtypeSet {
 public:
  void addEverything() { everything_ = true; }
  // Type 0 ("None") is how CoreDNS stores `*`, so `type None` matches every type there too.
  void add(uint16_t type);
  // Sorts the large types; call once, after the last add and before contains().
  void seal();

  bool contains(uint16_t type) const;
  bool everything() const { return everything_; }

 private:
  bool everything_ = false;
  std::bitset<256> small_;
  std::vector<uint16_t> large_;
};

}  // namespace moat::plugins::acl
