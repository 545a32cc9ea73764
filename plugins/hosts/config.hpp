// The `hosts` directive, read into a typed value without touching the file system, so a
// Corefile can be checked (and tested) without the hosts file being present.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "conf/diag.hpp"
#include "plugins/fall.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::hosts {

struct HostsConfig {
  std::string path = "/etc/hosts";  // relative paths already joined to the Corefile's directory
  conf::Pos pos;                    // the directive, for diagnostics about the file
  std::vector<std::string> zones;   // normalised; the block's zones when none were given
  std::vector<std::string> inlineLines;  // hosts lines written inside the block, in order
  uint32_t ttl = 3600;
  bool reverse = true;  // `no_reverse` turns the generated PTR records off
  std::chrono::nanoseconds reload = std::chrono::seconds(5);  // zero: never re-read
  Fall fall;
  bool fallthroughUnsupported = false;
};

conf::Result<HostsConfig> parseHosts(const SetupContext& ctx);

}  // namespace moat::plugins::hosts
