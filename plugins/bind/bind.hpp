// `bind ADDRESS|IFACE... { except ADDRESS|IFACE... }`: the addresses a server block listens on,
// as CoreDNS's bind. An interface name stands for every address it has when the configuration
// is loaded (or reloaded); `except` removes addresses from its own directive only; several
// directives add up. It configures listeners and has no handler; the runtime reads the result
// with bindAddresses().
#pragma once

#include <string>
#include <vector>

#include "conf/diag.hpp"
#include "plugins/bind/interfaces.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::bind {

// One `bind` directive as written: what to listen on and what to leave out.
struct BindStanza {
  const conf::Directive* directive = nullptr;
  std::vector<conf::Token> targets;
  std::vector<conf::Token> except;
};

// The syntax of the directives, without looking at the host (pure).
conf::Result<std::vector<BindStanza>> parseStanzas(const std::vector<const conf::Directive*>& stanzas);

// The listen addresses of parsed directives against `interfaces`: canonical address text, in
// order, duplicates removed. A target that is neither an address nor an interface is an error
// at its position, and so is a block left with no address at all.
conf::Result<std::vector<std::string>> resolve(const std::vector<BindStanza>& stanzas,
                                               const InterfaceTable& interfaces);

// parseStanzas + resolve against the host's interfaces now. Empty when there is no `bind`.
conf::Result<std::vector<std::string>> bindAddresses(const std::vector<const conf::Directive*>& stanzas);

// Validates the stanzas (and that the names exist on this host) and returns no handler.
conf::Result<HandlerPtr> setupBind(const SetupContext& ctx);

}  // namespace moat::plugins::bind
