#include "plugins/transfer/config.hpp"

#include <cstdint>

#include "conf/args.hpp"
#include "conf/zone.hpp"
#include "dns/server/http.hpp"

namespace moat::plugins::transfer {

namespace {

constexpr std::string_view kPlugin = "transfer";

// "1.2.3.4", "12:34::56", "1.2.3.4:5300", "[12:34::56]:5300", as CoreDNS's parse.HostPort
// reads them: an IP address, never a name.
std::optional<Destination> parseDestination(std::string_view text) {
  Destination d;
  if (auto bare = parseAddress(text)) {
    d.host.assign(text);
    d.address = *bare;
    return d;
  }
  std::string host;
  uint16_t port = 0;
  if (!dns::server::splitHostPort(text, host, port)) return std::nullopt;
  auto address = parseAddress(host);
  if (!address) return std::nullopt;
  d.host = std::move(host);
  d.address = *address;
  d.port = port;
  return d;
}

}  // namespace

std::string Destination::text() const {
  const std::string port = ":" + std::to_string(this->port);
  return address.v4 ? host + port : "[" + host + "]" + port;
}

bool Stanza::allows(const dns::Endpoint& client) const {
  if (anyone) return true;
  const auto key = clientKey(client);
  if (!key) return false;
  for (const Destination& d : to) {
    if (d.address.v4 == key->v4 && d.address.value == key->value) return true;
  }
  return false;
}

const Stanza* TransferConfig::match(std::span<const uint8_t> lowerName) const {
  const Stanza* best = nullptr;
  size_t bestLength = 0;
  for (const Stanza& stanza : stanzas) {
    const int index = stanza.zoneSet.longestMatch(lowerName);
    if (index == dns::ZoneSet::kNone) continue;
    const size_t length = stanza.zoneSet.wire(index).size();
    if (best == nullptr || length > bestLength) {
      best = &stanza;
      bestLength = length;
    }
  }
  return best;
}

conf::Result<TransferConfig> parseTransfer(const SetupContext& ctx) {
  TransferConfig cfg;
  for (const conf::Directive* d : ctx.stanzas) {
    Stanza stanza;
    stanza.pos = d->name.pos;
    for (const conf::Token& arg : d->args) {
      auto zones = conf::normalizeZone(arg);
      if (!zones) return zones.error();
      stanza.zones.insert(stanza.zones.end(), zones->begin(), zones->end());
    }
    if (stanza.zones.empty()) stanza.zones = ctx.zones;
    if (stanza.zones.empty()) stanza.zones.push_back(".");
    for (const std::string& zone : stanza.zones) stanza.zoneSet.add(zone);

    const conf::Directive* sourceLine = nullptr;
    for (const conf::Directive& opt : d->block) {
      const std::string& word = opt.name.text;
      if (word == "to") {
        if (auto ok = conf::expectArgs(opt, kPlugin, 1, SIZE_MAX); !ok) return ok.error();
        for (const conf::Token& arg : opt.args) {
          if (arg.text == "*") {
            stanza.anyone = true;
            continue;
          }
          auto destination = parseDestination(arg.text);
          if (!destination) {
            return conf::errorAt(arg, kPlugin,
                                 "'to' must name an IP address, IP:port or '*', got '" + arg.text + "'");
          }
          stanza.to.push_back(std::move(*destination));
        }
      } else if (word == "source") {
        if (auto ok = conf::expectArgs(opt, kPlugin, 1, 1); !ok) return ok.error();
        if (sourceLine != nullptr) return conf::errorAt(opt.name, kPlugin, "source already specified");
        // An address only, no port: NOTIFYs leave from an ephemeral port of it.
        if (!parseAddress(opt.args[0].text)) {
          return conf::errorAt(opt.args[0], kPlugin,
                               "invalid source address '" + opt.args[0].text + "'");
        }
        stanza.source = opt.args[0].text;
        sourceLine = &opt;
      } else {
        return conf::unknownOption(opt, kPlugin, {"to", "source"});
      }
      if (opt.hasBlock) return conf::errorAt(opt.name, kPlugin, "'" + word + "' takes no block");
    }
    if (!stanza.anyone && stanza.to.empty()) {
      return conf::errorAt(d->name, kPlugin, "'to' is required");
    }
    cfg.stanzas.push_back(std::move(stanza));
  }
  return cfg;
}

}  // namespace moat::plugins::transfer
