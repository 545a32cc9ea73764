// `bind ADDRESS...`: the addresses a server block listens on. It configures listeners and has
// no handler; the runtime reads the addresses with bindAddresses().
#pragma once

#include <string>
#include <vector>

#include "conf/diag.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::bind {

// Validates the stanzas (IP addresses only) and returns no handler.
conf::Result<HandlerPtr> setupBind(const SetupContext& ctx);

// Every address of every `bind` line of a block, in order, duplicates removed.
conf::Result<std::vector<std::string>> bindAddresses(const std::vector<const conf::Directive*>& stanzas);

}  // namespace moat::plugins::bind
