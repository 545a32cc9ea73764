// `reload [INTERVAL [JITTER]]`: how often the program checks its Corefile for changes (CoreDNS's
// defaults: 30s, jitter 15s; at least 2s and 1s; jitter at most half the interval). The plugin
// has no query-path role: the program reads the interval and runs the reloader (cmd/reload).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "conf/ast.hpp"
#include "conf/diag.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::reload {

struct Config {
  std::chrono::milliseconds interval{30000};
  std::chrono::milliseconds jitter{15000};
};

// Pure: one block's `reload` stanza to a config, or a positioned error.
conf::Result<Config> parseConfig(const conf::Directive& stanza);

// The reload settings of a whole Corefile: the first block that has `reload` decides (CoreDNS
// runs one reloader for the process); nullopt when no block asks for it.
conf::Result<std::optional<Config>> findConfig(const conf::Corefile& corefile);

// Validates the stanza; no handler.
conf::Result<HandlerPtr> setupReload(const SetupContext& ctx);

// SHA-512 (hex) of the parsed server blocks, imports expanded: comments, spacing and line
// positions do not change it; any key, directive or argument does (CoreDNS hashes the same).
std::string corefileHash(const conf::Corefile& corefile);

}  // namespace moat::plugins::reload
