// The `file` directives of a server block, read into a typed value without touching the file
// system: `file DBFILE [ZONES...] { reload DURATION; reload_by_mtime; fallthrough [ZONES...] }`.
// Several stanzas in one block serve their zones side by side, as in CoreDNS.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "conf/diag.hpp"
#include "plugins/fall.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::file {

struct ZoneSource {
  std::string path;    // relative paths already joined to the Corefile's directory
  std::string origin;  // "example.org."
  conf::Pos pos;       // the file argument, for diagnostics about the file
  std::chrono::nanoseconds reload = std::chrono::minutes(1);  // zero: never re-read
  bool reloadByMtime = false;
};

struct FileConfig {
  std::vector<ZoneSource> zones;  // one per origin, in the order written
  Fall fall;
};

conf::Result<FileConfig> parseFile(const SetupContext& ctx);

}  // namespace moat::plugins::file
