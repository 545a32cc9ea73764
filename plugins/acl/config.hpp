// `acl [ZONES...] { ACTION [type QTYPE...] [net SOURCE...] ... }`, parsed as CoreDNS parses it:
// each stanza is a rule for its zones (the block's when none are given), each line of its block
// a policy; query types and networks are turned into matchers here, once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "conf/ast.hpp"
#include "conf/diag.hpp"
#include "plugins/acl/net_set.hpp"
#include "plugins/acl/qtype_set.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::acl {

enum class Action : uint8_t { Allow, Block, Filter, Drop };

std::string_view actionName(Action action);

// One line of an acl block: it matches a query whose type and client address are both in it.
// A missing `type` section means every type, a missing `net` section every address.
struct Policy {
  Action action = Action::Allow;
  QtypeSet types;
  NetSet nets;
  conf::Pos pos;  // the action word, for explain
};

// One acl stanza: the zones it guards and its policies in order.
struct Rule {
  std::vector<std::string> zones;  // normalised ("example.org.")
  std::vector<Policy> policies;
  conf::Pos pos;
};

struct AclConfig {
  std::vector<Rule> rules;  // one per stanza, in Corefile order
};

// Every `acl` stanza of a block. `blockZones` are the zones a stanza without ZONES guards;
// `warnings` (may be null) receives what CoreDNS accepts silently but ignores.
conf::Result<AclConfig> parseConfig(const std::vector<const conf::Directive*>& stanzas,
                                    const std::vector<std::string>& blockZones,
                                    std::vector<conf::Diag>* warnings);

}  // namespace moat::plugins::acl
