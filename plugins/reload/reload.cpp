#include "plugins/reload/reload.hpp"

#include "conf/args.hpp"
#include "dns/ldns.hpp"

namespace moat::plugins::reload {

namespace {

constexpr std::string_view kPlugin = "reload";
using std::chrono::duration_cast;
using std::chrono::milliseconds;

// Length-prefixed fields, so "a b" and "ab" hash differently.
void appendField(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
}

void appendDirective(std::string& out, const conf::Directive& d) {
  out += 'D';
  appendField(out, d.name.text);
  for (const conf::Token& a : d.args) appendField(out, a.text);
  if (d.hasBlock) {
    out += '{';
    for (const conf::Directive& child : d.block) appendDirective(out, child);
    out += '}';
  }
}

}  // namespace

conf::Result<Config> parseConfig(const conf::Directive& stanza) {
  Config c;
  if (stanza.hasBlock) return conf::errorAt(stanza.name, kPlugin, "takes no block");
  if (stanza.args.size() > 2) return conf::errorAt(stanza.args[2], kPlugin, "expected at most INTERVAL and JITTER");
  if (!stanza.args.empty()) {
    auto interval = conf::parseDuration(stanza.args[0], kPlugin, "interval");
    if (!interval) return interval.error();
    if (*interval < std::chrono::seconds(2)) {
      return conf::errorAt(stanza.args[0], kPlugin, "interval must be at least 2s");
    }
    c.interval = duration_cast<milliseconds>(*interval);
    c.jitter = c.interval / 2;
  }
  if (stanza.args.size() == 2) {
    auto jitter = conf::parseDuration(stanza.args[1], kPlugin, "jitter");
    if (!jitter) return jitter.error();
    // 0 is allowed (no jitter); otherwise at least 1s, and never more than half the interval.
    if (jitter->count() != 0 && *jitter < std::chrono::seconds(1)) {
      return conf::errorAt(stanza.args[1], kPlugin, "jitter must be 0 or at least 1s");
    }
    c.jitter = std::min(duration_cast<milliseconds>(*jitter), c.interval / 2);
  }
  return c;
}

conf::Result<std::optional<Config>> findConfig(const conf::Corefile& corefile) {
  for (const conf::ServerBlock& block : corefile.blocks) {
    for (const conf::Directive& d : block.directives) {
      if (d.name.text != kPlugin) continue;
      auto c = parseConfig(d);
      if (!c) return c.error();
      return std::optional<Config>(*c);
    }
  }
  return std::optional<Config>{};
}

conf::Result<HandlerPtr> setupReload(const SetupContext& ctx) {
  for (const conf::Directive* d : ctx.stanzas) {
    auto c = parseConfig(*d);
    if (!c) return c.error();
  }
  return HandlerPtr{};
}

std::string corefileHash(const conf::Corefile& corefile) {
  std::string text;
  for (const conf::ServerBlock& block : corefile.blocks) {
    text += 'B';
    for (const conf::Token& key : block.keys) appendField(text, key.text);
    for (const conf::Directive& d : block.directives) appendDirective(text, d);
  }
  unsigned char digest[LDNS_SHA512_DIGEST_LENGTH];
  ldns_sha512(reinterpret_cast<const unsigned char*>(text.data()), static_cast<unsigned>(text.size()), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(sizeof digest * 2);
  for (unsigned char b : digest) {
    hex += kHex[b >> 4];
    hex += kHex[b & 15];
  }
  return hex;
}

}  // namespace moat::plugins::reload
