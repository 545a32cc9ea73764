// Reading `rewrite` rules (CoreDNS's plugin/rewrite setup and rule constructors): every rule is
// checked and its regular expressions compiled here, at load, with the position of the word
// that is wrong.
#include <algorithm>
#include <cctype>
#include <charconv>

#include <re2/re2.h>

#include "conf/args.hpp"
#include "dns/edns_option.hpp"
#include "dns/log.hpp"
#include "plugins/rewrite/rewrite.hpp"

namespace moat::plugins::rewrite {
namespace {

constexpr std::string_view kPlugin = "rewrite";
// CoreDNS's bound: a longer pattern is refused before it is compiled.
constexpr size_t kMaxRegexLen = 10000;

using Args = std::vector<const conf::Token*>;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// CoreDNS's plugin.Name(s).Normalize(): lowercase, with the final dot.
std::string normalize(std::string_view s) {
  std::string out = lower(s);
  // A final dot escaped by a backslash is part of the label, as dns.Fqdn reads it.
  size_t slashes = 0;
  for (size_t i = out.size(); i >= 2 && out[i - 2] == '\\'; --i) ++slashes;
  if (out.empty() || out.back() != '.' || slashes % 2 == 1) out += '.';
  return out;
}

conf::Diag at(const conf::Token& t, std::string_view message) { return conf::errorAt(t, kPlugin, message); }

std::optional<Match> matchType(std::string_view word) {
  if (word == "exact") return Match::Exact;
  if (word == "prefix") return Match::Prefix;
  if (word == "suffix") return Match::Suffix;
  if (word == "substring") return Match::Substring;
  if (word == "regex") return Match::Regex;
  return std::nullopt;
}

conf::Diag badMatchType(const conf::Token& t, std::string_view field) {
  std::string message = "unknown match type '" + t.text + "' (" + std::string(field) +
                        " rules take exact, prefix, suffix, substring or regex)";
  const std::string guess = conf::didYouMean(lower(t.text), {"exact", "prefix", "suffix", "substring", "regex"});
  if (!guess.empty()) message += ", did you mean '" + guess + "'?";
  return at(t, message);
}

// How many distinct {N} (N up to 100) `to` uses, as CoreDNS counts them.
unsigned groupsUsed(std::string_view to) {
  unsigned used = 0;
  for (int i = 0; i <= 100; ++i) {
    if (to.find("{" + std::to_string(i) + "}") != std::string_view::npos) ++used;
  }
  return used;
}

// The highest {N} in `to`, -1 when none.
int highestGroup(std::string_view to) {
  int highest = -1;
  for (int i = 0; i <= kMaxGroups; ++i) {
    if (to.find("{" + std::to_string(i) + "}") != std::string_view::npos) highest = i;
  }
  return highest;
}

conf::Result<std::shared_ptr<const re2::RE2>> compile(const conf::Token& from, std::string_view to,
                                                       std::string_view what) {
  if (from.text.size() > kMaxRegexLen) {
    return at(from, "regex pattern too long in " + std::string(what) + ": " + std::to_string(from.text.size()) +
                        " > " + std::to_string(kMaxRegexLen));
  }
  re2::RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_shared<const re2::RE2>(from.text, options);
  if (!re->ok()) {
    return at(from, "invalid regex pattern in " + std::string(what) + ": " + from.text + " (" + re->error() + ")");
  }
  if (static_cast<int>(groupsUsed(to)) > re->NumberOfCapturingGroups()) {
    return at(from, "the rewrite pattern (" + std::string(to) +
                        ") uses more subexpressions than its matching pattern (" + from.text + ") has");
  }
  return std::shared_ptr<const re2::RE2>(std::move(re));
}

// The name test of a rule: `match` and FROM (normalized unless a regex), TO as given.
conf::Result<Pattern> pattern(Match match, const conf::Token& from, std::string_view to, std::string_view what) {
  Pattern p;
  p.match = match;
  p.to = std::string(to);
  if (match == Match::Regex) {
    p.from = from.text;
    auto re = compile(from, to, what);
    if (!re) return re.error();
    p.re = std::move(*re);
    p.groups = std::min(highestGroup(to), p.re->NumberOfCapturingGroups());
  } else {
    p.from = normalize(from.text);
  }
  return p;
}

// `answer auto | answer name FROM TO | answer value FROM TO`, repeated; after the first, the
// word `answer` may be left out (CoreDNS's parseAnswerRules).
conf::Result<bool> parseAnswers(Rule& rule, const Args& args, size_t first) {
  const conf::Token& start = *args[first];
  if (args.size() - first < 2) return at(start, "invalid arguments for the name rule's answer rewrite");
  bool named = false;
  bool any = false;
  for (size_t i = first; i < args.size();) {
    if (!any && lower(args[i]->text) != "answer") {
      return at(*args[i], "too many arguments for a name rule: expected 'answer' here, got '" + args[i]->text + "'");
    }
    any = true;
    if (lower(args[i]->text) == "answer") ++i;
    if (i == args.size()) return at(*args[i - 1], "answer rule without its kind (auto, name or value)");
    const conf::Token& kind = *args[i++];
    const std::string k = lower(kind.text);
    if (k == "auto") {
      rule.autoAnswer = true;
      continue;
    }
    if (k != "name" && k != "value") {
      std::string message = "unknown answer kind '" + kind.text + "' (auto, name or value)";
      const std::string guess = conf::didYouMean(k, {"auto", "name", "value"});
      if (!guess.empty()) message += ", did you mean '" + guess + "'?";
      return at(kind, message);
    }
    if (args.size() - i < 2) return at(kind, "answer " + k + " takes FROM and TO");
    auto p = pattern(Match::Regex, *args[i], normalize(args[i + 1]->text), "an answer " + k + " rule");
    if (!p) return p.error();
    rule.answers.push_back(AnswerRule{k == "value", std::move(*p)});
    named = named || k == "name";
    i += 2;
  }
  if (rule.autoAnswer && named) {
    return at(start, "answer auto cannot be combined with an answer name rule");
  }
  return true;
}

conf::Result<bool> nameRule(Rule& rule, const Args& args, size_t i, const conf::Token& field) {
  const size_t n = args.size() - i;
  if (n < 2) return at(field, "too few arguments for a name rule (FROM TO)");
  Match match = Match::Exact;
  size_t fromAt = i;
  if (n >= 3) {
    auto m = matchType(lower(args[i]->text));
    if (!m) return badMatchType(*args[i], "name");
    match = *m;
    fromAt = i + 1;
  }
  const conf::Token& from = *args[fromAt];
  auto p = pattern(match, from, normalize(args[fromAt + 1]->text), "a name rule");
  if (!p) return p.error();
  rule.name = std::move(*p);
  if (n > 3) {
    if (auto a = parseAnswers(rule, args, i + 3); !a) return a.error();
  }
  // An exact rule always maps its answers back, as CoreDNS's.
  if (match == Match::Exact) rule.autoAnswer = true;
  return true;
}

// [MATCH] NAME, then `values` more words: the name test of ttl and rcode rules.
conf::Result<size_t> nameTest(Rule& rule, const Args& args, size_t i, size_t values, const conf::Token& field) {
  const size_t n = args.size() - i;
  const std::string what = "a " + field.text + " rule";
  if (n < values + 1) return at(field, "too few arguments for " + what);
  if (n > values + 2) return at(*args[i + values + 2], "too many arguments for " + what);
  Match match = Match::Exact;
  size_t nameAt = i;
  if (n == values + 2) {
    auto m = matchType(lower(args[i]->text));
    if (!m) return badMatchType(*args[i], field.text);
    match = *m;
    nameAt = i + 1;
  }
  auto p = pattern(match, *args[nameAt], "", what);
  if (!p) return p.error();
  rule.name = std::move(*p);
  return nameAt + 1;
}

std::optional<uint32_t> number32(std::string_view s) {
  uint32_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// SECONDS, MIN-MAX, -MAX or MIN- (CoreDNS's isValidTTL).
bool ttlRange(std::string_view s, Rule& rule) {
  const size_t dash = s.find('-');
  if (dash == std::string_view::npos) {
    auto v = number32(s);
    if (!v) return false;
    rule.ttlMin = rule.ttlMax = *v;
    return true;
  }
  const std::string_view lo = s.substr(0, dash), hi = s.substr(dash + 1);
  if (hi.find('-') != std::string_view::npos || (lo.empty() && hi.empty())) return false;
  auto min = lo.empty() ? std::optional<uint32_t>(0) : number32(lo);
  auto max = hi.empty() ? std::optional<uint32_t>(2147483647) : number32(hi);
  if (!min || !max || *min > *max) return false;
  rule.ttlMin = *min;
  rule.ttlMax = *max;
  return true;
}

std::optional<uint16_t> rcodeValue(std::string_view s) {
  static constexpr std::array<std::pair<std::string_view, uint16_t>, 20> kNames = {{
      {"NOERROR", 0}, {"FORMERR", 1}, {"SERVFAIL", 2}, {"NXDOMAIN", 3}, {"NOTIMP", 4},
      {"REFUSED", 5}, {"YXDOMAIN", 6}, {"YXRRSET", 7}, {"NXRRSET", 8}, {"NOTAUTH", 9},
      {"NOTZONE", 10}, {"BADSIG", 16}, {"BADKEY", 17}, {"BADTIME", 18}, {"BADMODE", 19},
      {"BADNAME", 20}, {"BADALG", 21}, {"BADTRUNC", 22}, {"BADCOOKIE", 23}, {"BADVERS", 16},
  }};
  const std::string u = upper(s);
  for (const auto& [name, value] : kNames) {
    if (name == u) return value;
  }
  // Numbers are taken when they are an rcode CoreDNS knows the name of.
  auto v = number32(s);
  if (!v) return std::nullopt;
  for (const auto& [name, value] : kNames) {
    if (value == *v) return value;
  }
  return std::nullopt;
}

std::optional<uint16_t> classValue(std::string_view s) {
  const std::string u = upper(s);
  if (u == "IN") return dns::rrclass::IN;
  if (u == "CS") return 2;
  if (u == "CH") return dns::rrclass::CH;
  if (u == "HS") return dns::rrclass::HS;
  if (u == "NONE") return dns::rrclass::NONE;
  if (u == "ANY") return dns::rrclass::ANY;
  return std::nullopt;
}

// strconv.ParseUint(s, 0, bits) as CoreDNS reads option codes and prefix lengths: decimal, or
// 0x/0o/0b (and a bare leading 0 for octal).
std::optional<uint64_t> parseUintBase0(std::string_view s, uint64_t max) {
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  } else if (s.size() > 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
    base = 2;
    s.remove_prefix(2);
  } else if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
    base = 8;
    s.remove_prefix(2);
  } else if (s.size() > 1 && s[0] == '0') {
    base = 8;
    s.remove_prefix(1);
  }
  uint64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || end != s.data() + s.size() || v > max) return std::nullopt;
  return v;
}

std::optional<EdnsVar> ednsVariable(std::string_view word) {
  static constexpr std::array<std::pair<std::string_view, EdnsVar>, 7> kVars = {{
      {"{qname}", EdnsVar::Qname},
      {"{qtype}", EdnsVar::Qtype},
      {"{client_ip}", EdnsVar::ClientIp},
      {"{client_port}", EdnsVar::ClientPort},
      {"{protocol}", EdnsVar::Protocol},
      {"{server_ip}", EdnsVar::ServerIp},
      {"{server_port}", EdnsVar::ServerPort},
  }};
  for (const auto& [name, var] : kVars) {
    if (name == word) return var;
  }
  return std::nullopt;
}

// `local CODE DATA`: DATA is hex after 0x, a {variable}, or the bytes as written.
conf::Result<bool> ednsLocal(EdnsRule& e, const conf::Token& code, const conf::Token* data) {
  auto c = parseUintBase0(code.text, 0xFFFF);
  if (!c) return at(code, "invalid EDNS0 option code '" + code.text + "' (0 to 65535, decimal or 0x...)");
  e.code = static_cast<uint16_t>(*c);
  if (data == nullptr) return true;
  const std::string& d = data->text;
  if (d.size() >= 2 && d.front() == '{' && d.back() == '}') {
    auto v = ednsVariable(d);
    if (!v) {
      return at(*data, "unsupported variable " + d +
                           " ({qname}, {qtype}, {client_ip}, {client_port}, {protocol}, {server_ip} or "
                           "{server_port}; Moat has no metadata plugin for other labels)");
    }
    e.var = *v;
    return true;
  }
  if (d.starts_with("0x")) {
    const std::string_view hex = std::string_view(d).substr(2);
    if (hex.size() % 2 != 0) return at(*data, "invalid hex data '" + d + "': an odd number of digits");
    for (size_t i = 0; i < hex.size(); i += 2) {
      uint8_t byte = 0;
      auto [end, ec] = std::from_chars(hex.data() + i, hex.data() + i + 2, byte, 16);
      if (ec != std::errc() || end != hex.data() + i + 2) return at(*data, "invalid hex data '" + d + "'");
      e.data.push_back(byte);
    }
    return true;
  }
  e.data.assign(d.begin(), d.end());
  return true;
}

conf::Result<uint8_t> prefixBits(const conf::Token& t, unsigned max, std::string_view family) {
  auto v = parseUintBase0(t.text, 0xFFFF);
  if (!v || *v > max) {
    return at(t, "invalid " + std::string(family) + " bit mask length '" + t.text + "' (0 to " + std::to_string(max) +
                     ")");
  }
  return static_cast<uint8_t>(*v);
}

// `edns0 local|nsid|subnet ACTION ...`, counted as CoreDNS's newEdns0Rule counts: the action is
// checked first, then a trailing `revert` (not after unset) is taken off, then the words left.
conf::Result<bool> edns0Rule(Rule& rule, const Args& all, size_t i, const conf::Token& field) {
  Args args(all.begin() + static_cast<std::ptrdiff_t>(i), all.end());
  if (args.size() < 2) return at(field, "too few arguments for an EDNS0 rule (local, nsid or subnet, then an action)");
  EdnsRule& e = rule.edns;
  const conf::Token& kindWord = *args[0];
  const conf::Token& actionWord = *args[1];
  const std::string action = lower(actionWord.text);
  if (action == "set") {
    e.action = EdnsAction::Set;
  } else if (action == "append") {
    e.action = EdnsAction::Append;
  } else if (action == "replace") {
    e.action = EdnsAction::Replace;
  } else if (action == "unset") {
    e.action = EdnsAction::Unset;
  } else {
    std::string message = "unknown EDNS0 action '" + actionWord.text + "' (set, append, replace or unset)";
    const std::string guess = conf::didYouMean(action, {"set", "append", "replace", "unset"});
    if (!guess.empty()) message += ", did you mean '" + guess + "'?";
    return at(actionWord, message);
  }
  if (e.action != EdnsAction::Unset && args.back()->text == "revert") {
    e.revert = true;
    args.pop_back();
  }
  const std::string kind = lower(kindWord.text);
  const bool unset = e.action == EdnsAction::Unset;
  auto count = [&](size_t want, std::string_view form) -> conf::Result<bool> {
    if (args.size() == want) return true;
    const conf::Token& t = args.size() > want ? *args[want] : actionWord;
    return at(t, std::string(args.size() > want ? "too many" : "too few") + " arguments: EDNS0 " + kind + " " + action +
                     " takes " + std::string(form));
  };
  if (kind == "local") {
    e.kind = EdnsKind::Local;
    if (auto r = count(unset ? 3 : 4, unset ? "CODE" : "CODE DATA [revert]"); !r) return r.error();
    return ednsLocal(e, *args[2], unset ? nullptr : args[3]);
  }
  if (kind == "nsid") {
    e.kind = EdnsKind::Nsid;
    e.code = dns::ednsopt::NSID;
    return count(2, unset ? "nothing more" : "nothing more but [revert]");
  }
  if (kind == "subnet") {
    e.kind = EdnsKind::Subnet;
    e.code = dns::ednsopt::ClientSubnet;
    if (auto r = count(unset ? 2 : 4, unset ? "nothing more" : "IPV4_BITS IPV6_BITS [revert]"); !r) return r.error();
    if (unset) return true;
    auto v4 = prefixBits(*args[2], 32, "IPv4");
    if (!v4) return v4.error();
    auto v6 = prefixBits(*args[3], 128, "IPv6");
    if (!v6) return v6.error();
    e.v4Bits = *v4;
    e.v6Bits = *v6;
    return true;
  }
  std::string message = "unknown EDNS0 rule type '" + kindWord.text + "' (local, nsid or subnet)";
  const std::string guess = conf::didYouMean(kind, {"local", "nsid", "subnet"});
  if (!guess.empty()) message += ", did you mean '" + guess + "'?";
  return at(kindWord, message);
}

// `cname [MATCH] FROM TO`, read as CoreDNS's newCNAMERule: FROM and TO lowercased, and made
// fully qualified only for `exact` (a prefix, suffix or substring is compared as written).
conf::Result<bool> cnameRule(Rule& rule, const Args& args, size_t i, const conf::Token& field) {
  const size_t n = args.size() - i;
  if (n < 2) return at(field, "too few arguments for a cname rule ([MATCH] FROM TO)");
  if (n > 3) return at(*args[i + 3], "too many arguments for a cname rule ([MATCH] FROM TO)");
  Match match = Match::Exact;
  size_t fromAt = i;
  if (n == 3) {
    auto m = matchType(lower(args[i]->text));
    if (!m) return badMatchType(*args[i], "cname");
    match = *m;
    fromAt = i + 1;
  }
  const conf::Token& from = *args[fromAt];
  Pattern& p = rule.name;
  p.match = match;
  p.from = lower(from.text);
  p.to = lower(args[fromAt + 1]->text);
  if (match == Match::Exact) {
    p.from = normalize(p.from);
    p.to = normalize(p.to);
  }
  if (match == Match::Regex) {
    conf::Token lowered = from;
    lowered.text = p.from;
    auto re = compile(lowered, p.to, "a cname rule");
    if (!re) return re.error();
    p.re = std::move(*re);
    p.groups = std::min(highestGroup(p.to), p.re->NumberOfCapturingGroups());
  }
  return true;
}

conf::Result<Rule> parseRule(const conf::Directive& stanza, const Args& args) {
  Rule rule;
  rule.pos = stanza.name.pos;
  for (const conf::Token* t : args) rule.text += (rule.text.empty() ? "" : " ") + t->text;
  if (args.empty()) return at(stanza.name, "no rule type specified for rewrite");
  size_t i = 0;
  const std::string first = lower(args[0]->text);
  if (first == "continue" || first == "stop") {
    rule.stop = first == "stop";
    if (args.size() < 2) return at(*args[0], first + " rule must begin with a rule type");
    i = 1;
  }
  const conf::Token& field = *args[i++];
  const std::string type = lower(field.text);
  if (type == "answer") return at(field, "response rewrites must begin with a name rule");
  if (type == "name") {
    rule.field = Field::Name;
    if (auto r = nameRule(rule, args, i, field); !r) return r.error();
    return rule;
  }
  if (type == "type" || type == "class") {
    rule.field = type == "type" ? Field::Type : Field::Class;
    if (args.size() - i != 2) return at(field, type + " rules must have exactly two arguments");
    for (size_t k = 0; k < 2; ++k) {
      const conf::Token& t = *args[i + k];
      auto v = type == "type" ? logging::typeFromName(upper(t.text)) : classValue(t.text);
      if (!v) return at(t, "invalid " + type + " \"" + upper(t.text) + "\"");
      (k == 0 ? rule.from : rule.to) = *v;
    }
    return rule;
  }
  if (type == "ttl") {
    rule.field = Field::Ttl;
    auto next = nameTest(rule, args, i, 1, field);
    if (!next) return next.error();
    const conf::Token& value = *args[*next];
    if (!ttlRange(value.text, rule)) return at(value, "invalid TTL '" + value.text + "' for a ttl rule");
    return rule;
  }
  if (type == "rcode") {
    rule.field = Field::Rcode;
    auto next = nameTest(rule, args, i, 2, field);
    if (!next) return next.error();
    for (size_t k = 0; k < 2; ++k) {
      const conf::Token& t = *args[*next + k];
      auto v = rcodeValue(t.text);
      if (!v) {
        return at(t, std::string(k == 0 ? "invalid matching" : "invalid replacement") + " RCODE '" + t.text +
                         "' for a rcode rule");
      }
      (k == 0 ? rule.from : rule.to) = *v;
    }
    return rule;
  }
  if (type == "edns0") {
    rule.field = Field::Edns0;
    if (auto r = edns0Rule(rule, args, i, field); !r) return r.error();
    return rule;
  }
  if (type == "cname") {
    rule.field = Field::Cname;
    if (auto r = cnameRule(rule, args, i, field); !r) return r.error();
    return rule;
  }
  std::string message = "unknown rule type '" + field.text + "'";
  const std::string guess = conf::didYouMean(type, {"name", "type", "class", "ttl", "rcode", "edns0", "cname"});
  if (!guess.empty()) message += ", did you mean '" + guess + "'?";
  return at(field, message);
}

}  // namespace

conf::Result<Config> parseConfig(const std::vector<const conf::Directive*>& stanzas) {
  Config config;
  for (const conf::Directive* stanza : stanzas) {
    Args args;
    for (const conf::Token& t : stanza->args) args.push_back(&t);
    if (stanza->hasBlock) {
      // CoreDNS reads a block only after `rewrite`, `rewrite stop` or `rewrite continue`, and
      // takes its words as one rule, line breaks or not.
      if (args.size() >= 2) return at(stanza->name, "a rule is written on the line or in a block, not both");
      for (const conf::Directive& line : stanza->block) {
        if (line.hasBlock) return at(line.name, "a rule's block holds no other block");
        args.push_back(&line.name);
        for (const conf::Token& t : line.args) args.push_back(&t);
      }
    }
    auto rule = parseRule(*stanza, args);
    if (!rule) return rule.error();
    config.rules.push_back(std::move(*rule));
  }
  return config;
}

conf::Result<HandlerPtr> setupRewrite(const SetupContext& ctx) {
  auto config = parseConfig(ctx.stanzas);
  if (!config) return config.error();
  return HandlerPtr(std::make_shared<RewriteHandler>(std::move(*config), std::max<size_t>(1, ctx.loops.size()),
                                                        ctx.privateZones));
}

}  // namespace moat::plugins::rewrite
