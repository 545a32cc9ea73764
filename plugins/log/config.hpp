// `log` configuration, as CoreDNS parses it:
//   log
//   log NAME
//   log NAMES... [FORMAT]        (two or more arguments: the last is a format if it has a '{')
//   ... { class all|success|denial|error ... }   (class may repeat; applies to the stanza)
// Every name becomes a rule; stanzas add rules in Corefile order.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "conf/ast.hpp"
#include "conf/diag.hpp"
#include "dns/name.hpp"
#include "plugins/log/format.hpp"

namespace moat::plugins::log {

struct Rule {
  std::string zone;        // lowercase FQDN text, "." for everything
  dns::WireName zoneWire;  // the same, lowercased wire form, for matching
  Format format;
  uint8_t classes = 0;     // ResponseClass bits; kAllClasses logs everything
};

struct Config {
  std::vector<Rule> rules;  // the first rule whose zone holds the qname decides
};

conf::Result<Config> parseConfig(std::span<const conf::Directive* const> stanzas);

}  // namespace moat::plugins::log
