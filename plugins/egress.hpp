// The private-zone guarantee (DESIGN.md §4): the set of private zones, and the one egress check
// every path that sends a query off the box calls before anything leaves. A name at or under a
// private zone may leave only through a sender whose scope is that zone or lies under it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "conf/diag.hpp"
#include "dns/name.hpp"
#include "dns/query.hpp"
#include "dns/zone_set.hpp"

namespace moat::plugins {

struct PrivateZone {
  std::string name;        // "internal.company." (lowercase FQDN)
  uint32_t negttl = 30;    // TTL of the synthesized SOA (and its MINIMUM)
  bool refuse = false;     // answer REFUSED instead of NXDOMAIN/NODATA
  bool builtin = false;    // one of the zones Moat declares private with no directive
  conf::Pos pos;           // the `private` directive that declared it (empty for built-ins)
  std::string why;         // built-ins: the RFC or reservation behind it
};

// Immutable once built; shared by every block and worker of one configuration.
class PrivateZones {
 public:
  // Adds a zone; a zone already present is replaced (an explicit stanza overrides a built-in).
  void add(PrivateZone zone);

  // The longest private zone `lowerName` (lowercased wire) equals or lies below; null if none.
  const PrivateZone* find(std::span<const uint8_t> lowerName) const;
  // The same, with the wire length of the zone's name (what the egress check compares).
  const PrivateZone* find(std::span<const uint8_t> lowerName, size_t& wireLength) const;

  std::span<const PrivateZone> zones() const { return zones_; }
  bool empty() const { return zones_.empty(); }

 private:
  dns::ZoneSet set_;                // index i <-> zones_[i]
  std::vector<PrivateZone> zones_;
};

using PrivateZonesPtr = std::shared_ptr<const PrivateZones>;

// Where a sender may send: the zones it serves, as lowercased wire names. A forward's scope is
// its FROM zone narrowed by its server block's zones.
class EgressScope {
 public:
  EgressScope() = default;
  // FROM narrowed by each block zone: the deeper of the two when one contains the other, nothing
  // when they are disjoint. `blockZones` empty means the root.
  static EgressScope narrowed(std::string_view from, std::span<const std::string> blockZones);

  const dns::ZoneSet& zones() const { return zones_; }
  // Wire length of the longest scope zone `lowerName` lies in, or -1 when outside the scope.
  int matchLength(std::span<const uint8_t> lowerName) const;

 private:
  dns::ZoneSet zones_;
};

// The egress check: null when `lowerName` may leave through a sender with `scope`, otherwise
// the private zone that keeps it in. Allocation-free; two suffix scans of the name.
const PrivateZone* egressBlockedBy(const PrivateZones* zones, const EgressScope& scope,
                                   std::span<const uint8_t> lowerName);

// The egress check for a query about to leave: the name that would be sent and, when a plugin
// rewrote the question (rewrite), the name the client asked. A rewrite that maps a private name
// to a public one is no way around the check, nor one that maps a public name to a private one.
const PrivateZone* egressBlockedBy(const PrivateZones* zones, const EgressScope& scope,
                                   const dns::Query& q);

}  // namespace moat::plugins
