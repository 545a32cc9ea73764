// Upstream health across a reload (issue 5): a reload builds a new forward handler while the
// old one still serves. An upstream the new handler probes the same way as a live old one
// (same address, FROM, max_fails, health_check settings) starts with the old one's failure
// count, so a dead upstream stays marked down instead of being tried afresh by every client.
// Only setup touches this: the data path never does.
#pragma once

#include <memory>

#include "plugins/forward/shared.hpp"

namespace moat::plugins::forward {

// Registers `shared` as live (weakly) and copies failure counts from live handlers into it.
// Returns the (stanza, upstream) pairs that arrive marked down: their probes must restart.
std::vector<std::pair<uint32_t, uint32_t>> carryHealth(const std::shared_ptr<Shared>& shared);

}  // namespace moat::plugins::forward
