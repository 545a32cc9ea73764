#include "cmd/runtime.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "conf/args.hpp"
#include "conf/zone.hpp"
#include "plugins/bind/bind.hpp"
#include "plugins/block_peer.hpp"
#include "plugins/plugin.hpp"
#include "plugins/private/private.hpp"
#include "plugins/timeouts/timeouts.hpp"
#include "plugins/tls/tls.hpp"

namespace moat::app {

namespace {

struct ListenerKey {
  std::string address;
  uint16_t port;
  bool operator<(const ListenerKey& o) const { return std::tie(port, address) < std::tie(o.port, o.address); }
};

// A port served as dns:// by one block and tls:// by another: both would take its TCP socket.
conf::Diag transportClash(const conf::ServerKey& key, const std::string& address, bool tls) {
  return conf::errorAt(key.pos, std::string(tls ? "tls" : "dns") + "://" + key.zone + " is on " +
                                    (address.empty() ? "port " : address + ":") + std::to_string(key.port) +
                                    ", which another block serves as " + (tls ? "dns://" : "tls://"));
}

}  // namespace

conf::Result<bool> checkDirectives(const conf::ServerBlock& block, std::vector<conf::Diag>& warnings) {
  std::map<std::string_view, const conf::Directive*> seen;
  for (const conf::Directive& d : block.directives) {
    const std::string& name = d.name.text;
    const plugins::PluginSpec* spec = plugins::findPlugin(name);
    if (spec == nullptr) {
      if (plugins::isIgnorablePlugin(name)) {
        warnings.push_back({d.name.pos, "plugin '" + name + "' is ignored by Moat", conf::Severity::Warning});
        continue;
      }
      if (plugins::isCoreDnsPlugin(name)) {
        return conf::errorAt(d.name.pos, "plugin '" + name + "' is not implemented by Moat");
      }
      std::string hint = plugins::suggestPlugin(name);
      return conf::errorAt(d.name.pos, "unknown directive '" + name + "'" +
                                           (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
    }
    auto [it, fresh] = seen.emplace(spec->name, &d);
    if (!fresh && spec->once) {
      return conf::errorAt(d.name.pos, "plugin '" + name + "' may appear only once per server block (first at " +
                                           std::to_string(it->second->name.pos.line) + ":" +
                                           std::to_string(it->second->name.pos.col) + ")");
    }
  }
  return true;
}

conf::Result<Runtime> buildRuntime(const conf::Corefile& corefile, const BuildOptions& options) {
  Runtime rt;
  auto table = std::make_shared<plugins::RouteTable>();
  std::map<ListenerKey, uint16_t> listenerIds;
  std::set<std::pair<uint16_t, std::string>> unfiltered;  // listener and zone of view-less blocks
  std::string baseDir = std::filesystem::path(corefile.path).parent_path().string();
  // Every handler that reports readiness in a block that loads `ready` (CoreDNS's rule).
  auto readiness = std::make_shared<std::vector<std::shared_ptr<const plugins::Readiness>>>();

  // Private zones hold for every block, so every block's `private` stanzas are read first.
  std::vector<plugins::private_zone::StanzaInput> privateStanzas;
  for (const conf::ServerBlock& block : corefile.blocks) {
    std::vector<std::string> zones;
    for (const conf::Token& key : block.keys) {
      auto parsed = conf::parseServerKey(key, options.defaultPort);
      if (!parsed) return parsed.error();
      for (const auto& k : *parsed) zones.push_back(k.zone);
    }
    for (const conf::Directive& d : block.directives) {
      if (d.name.text == "private") privateStanzas.push_back({&d, zones});
    }
  }
  auto privateZones = plugins::private_zone::buildPrivateZones(privateStanzas);
  if (!privateZones) return privateZones.error();

  for (const conf::ServerBlock& block : corefile.blocks) {
    auto checked = checkDirectives(block, rt.warnings);
    if (!checked) return checked.error();

    std::vector<conf::ServerKey> keys;
    for (const conf::Token& key : block.keys) {
      auto parsed = conf::parseServerKey(key, options.defaultPort);
      if (!parsed) return parsed.error();
      keys.insert(keys.end(), parsed->begin(), parsed->end());
    }

    plugins::SetupContext ctx;
    ctx.block = &block;
    ctx.baseDir = baseDir;
    ctx.loops = options.loops;
    ctx.warnings = &rt.warnings;
    ctx.http = &rt.http;
    ctx.lameduck = &rt.lameduck;
    ctx.readiness = readiness;
    ctx.privateZones = *privateZones;
    for (const auto& k : keys) {
      if (std::find(ctx.zones.begin(), ctx.zones.end(), k.zone) == ctx.zones.end()) ctx.zones.push_back(k.zone);
    }
    for (const conf::Directive& d : block.directives) {
      if (d.name.text == "view" && !d.args.empty()) ctx.view = d.args.front().text;
    }

    // Interface names are resolved here, on every load and reload, before the plugins whose
    // metrics carry the address in their `server` label are set up.
    std::vector<const conf::Directive*> bindStanzas;
    for (const conf::Directive& d : block.directives) {
      if (d.name.text == "bind") bindStanzas.push_back(&d);
    }
    auto addresses = plugins::bind::bindAddresses(bindStanzas);
    if (!addresses) return addresses.error();
    ctx.listenAddresses = *addresses;
    std::vector<const conf::Directive*> timeoutStanzas;
    for (const conf::Directive& d : block.directives) {
      if (d.name.text == "timeouts") timeoutStanzas.push_back(&d);
    }
    auto timeouts = plugins::timeouts::parseTimeouts(timeoutStanzas);
    if (!timeouts) return timeouts.error();
    if (auto missing = plugins::tls::missingCertificate(block, keys)) return *missing;
    // The certificate of the block's tls:// keys, read again on every load and reload.
    std::shared_ptr<boost::asio::ssl::context> tlsContext;
    if (std::any_of(keys.begin(), keys.end(), [](const conf::ServerKey& k) { return k.scheme == "tls"; })) {
      std::vector<const conf::Directive*> tlsStanzas;
      for (const conf::Directive& d : block.directives) {
        if (d.name.text == "tls") tlsStanzas.push_back(&d);
      }
      auto loaded = plugins::tls::serverContext(tlsStanzas, baseDir);
      if (!loaded) return loaded.error();
      tlsContext = *loaded;
    }

    // One instance of each plugin per block, shared by all its keys (as CoreDNS), in
    // execution order.
    auto chain = std::make_shared<plugins::Chain>();
    // CoreDNS lets classes other than IN into a listener's chains only when one of its blocks
    // loads forward or chaos (dnsserver.EnableChaos); elsewhere they are REFUSED up front.
    bool opensOtherClasses = false;
    for (const plugins::PluginSpec& spec : plugins::registry()) {
      ctx.stanzas.clear();
      for (const conf::Directive& d : block.directives) {
        if (d.name.text == spec.name) ctx.stanzas.push_back(&d);
      }
      if (ctx.stanzas.empty() && !spec.always) continue;
      // A block with no plugins stays one (REFUSED, as CoreDNS), private zones or not.
      if (ctx.stanzas.empty() && chain->handlers.empty()) continue;
      if (spec.name == "forward" || spec.name == "chaos") opensOtherClasses = true;
      auto handler = spec.setup(ctx);
      if (!handler) return handler.error();
      if (*handler) chain->add(std::move(*handler), !ctx.stanzas.empty());
    }
    for (const auto& h : chain->handlers) {
      if (auto peer = std::dynamic_pointer_cast<plugins::BlockPeer>(h)) peer->peersReady(chain->handlers);
    }
    chain->zone = ctx.zones.empty() ? "." : ctx.zones.front();
    for (const auto& h : chain->handlers) {
      if (auto filter = std::dynamic_pointer_cast<const plugins::BlockFilter>(h)) chain->filter = filter;
    }
    bool loadsReady = std::any_of(block.directives.begin(), block.directives.end(),
                                  [](const conf::Directive& d) { return d.name.text == "ready"; });
    if (loadsReady) {
      for (const auto& h : chain->handlers) {
        if (auto r = std::dynamic_pointer_cast<const plugins::Readiness>(h)) readiness->push_back(r);
      }
    }

    if (addresses->empty()) addresses->push_back("");  // every address, as CoreDNS without bind

    for (const conf::ServerKey& key : keys) {
      const bool tls = key.scheme == "tls";
      rt.banner.push_back((tls ? "tls://" : "") + key.zone + ":" + std::to_string(key.port));
      for (const std::string& address : *addresses) {
        ListenerKey lk{address, key.port};
        auto [it, fresh] = listenerIds.emplace(lk, static_cast<uint16_t>(table->listeners.size()));
        if (fresh) {
          table->listeners.emplace_back();
          rt.listeners.push_back({address, key.port, it->second});
          if (tls) rt.listeners.back().tls = tlsContext;
        } else if (bool(rt.listeners[it->second].tls) != tls) {
          return transportClash(key, address, tls);
        } else if (tls) {
          rt.listeners[it->second].tls = tlsContext;  // the last block's certificate, as CoreDNS
        }
        plugins::timeouts::applyTo(*timeouts, rt.listeners[it->second].tcp);
        plugins::ListenerRoutes& routes = table->listeners[it->second];
        // Blocks with a view may share a zone and listener with any others (they are tried in
        // Corefile order); two without one may not (CoreDNS's "already defined").
        if (!chain->filter && !unfiltered.emplace(it->second, key.zone).second) {
          return conf::errorAt(key.pos, "zone '" + key.zone + "' is already defined on " +
                                            (address.empty() ? "port " : address + ":") +
                                            std::to_string(key.port));
        }
        routes.add(key.zone, chain);
        routes.acceptsAnyClass = routes.acceptsAnyClass || opensOtherClasses;
      }
    }
  }
  rt.routes = std::move(table);
  return rt;
}

}  // namespace moat::app
