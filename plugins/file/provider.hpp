// What a plugin serving zone data (file, auto, secondary) offers the other plugins of its block:
// the zone as served now, and word when it changes. `transfer` sends zones and NOTIFYs from it.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "plugins/file/zone.hpp"

namespace moat::plugins::file {

class ZoneProvider {
 public:
  virtual ~ZoneProvider() = default;
  // The zone whose origin is `origin` (lowercased wire form) as served now; null when this
  // plugin does not serve it or has no data for it (not loaded, expired).
  virtual ZonePtr servedZone(std::span<const uint8_t> origin) const = 0;
  // The origins this plugin serves now ("example.org."), loaded or not.
  virtual std::vector<std::string> servedOrigins() const = 0;
  // `listener` is called with the origin each time a zone's data is replaced (a reload, a
  // transfer in), from the thread that replaced it. One listener; a later call replaces it.
  virtual void onZoneChanged(std::function<void(const std::string& origin)> listener) = 0;
};

}  // namespace moat::plugins::file
