#include "plugins/egress.hpp"

namespace moat::plugins {

void PrivateZones::add(PrivateZone zone) {
  const size_t before = set_.size();
  const int index = set_.add(zone.name);
  if (index == dns::ZoneSet::kNone) return;
  zone.name = set_.text(index);
  if (set_.size() == before) {
    zones_[static_cast<size_t>(index)] = std::move(zone);
  } else {
    zones_.push_back(std::move(zone));
  }
}

const PrivateZone* PrivateZones::find(std::span<const uint8_t> lowerName) const {
  const int index = set_.longestMatch(lowerName);
  return index == dns::ZoneSet::kNone ? nullptr : &zones_[static_cast<size_t>(index)];
}

const PrivateZone* PrivateZones::find(std::span<const uint8_t> lowerName, size_t& wireLength) const {
  const int index = set_.longestMatch(lowerName);
  if (index == dns::ZoneSet::kNone) return nullptr;
  wireLength = set_.wire(index).size();
  return &zones_[static_cast<size_t>(index)];
}

EgressScope EgressScope::narrowed(std::string_view from, std::span<const std::string> blockZones) {
  EgressScope scope;
  auto fromWire = dns::nameFromText(dns::fqdnLower(from));
  if (!fromWire) return scope;
  dns::lowercaseInPlace(*fromWire);
  const std::vector<std::string> root{"."};
  for (const std::string& zone : blockZones.empty() ? std::span<const std::string>(root) : blockZones) {
    auto zoneWire = dns::nameFromText(dns::fqdnLower(zone));
    if (!zoneWire) continue;
    dns::lowercaseInPlace(*zoneWire);
    if (dns::isSubdomain(*zoneWire, *fromWire)) {
      scope.zones_.addWire(*zoneWire);
    } else if (dns::isSubdomain(*fromWire, *zoneWire)) {
      scope.zones_.addWire(*fromWire);
    }
  }
  return scope;
}

int EgressScope::matchLength(std::span<const uint8_t> lowerName) const {
  const int index = zones_.longestMatch(lowerName);
  return index == dns::ZoneSet::kNone ? -1 : static_cast<int>(zones_.wire(index).size());
}

const PrivateZone* egressBlockedBy(const PrivateZones* zones, const EgressScope& scope,
                                   std::span<const uint8_t> lowerName) {
  if (zones == nullptr) return nullptr;
  size_t privateLength = 0;
  const PrivateZone* zone = zones->find(lowerName, privateLength);
  if (zone == nullptr) return nullptr;
  // Both the private zone and the scope zone are suffixes of the name, so one contains the
  // other: the scope must be the private zone itself or lie below it, i.e. be at least as long.
  const int scoped = scope.matchLength(lowerName);
  if (scoped >= 0 && static_cast<size_t>(scoped) >= privateLength) return nullptr;
  return zone;
}

const PrivateZone* egressBlockedBy(const PrivateZones* zones, const EgressScope& scope,
                                   const dns::Query& q) {
  if (const PrivateZone* zone = egressBlockedBy(zones, scope, q.view.question.lowerName())) return zone;
  if (q.askedLen == 0) return nullptr;
  return egressBlockedBy(zones, scope, q.askedLowerName());
}

}  // namespace moat::plugins
