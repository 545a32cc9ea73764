// `private` stanzas and the built-in private zones -> one PrivateZones for the configuration.
#include <algorithm>
#include <array>

#include "conf/args.hpp"
#include "conf/zone.hpp"
#include "plugins/private/private.hpp"

namespace moat::plugins::private_zone {

namespace {

constexpr std::string_view kPlugin = "private";
constexpr std::string_view kRfc6303 = "RFC 6303: reverse zone of a private, link-local or loopback range";

// The nibble reverse zone of ::1 (RFC 6303 §4.3).
constexpr std::string_view kLoopback6 =
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.";

constexpr std::array<BuiltinZone, 31> kBuiltins = {{
    {"localhost.", "RFC 6761 §6.3: always the loopback host, answered 127.0.0.1 / ::1"},
    {"invalid.", "RFC 6761 §6.4: guaranteed never to exist"},
    {"local.", "RFC 6762: multicast DNS names, meaningless to a unicast resolver upstream"},
    {"home.arpa.", "RFC 8375: residential home networks"},
    {"internal.", "ICANN Board resolution of 29 July 2024: reserved for private use, never delegated"},
    {"10.in-addr.arpa.", kRfc6303},
    {"16.172.in-addr.arpa.", kRfc6303}, {"17.172.in-addr.arpa.", kRfc6303},
    {"18.172.in-addr.arpa.", kRfc6303}, {"19.172.in-addr.arpa.", kRfc6303},
    {"20.172.in-addr.arpa.", kRfc6303}, {"21.172.in-addr.arpa.", kRfc6303},
    {"22.172.in-addr.arpa.", kRfc6303}, {"23.172.in-addr.arpa.", kRfc6303},
    {"24.172.in-addr.arpa.", kRfc6303}, {"25.172.in-addr.arpa.", kRfc6303},
    {"26.172.in-addr.arpa.", kRfc6303}, {"27.172.in-addr.arpa.", kRfc6303},
    {"28.172.in-addr.arpa.", kRfc6303}, {"29.172.in-addr.arpa.", kRfc6303},
    {"30.172.in-addr.arpa.", kRfc6303}, {"31.172.in-addr.arpa.", kRfc6303},
    {"168.192.in-addr.arpa.", kRfc6303},
    {"254.169.in-addr.arpa.", kRfc6303},
    {"127.in-addr.arpa.", kRfc6303},
    {"d.f.ip6.arpa.", "RFC 6303 §4.4: IPv6 unique local addresses (fd00::/8; fc00::/8 is unassigned)"},
    {"8.e.f.ip6.arpa.", "RFC 6303 §4.5: IPv6 link-local fe80::/10"},
    {"9.e.f.ip6.arpa.", "RFC 6303 §4.5: IPv6 link-local fe80::/10"},
    {"a.e.f.ip6.arpa.", "RFC 6303 §4.5: IPv6 link-local fe80::/10"},
    {"b.e.f.ip6.arpa.", "RFC 6303 §4.5: IPv6 link-local fe80::/10"},
    {kLoopback6, "RFC 6303 §4.3: reverse zone of the IPv6 loopback address ::1"},
}};

struct Options {
  uint32_t negttl = 30;
  bool refuse = false;
};

conf::Result<Options> parseOptions(const conf::Directive& d) {
  Options o;
  for (const conf::Directive& option : d.block) {
    const std::string& word = option.name.text;
    if (word == "negttl") {
      auto ok = conf::expectArgs(option, kPlugin, 1, 1);
      if (!ok) return ok.error();
      auto ttl = conf::parseInt(option.args[0], kPlugin, "negttl", 0, 86400);
      if (!ttl) return ttl.error();
      o.negttl = static_cast<uint32_t>(*ttl);
    } else if (word == "refuse") {
      auto ok = conf::expectArgs(option, kPlugin, 0, 0);
      if (!ok) return ok.error();
      o.refuse = true;
    } else {
      return conf::unknownOption(option, kPlugin, {"negttl", "refuse"});
    }
  }
  return o;
}

}  // namespace

std::span<const BuiltinZone> builtinZones() { return kBuiltins; }

conf::Result<PrivateZonesPtr> buildPrivateZones(std::span<const StanzaInput> stanzas) {
  bool builtinsOff = false;
  std::vector<PrivateZone> declared;
  for (const StanzaInput& in : stanzas) {
    const conf::Directive& d = *in.directive;
    if (d.args.size() == 1 && d.args[0].text == "off") {
      if (d.hasBlock) return conf::errorAt(d.args[0], kPlugin, "'off' takes no options");
      builtinsOff = true;
      continue;
    }
    auto options = parseOptions(d);
    if (!options) return options.error();
    // Each zone with the token to blame if it turns out to be a duplicate.
    std::vector<std::pair<std::string, const conf::Token*>> zones;
    for (const conf::Token& arg : d.args) {
      if (arg.text == "off") return conf::errorAt(arg, kPlugin, "'off' must be the only argument");
      auto normalised = conf::normalizeZone(arg);
      if (!normalised) return normalised.error();
      for (std::string& z : *normalised) {
        if (z == ".") {
          return conf::errorAt(arg, kPlugin, "the root zone cannot be private (no name could ever leave)");
        }
        zones.emplace_back(std::move(z), &arg);
      }
    }
    if (d.args.empty()) {
      if (in.blockZones.empty() ||
          std::find(in.blockZones.begin(), in.blockZones.end(), ".") != in.blockZones.end()) {
        return conf::errorAt(d.name, kPlugin,
                             "a bare 'private' in a root block would make every name private; "
                             "name the zones");
      }
      // A block may list one zone on several ports ("a.org:53 a.org:1053"): one zone here.
      for (const std::string& z : in.blockZones) {
        bool seen = std::any_of(zones.begin(), zones.end(), [&](const auto& e) { return e.first == z; });
        if (!seen) zones.emplace_back(z, &d.name);
      }
    }
    for (auto& [z, token] : zones) {
      auto dup = std::find_if(declared.begin(), declared.end(),
                              [&name = z](const PrivateZone& p) { return p.name == name; });
      if (dup != declared.end()) {
        return conf::errorAt(*token, kPlugin, "zone " + z + " is already private (at " +
                                                  dup->pos.str() + ")");
      }
      declared.push_back(PrivateZone{std::move(z), options->negttl, options->refuse, false, d.name.pos, {}});
    }
  }
  auto zones = std::make_shared<PrivateZones>();
  if (!builtinsOff) {
    for (const BuiltinZone& b : builtinZones()) {
      zones->add(PrivateZone{std::string(b.name), 30, false, true, {}, std::string(b.why)});
    }
  }
  // Declared after the built-ins so an explicit stanza's options replace a built-in's.
  for (PrivateZone& p : declared) zones->add(std::move(p));
  return PrivateZonesPtr(std::move(zones));
}

}  // namespace moat::plugins::private_zone
