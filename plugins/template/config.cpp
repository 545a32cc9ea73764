// `template` stanzas to rules: CoreDNS's syntax, every error at its Corefile position.
#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <charconv>

#include "conf/args.hpp"
#include "conf/zone.hpp"
#include "dns/log.hpp"
#include "plugins/template/template.hpp"

namespace moat::plugins::tmpl {

namespace {

constexpr std::string_view kPlugin = "template";

conf::Diag at(const conf::Token& t, const std::string& message) { return conf::errorAt(t, kPlugin, message); }

// miekg/dns's StringToClass: exact, upper case.
std::optional<uint16_t> stanzaClass(std::string_view s) {
  if (s == "IN") return dns::rrclass::IN;
  if (s == "CS") return uint16_t{2};
  if (s == "CH") return dns::rrclass::CH;
  if (s == "HS") return dns::rrclass::HS;
  if (s == "NONE") return dns::rrclass::NONE;
  if (s == "ANY") return dns::rrclass::ANY;
  return std::nullopt;
}

// miekg/dns's StringToRcode, the rcodes that fit the header's four bits.
std::optional<uint8_t> rcodeOf(std::string_view s) {
  static constexpr std::array<std::string_view, 11> kNames = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                                              "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                                              "NXRRSET", "NOTAUTH", "NOTZONE"};
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == s) return static_cast<uint8_t>(i);
  }
  return std::nullopt;
}

struct PendingRecord {
  Section section;
  const conf::Token* token;
};

conf::Result<Rule> parseStanza(const conf::Directive& d, const std::vector<std::string>& blockZones,
                               Config& config) {
  if (d.args.size() < 2) return at(d.name, "template needs a CLASS and a TYPE: template CLASS TYPE [ZONE...]");
  Rule rule;
  rule.pos = d.name.pos;
  auto klass = stanzaClass(d.args[0].text);
  if (!klass) return at(d.args[0], "invalid query class " + d.args[0].text);
  auto type = logging::typeFromName(d.args[1].text);
  if (!type) return at(d.args[1], "invalid RR type " + d.args[1].text);
  rule.qclass = *klass;
  rule.qtype = *type;
  rule.className = d.args[0].text;
  rule.typeName = d.args[1].text;
  if (d.args.size() == 2) {
    for (const std::string& z : blockZones) rule.zones.add(z);
  }
  for (size_t i = 2; i < d.args.size(); ++i) {
    auto zones = conf::normalizeZone(d.args[i]);
    if (!zones) return zones.error();
    for (const std::string& z : *zones) rule.zones.add(z);
  }
  for (size_t i = 0; i < rule.zones.size(); ++i) config.zones.add(rule.zones.text(static_cast<int>(i)));

  std::vector<PendingRecord> pending;
  std::vector<std::string> vars;
  for (const conf::Directive& option : d.block) {
    const std::string& name = option.name.text;
    if (name == "match") {
      if (option.args.empty()) return at(option.name, "match needs at least one REGEX");
      for (const conf::Token& t : option.args) {
        if (t.text.size() > kMaxRegexLen) {
          return at(t, "regex pattern too long: " + std::to_string(t.text.size()) + " > " +
                           std::to_string(kMaxRegexLen));
        }
        re2::RE2::Options options;
        options.set_log_errors(false);
        auto re = std::make_shared<const re2::RE2>(t.text, options);
        if (!re->ok()) return at(t, "could not parse regex: " + t.text + ", " + re->error());
        rule.regexes.push_back(std::move(re));
        rule.patterns.push_back(t.text);
      }
    } else if (name == "answer" || name == "authority" || name == "additional") {
      if (option.args.empty()) return at(option.name, name + " needs at least one RR template");
      const Section s = name == "answer" ? Section::Answer : name == "authority" ? Section::Authority : Section::Additional;
      for (const conf::Token& t : option.args) pending.push_back({s, &t});
    } else if (name == "rcode") {
      if (auto n = conf::expectArgs(option, kPlugin, 1, 1); !n) return n.error();
      auto code = rcodeOf(option.args[0].text);
      if (!code) return at(option.args[0], "unknown rcode " + option.args[0].text);
      rule.rcode = *code;
    } else if (name == "ederror") {
      if (auto n = conf::expectArgs(option, kPlugin, 1, 2); !n) return n.error();
      const std::string& text = option.args[0].text;
      uint16_t code = 0;
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), code);
      if (ec != std::errc() || p != text.data() + text.size()) {
        return at(option.args[0], "error parsing extended DNS error code " + text + ": a number from 0 to 65535");
      }
      rule.ederror = ExtendedError{code, option.args.size() == 2 ? option.args[1].text : std::string()};
    } else if (name == "fallthrough") {
      auto fall = Fall::parse(option);
      if (!fall) return fall.error();
      rule.fall = std::move(*fall);
    } else if (name == "upstream") {
      // Deprecated in CoreDNS and ignored there too: a CNAME's target is always resolved.
    } else if (name == "expr") {
      if (option.args.empty()) return at(option.name, "expr needs an expression");
      auto program = expression::Program::compile(option.args, kPlugin);
      if (!program) return program.error();
      rule.conditions.push_back(std::move(*program));
    } else if (name == "var") {
      return at(option.name,
                "var is not supported by Moat yet (its expressions have no variables or group()); "
                "expr with the view plugin's functions is");
    } else {
      return conf::unknownOption(option, kPlugin,
                                 {"match", "answer", "additional", "authority", "rcode", "ederror", "fallthrough",
                                  "upstream", "expr", "var"});
    }
  }
  if (rule.regexes.empty()) {
    rule.regexes.push_back(std::make_shared<const re2::RE2>(".*"));
    rule.patterns.emplace_back(".*");
  }

  // Templates compile once every regex is known: .Group.NAME resolves to a group of each.
  Scope scope;
  scope.vars = vars;
  for (const auto& re : rule.regexes) {
    std::vector<std::string> names(static_cast<size_t>(re->NumberOfCapturingGroups()) + 1);
    for (const auto& [index, groupName] : re->CapturingGroupNames()) names[static_cast<size_t>(index)] = groupName;
    scope.groupNames.push_back(std::move(names));
  }
  for (Section s : {Section::Answer, Section::Authority, Section::Additional}) {
    for (const PendingRecord& p : pending) {
      if (p.section != s) continue;
      CompileError error;
      auto compiled = Template::compile(p.token->text, scope, error);
      if (!compiled) {
        conf::Pos pos = p.token->pos;
        pos.col += static_cast<uint32_t>(error.offset) + (p.token->quoted ? 1U : 0U);
        return conf::errorAt(pos, std::string(kPlugin) + ": could not compile template: " + error.message);
      }
      const int highest = compiled->highestGroup();
      if (highest >= kMaxGroups) {
        return at(*p.token, "the template reads group " + std::to_string(highest) + "; at most " +
                                std::to_string(kMaxGroups - 1) + " are captured");
      }
      rule.groups = std::max(rule.groups, highest + 1);
      rule.readsRemote = rule.readsRemote || compiled->reads(Field::Remote);
      const char* sectionName = s == Section::Answer ? "answer" : s == Section::Authority ? "authority" : "additional";
      config.recordLabels.emplace_back(sectionName, p.token->text);
      rule.records.push_back({s, std::move(*compiled), config.recordLabels.size() - 1});
    }
  }
  return rule;
}

}  // namespace

conf::Result<Config> parseConfig(const std::vector<const conf::Directive*>& stanzas,
                                 const std::vector<std::string>& blockZones) {
  Config config;
  for (const conf::Directive* d : stanzas) {
    auto rule = parseStanza(*d, blockZones, config);
    if (!rule) return rule.error();
    config.rules.push_back(std::move(*rule));
  }
  return config;
}

}  // namespace moat::plugins::tmpl
