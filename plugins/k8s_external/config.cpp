// k8s_external's Corefile syntax: `k8s_external [ZONE...] { apex APEX; ttl TTL; headless;
// fallthrough [ZONE...] }`, read as CoreDNS's setup.go reads it.
#include <algorithm>

#include "conf/args.hpp"
#include "conf/zone.hpp"
#include "plugins/k8s_external/k8s_external.hpp"

namespace moat::plugins::k8s_external {

namespace {

constexpr std::string_view kPlugin = "k8s_external";

// APEX.ZONE as text; "dns" under "." is "dns.".
std::string under(std::string_view label, const std::string& zone) {
  return std::string(label) + (zone == "." ? "." : "." + zone);
}

}  // namespace

conf::Result<Config> parseConfig(const SetupContext& ctx) {
  if (ctx.stanzas.empty()) return conf::errorAt(conf::Pos{}, "k8s_external: no stanza to set up");
  if (ctx.stanzas.size() > 1) {
    return conf::errorAt(ctx.stanzas[1]->name, kPlugin, "may appear only once per server block");
  }
  const conf::Directive& d = *ctx.stanzas[0];
  // CoreDNS checks at start that the block loads kubernetes, whose services it answers for.
  const bool withKubernetes =
      ctx.block != nullptr &&
      std::any_of(ctx.block->directives.begin(), ctx.block->directives.end(),
                  [](const conf::Directive& other) { return other.name.text == "kubernetes"; });
  if (!withKubernetes) {
    return conf::errorAt(d.name, kPlugin,
                         "needs the kubernetes plugin in the same server block (its services are "
                         "what this zone answers)");
  }

  Config cfg;
  for (const conf::Token& arg : d.args) {
    auto zones = conf::normalizeZone(arg);
    if (!zones) return zones.error();
    for (std::string& z : *zones)
      if (std::find(cfg.zones.begin(), cfg.zones.end(), z) == cfg.zones.end()) cfg.zones.push_back(std::move(z));
  }
  if (d.args.empty()) cfg.zones = ctx.zones;

  for (const conf::Directive& opt : d.block) {
    const std::string& name = opt.name.text;
    if (name == "ttl") {
      if (auto ok = conf::expectArgs(opt, kPlugin, 1, 1); !ok) return ok.error();
      auto ttl = conf::parseInt(opt.args[0], kPlugin, "ttl", 0, kMaxTtl);
      if (!ttl) return ttl.error();
      cfg.ttl = static_cast<uint32_t>(*ttl);
    } else if (name == "apex") {
      if (auto ok = conf::expectArgs(opt, kPlugin, 1, 1); !ok) return ok.error();
      const std::string& apex = opt.args[0].text;
      // Each zone must still be a valid name with ns1.hostmaster under its apex.
      for (const std::string& zone : cfg.zones.empty() ? std::vector<std::string>{"."} : cfg.zones) {
        if (apex.empty() || apex.front() == '.' || apex.back() == '.' ||
            !dns::nameFromText(under("hostmaster." + apex, zone))) {
          return conf::errorAt(opt.args[0], kPlugin,
                               "apex must be a relative name (a label such as 'dns') that fits "
                               "under zone " + zone + ", got '" + apex + "'");
        }
      }
      cfg.apex = apex;
    } else if (name == "headless") {
      if (auto ok = conf::expectArgs(opt, kPlugin, 0, 0); !ok) return ok.error();
      cfg.headless = true;
    } else if (name == "fallthrough") {
      auto fall = Fall::parse(opt);
      if (!fall) return fall.error();
      cfg.fall = std::move(*fall);
    } else {
      return conf::unknownOption(opt, kPlugin, {"apex", "ttl", "headless", "fallthrough"});
    }
  }
  return cfg;
}

conf::Result<HandlerPtr> setupK8sExternal(const SetupContext& ctx) {
  auto config = parseConfig(ctx);
  if (!config) return config.error();
  return HandlerPtr(std::make_shared<K8sExternal>(std::move(*config), std::max<size_t>(1, ctx.loops.size())));
}

}  // namespace moat::plugins::k8s_external
