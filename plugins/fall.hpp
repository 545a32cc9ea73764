// `fallthrough [ZONES...]`, as CoreDNS's plugin/pkg/fall: absent means never, no zones means
// every name, otherwise only names at or below one of the zones. Each plugin decides in which
// case it consults it (usually "name does not exist here").
#pragma once

#include <span>

#include "conf/ast.hpp"
#include "conf/diag.hpp"
#include "dns/zone_set.hpp"

namespace moat::plugins {

class Fall {
 public:
  // Parses the arguments of a `fallthrough` option line (zones normalised, CIDR allowed).
  static conf::Result<Fall> parse(const conf::Directive& option);
  static Fall everything();

  bool enabled() const { return enabled_; }
  // True when a query for `lowerName` may pass to the next plugin.
  bool through(std::span<const uint8_t> lowerName) const {
    return enabled_ && (all_ || zones_.contains(lowerName));
  }
  const dns::ZoneSet& zones() const { return zones_; }
  bool all() const { return all_; }

 private:
  bool enabled_ = false;
  bool all_ = false;
  dns::ZoneSet zones_;
};

}  // namespace moat::plugins
