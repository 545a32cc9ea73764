#include "plugins/log/config.hpp"

#include <optional>

#include "conf/args.hpp"
#include "plugins/log/classify.hpp"

namespace moat::plugins::log {
namespace {

constexpr std::string_view kPlugin = "log";

std::optional<uint8_t> classBits(std::string_view word) {
  if (word == "all") return kAllClasses;
  if (word == "success") return static_cast<uint8_t>(ResponseClass::Success);
  if (word == "denial") return static_cast<uint8_t>(ResponseClass::Denial);
  if (word == "error") return static_cast<uint8_t>(ResponseClass::Error);
  return std::nullopt;
}

// The `{ class ... }` block of one stanza: the classes it selects (all when it names none).
conf::Result<uint8_t> parseClasses(const conf::Directive& stanza) {
  uint8_t bits = 0;
  for (const conf::Directive& option : stanza.block) {
    if (option.name.text != "class") {
      return conf::errorAt(option.name, kPlugin,
                           "unknown property '" + option.name.text + "' (want 'class')");
    }
    if (option.hasBlock) return conf::errorAt(option.name, kPlugin, "'class' takes no block");
    if (option.args.empty()) {
      return conf::errorAt(option.name, kPlugin,
                           "'class' needs at least one of all, success, denial, error");
    }
    for (const conf::Token& arg : option.args) {
      auto b = classBits(arg.text);
      if (!b) {
        return conf::errorAt(arg, kPlugin,
                             "invalid class '" + arg.text + "' (want all, success, denial or error)");
      }
      bits |= *b;
    }
  }
  return bits == 0 ? kAllClasses : bits;
}

conf::Result<Rule> makeRule(const conf::Token& name, const Format& format) {
  std::string text = name.text;
  if (text.empty() || text.back() != '.') text += '.';  // CoreDNS's dns.Fqdn
  auto wire = dns::nameFromText(text);
  if (!wire) return conf::errorAt(name, kPlugin, "invalid name '" + name.text + "'");
  Rule rule;
  rule.zoneWire = dns::lowercased(*wire);
  rule.zone = dns::nameToText(rule.zoneWire);
  rule.format = format;
  return rule;
}

}  // namespace

conf::Result<Config> parseConfig(std::span<const conf::Directive* const> stanzas) {
  Config config;
  for (const conf::Directive* stanza : stanzas) {
    auto classes = parseClasses(*stanza);
    if (!classes) return classes.error();

    std::span<const conf::Token> names(stanza->args);
    Format format = compileFormat(kCommonFormat);
    // With two or more arguments the last one is a format when it holds a '{'; a single
    // argument is always a name (CoreDNS).
    if (names.size() >= 2 && names.back().text.find('{') != std::string::npos) {
      format = compileFormat(expandShortcuts(names.back().text));
      names = names.first(names.size() - 1);
    }

    size_t first = config.rules.size();
    if (names.empty()) {
      config.rules.push_back(Rule{".", dns::WireName{0}, format, 0});
    }
    for (const conf::Token& name : names) {
      auto rule = makeRule(name, format);
      if (!rule) return rule.error();
      config.rules.push_back(std::move(*rule));
    }
    for (size_t i = first; i < config.rules.size(); ++i) config.rules[i].classes = *classes;
  }
  return config;
}

}  // namespace moat::plugins::log
