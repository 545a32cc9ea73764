#include "plugins/fall.hpp"

#include "conf/zone.hpp"

namespace moat::plugins {

conf::Result<Fall> Fall::parse(const conf::Directive& option) {
  Fall fall;
  fall.enabled_ = true;
  // A bare `fallthrough` covers every name; listing the root zone means the same thing.
  fall.all_ = option.args.empty();
  for (const conf::Token& arg : option.args) {
    auto zones = conf::normalizeZone(arg);
    if (!zones) return zones.error();
    for (const std::string& zone : *zones) {
      if (zone == ".") fall.all_ = true;
      fall.zones_.add(zone);
    }
  }
  return fall;
}

Fall Fall::everything() {
  Fall fall;
  fall.enabled_ = true;
  fall.all_ = true;
  return fall;
}

}  // namespace moat::plugins
