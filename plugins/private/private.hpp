// The `private` plugin (DESIGN.md §4): which zones are private (built-ins plus
// `private ZONE... { negttl N; refuse }` stanzas from every server block, `private off` drops
// the built-ins), and the handler that answers a private name nothing else answered: localhost
// with loopback, anything else NXDOMAIN/NODATA with a synthesized SOA, or REFUSED.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "conf/ast.hpp"
#include "conf/diag.hpp"
#include "plugins/egress.hpp"
#include "plugins/handler.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::private_zone {

// One `private` directive and the zones of the server block it was written in (a bare
// `private` declares those zones, as CoreDNS plugins default to their block's zones).
struct StanzaInput {
  const conf::Directive* directive = nullptr;
  std::vector<std::string> blockZones;  // normalised ("example.org."); empty means "."
};

// The zones Moat declares private with no directive, each with the reason for it.
struct BuiltinZone {
  std::string_view name;
  std::string_view why;
};
std::span<const BuiltinZone> builtinZones();

// Every stanza of the whole Corefile (private zones hold for every block). Errors carry the
// stanza's file:line:col.
conf::Result<PrivateZonesPtr> buildPrivateZones(std::span<const StanzaInput> stanzas);

// PluginSpec::setup for "private": the answering handler, built in every block (PluginSpec
// always) from ctx.privateZones; null when there are no private zones at all.
conf::Result<HandlerPtr> setupPrivate(const SetupContext& ctx);

}  // namespace moat::plugins::private_zone
