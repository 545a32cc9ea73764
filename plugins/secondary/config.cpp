#include "plugins/secondary/config.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>

#include "conf/args.hpp"
#include "conf/zone.hpp"

namespace moat::plugins::secondary {

namespace {

constexpr std::string_view kPlugin = "secondary";

bool parsePort(std::string_view text, uint16_t& port) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535) return false;
  port = static_cast<uint16_t>(value);
  return true;
}

// `transfer from ADDRESS...`: the only form CoreDNS's secondary takes today (`transfer to`
// moved to the transfer plugin).
conf::Result<std::vector<Primary>> parseTransfer(const conf::Directive& opt) {
  if (opt.args.empty()) return conf::errorAt(opt.name, kPlugin, "expected 'transfer from ADDRESS...'");
  const conf::Token& direction = opt.args[0];
  if (direction.text == "to") {
    return conf::errorAt(direction, kPlugin,
                         "'transfer to' is not a secondary property any more; use the transfer plugin");
  }
  if (direction.text != "from") {
    return conf::errorAt(direction, kPlugin, "unknown property '" + direction.text + "', expected 'transfer from ADDRESS...'");
  }
  if (opt.args.size() < 2) return conf::errorAt(direction, kPlugin, "'transfer from' needs at least one ADDRESS");
  std::vector<Primary> primaries;
  for (size_t i = 1; i < opt.args.size(); ++i) {
    const conf::Token& arg = opt.args[i];
    if (arg.text == "*") return conf::errorAt(arg, kPlugin, "can't use '*' in transfer from");
    Primary primary;
    if (!parsePrimary(arg.text, primary)) {
      return conf::errorAt(arg, kPlugin, "not an IP address or IP:port: '" + arg.text + "'");
    }
    primaries.push_back(std::move(primary));
  }
  return primaries;
}

}  // namespace

bool parsePrimary(std::string_view text, Primary& out) {
  std::string host(text);
  uint16_t port = 53;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return false;
    host = std::string(text.substr(1, close - 1));
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !parsePort(rest.substr(1), port))) return false;
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    const size_t colon = text.find(':');
    host = std::string(text.substr(0, colon));
    if (!parsePort(text.substr(colon + 1), port)) return false;
  }
  Primary p;
  in_addr v4{};
  in6_addr v6{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    auto& sa = reinterpret_cast<sockaddr_in&>(p.address.addr);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr = v4;
    p.address.len = sizeof(sockaddr_in);
    p.text = host + ":" + std::to_string(port);
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    auto& sa = reinterpret_cast<sockaddr_in6&>(p.address.addr);
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(port);
    sa.sin6_addr = v6;
    p.address.len = sizeof(sockaddr_in6);
    p.text = "[" + host + "]:" + std::to_string(port);
  } else {
    return false;
  }
  out = std::move(p);
  return true;
}

conf::Result<SecondaryConfig> parseSecondary(const SetupContext& ctx) {
  SecondaryConfig cfg;
  for (const conf::Directive* stanza : ctx.stanzas) {
    const conf::Directive& d = *stanza;
    std::vector<std::string> origins;
    for (const conf::Token& arg : d.args) {
      auto zones = conf::normalizeZone(arg);
      if (!zones) return zones.error();
      origins.insert(origins.end(), zones->begin(), zones->end());
    }
    if (origins.empty()) origins = ctx.zones;

    std::vector<Primary> primaries;
    for (const conf::Directive& opt : d.block) {
      const std::string& word = opt.name.text;
      if (word == "transfer") {
        auto more = parseTransfer(opt);
        if (!more) return more.error();
        primaries.insert(primaries.end(), more->begin(), more->end());
      } else if (word == "fallthrough") {
        auto fall = Fall::parse(opt);
        if (!fall) return fall.error();
        cfg.fall = std::move(*fall);
      } else if (word == "catalog") {
        return conf::errorAt(opt.name, kPlugin, "catalog zones (RFC 9432) are not implemented by Moat");
      } else {
        return conf::unknownOption(opt, kPlugin, {"transfer", "fallthrough"});
      }
    }
    if (primaries.empty()) {
      return conf::errorAt(d.name, kPlugin, "secondary zones require a 'transfer from ADDRESS' property");
    }
    for (const std::string& origin : origins) {
      const bool twice = std::ranges::any_of(cfg.zones, [&](const PulledZoneConfig& z) { return z.origin == origin; });
      if (twice) return conf::errorAt(d.name, kPlugin, "zone " + origin + " is pulled twice in this block");
      cfg.zones.push_back(PulledZoneConfig{origin, primaries, d.name.pos});
    }
  }
  return cfg;
}

}  // namespace moat::plugins::secondary
