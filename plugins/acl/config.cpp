#include "plugins/acl/config.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <span>

#include "conf/args.hpp"
#include "conf/zone.hpp"
#include "dns/log.hpp"

namespace moat::plugins::acl {

namespace {

constexpr std::string_view kPlugin = "acl";

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// `type` and `net` open a section whatever their case, and end the previous one.
bool isSectionWord(const conf::Token& token) {
  const std::string word = lower(token.text);
  return word == "type" || word == "net";
}

std::optional<Action> actionOf(std::string_view word) {
  const std::string w = lower(word);
  if (w == "allow") return Action::Allow;
  if (w == "block") return Action::Block;
  if (w == "filter") return Action::Filter;
  if (w == "drop") return Action::Drop;
  return std::nullopt;
}

conf::Diag unknownType(const conf::Token& token) {
  std::string message = "unknown query type '" + token.text + "'";
  // Type names are case-sensitive in CoreDNS (miekg/dns's table); say so when that is the slip.
  std::string upper = token.text;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (upper != token.text && logging::typeFromName(upper)) {
    message += " (query types are written in upper case: '" + upper + "')";
  }
  return conf::errorAt(token, kPlugin, message);
}

// CoreDNS stops reading a section at `*` without looking at the rest; a warning says so.
void warnIgnoredAfterStar(const conf::Token& star, size_t ignored, std::vector<conf::Diag>* warnings) {
  if (warnings == nullptr || ignored == 0) return;
  warnings->push_back(conf::Diag{star.pos,
                                 "acl: '*' matches everything; the " + std::to_string(ignored) +
                                     " token(s) after it in this section are ignored",
                                 conf::Severity::Warning});
}

// The tokens of one section (after its keyword) into `policy`.
conf::Result<bool> readSection(const conf::Token& keyword, std::span<const conf::Token> tokens,
                               Policy& policy, std::vector<conf::Diag>* warnings) {
  const bool isType = lower(keyword.text) == "type";
  if (tokens.empty()) {
    return conf::errorAt(keyword, kPlugin,
                         isType ? "'type' needs at least one query type (or '*')"
                                : "'net' needs at least one address or CIDR (or '*')");
  }
  for (size_t i = 0; i < tokens.size(); ++i) {
    const conf::Token& token = tokens[i];
    if (token.text == "*") {
      if (isType) {
        policy.types.addEverything();
      } else {
        policy.nets.addEverything();
      }
      warnIgnoredAfterStar(token, tokens.size() - i - 1, warnings);
      break;
    }
    if (isType) {
      auto type = logging::typeFromName(token.text);
      if (!type) return unknownType(token);
      policy.types.add(*type);
    } else {
      auto cidr = parseCidr(token.text);
      if (!cidr) {
        return conf::errorAt(token, kPlugin,
                             "invalid network '" + token.text +
                                 "': expected an IP address or a CIDR such as 192.0.2.0/24 or 2001:db8::/32");
      }
      policy.nets.add(*cidr);
    }
  }
  return true;
}

conf::Result<Policy> parsePolicy(const conf::Directive& line, std::vector<conf::Diag>* warnings) {
  auto action = actionOf(line.name.text);
  if (!action) {
    return conf::errorAt(line.name, kPlugin,
                         "unknown action '" + line.name.text + "': expected allow, block, filter or drop");
  }
  if (line.hasBlock) return conf::errorAt(line.name, kPlugin, "a rule takes no '{' block");

  Policy policy;
  policy.action = *action;
  policy.pos = line.name.pos;
  bool hasType = false, hasNet = false;
  const std::vector<conf::Token>& args = line.args;
  size_t i = 0;
  while (i < args.size()) {
    const conf::Token& keyword = args[i];
    if (!isSectionWord(keyword)) {
      return conf::errorAt(keyword, kPlugin, "expected 'type' or 'net', got '" + keyword.text + "'");
    }
    size_t end = i + 1;
    while (end < args.size() && !isSectionWord(args[end])) ++end;
    auto read = readSection(keyword, std::span<const conf::Token>(args).subspan(i + 1, end - i - 1),
                            policy, warnings);
    if (!read) return read.error();
    (lower(keyword.text) == "type" ? hasType : hasNet) = true;
    i = end;
  }
  if (!hasType) policy.types.addEverything();
  if (!hasNet) policy.nets.addEverything();
  policy.types.seal();
  policy.nets.seal();
  return policy;
}

}  // namespace

std::string_view actionName(Action action) {
  switch (action) {
    case Action::Allow: return "allow";
    case Action::Block: return "block";
    case Action::Filter: return "filter";
    case Action::Drop: return "drop";
  }
  return "allow";
}

conf::Result<AclConfig> parseConfig(const std::vector<const conf::Directive*>& stanzas,
                                    const std::vector<std::string>& blockZones,
                                    std::vector<conf::Diag>* warnings) {
  AclConfig config;
  for (const conf::Directive* stanza : stanzas) {
    Rule rule;
    rule.pos = stanza->name.pos;
    for (const conf::Token& zone : stanza->args) {
      auto zones = conf::normalizeZone(zone);
      if (!zones) return zones.error();
      rule.zones.insert(rule.zones.end(), zones->begin(), zones->end());
    }
    if (stanza->args.empty()) rule.zones = blockZones.empty() ? std::vector<std::string>{"."} : blockZones;
    for (const conf::Directive& line : stanza->block) {
      auto policy = parsePolicy(line, warnings);
      if (!policy) return policy.error();
      rule.policies.push_back(std::move(*policy));
    }
    config.rules.push_back(std::move(rule));
  }
  return config;
}

}  // namespace moat::plugins::acl
