// What `moat lint` finds in a zone file, the way named-checkzone and nsd-checkzone look at one:
// a record that does not parse, no SOA, a CNAME beside other data, records outside the origin,
// a name server inside the zone (or inside its own delegation) without an address, data hidden
// below a delegation, and a delegation under a private zone that sends resolvers off the
// machine. Each finding points at the zone file's line.
#pragma once

#include <string>
#include <vector>

#include "conf/diag.hpp"
#include "plugins/egress.hpp"
#include "plugins/file/config.hpp"

namespace moat::plugins::file {

struct ZoneFinding {
  conf::Pos pos;     // the zone file (or included file), line, column 1
  std::string rule;  // "zone/syntax", "zone/cname-and-other-data", ... (lint's catalogue)
  std::string message;
};

// `privateZones` may be null (no private-zone rule then).
std::vector<ZoneFinding> checkZone(const ZoneSource& source, const PrivateZones* privateZones);

}  // namespace moat::plugins::file
