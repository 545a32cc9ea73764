// A small set of zones (lowercased wire names) answering "which of them is the longest suffix
// of this name". Built once from config; looked up per query without allocating.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dns/name.hpp"

namespace moat::dns {

class ZoneSet {
 public:
  static constexpr int kNone = -1;

  // Adds a zone given as text ("example.org." or "."); returns its index. Duplicates keep
  // their first index.
  int add(std::string_view zoneText);
  int addWire(WireName zone);

  // Index of the zone equal to `lowerName`, kNone if none.
  int find(std::span<const uint8_t> lowerName) const;
  // Index of the longest zone that `lowerName` equals or lies below, kNone if none.
  int longestMatch(std::span<const uint8_t> lowerName) const;
  bool contains(std::span<const uint8_t> lowerName) const { return longestMatch(lowerName) != kNone; }

  size_t size() const { return zones_.size(); }
  bool empty() const { return zones_.empty(); }
  std::span<const uint8_t> wire(int index) const { return zones_[static_cast<size_t>(index)]; }
  const std::string& text(int index) const { return texts_[static_cast<size_t>(index)]; }

 private:
  std::vector<WireName> zones_;
  std::vector<std::string> texts_;
};

}  // namespace moat::dns
