// The `auto` directive of a server block, read into a typed value without touching the file
// system: `auto [ZONES...] { directory DIR [REGEXP ORIGIN_TEMPLATE]; reload DURATION;
// fallthrough [ZONES...] }`.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "conf/diag.hpp"
#include "plugins/auto/origin_rule.hpp"
#include "plugins/fall.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::auto_zone {

struct AutoConfig {
  // Queries are looked at only at or below these (ZONES, else the block's); a zone file found
  // for another name loads but is never asked, as in CoreDNS.
  std::vector<std::string> origins;
  std::string directory;  // a relative DIR already joined to the Corefile's directory
  conf::Pos directoryPos;
  OriginRule rule = OriginRule::standard();
  std::chrono::nanoseconds reload = std::chrono::minutes(1);  // zero: scan once, at start
  Fall fall;
};

conf::Result<AutoConfig> parseAuto(const SetupContext& ctx);

}  // namespace moat::plugins::auto_zone
