#include "dns/zone_set.hpp"

#include <algorithm>
#include <cstring>

namespace moat::dns {

int ZoneSet::add(std::string_view zoneText) {
  auto wire = nameFromText(fqdnLower(zoneText));
  if (!wire) return kNone;
  int index = addWire(std::move(*wire));
  return index;
}

int ZoneSet::addWire(WireName zone) {
  lowercaseInPlace(zone);
  auto it = std::find(zones_.begin(), zones_.end(), zone);
  if (it != zones_.end()) return static_cast<int>(it - zones_.begin());
  texts_.push_back(nameToText(zone));
  zones_.push_back(std::move(zone));
  return static_cast<int>(zones_.size() - 1);
}

int ZoneSet::find(std::span<const uint8_t> lowerName) const {
  for (size_t i = 0; i < zones_.size(); ++i) {
    const WireName& z = zones_[i];
    if (z.size() == lowerName.size() && std::memcmp(z.data(), lowerName.data(), z.size()) == 0) {
      return static_cast<int>(i);
    }
  }
  return kNone;
}

int ZoneSet::longestMatch(std::span<const uint8_t> name) const {
  // Suffixes from longest to shortest; the first that is a zone wins. Zones are few per block,
  // so a linear scan per suffix beats hashing here.
  size_t off = 0;
  while (off < name.size()) {
    if (const int zone = find(name.subspan(off)); zone != kNone) return zone;
    if (name[off] == 0) break;
    off += name[off] + 1u;
  }
  return kNone;
}

}  // namespace moat::dns
