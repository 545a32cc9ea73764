// What the process binds: zones defined twice on one listener by blocks without a view, a port
// served as both dns:// and tls://, and HTTP endpoints (health, ready, prometheus) that collide
// with each other or with a DNS port.
#include <map>
#include <tuple>

#include "dns/server/http.hpp"
#include "lint/rules.hpp"

namespace moat::lint {

namespace {

void duplicateBlocks(const Model& model, Findings& findings) {
  using Key = std::tuple<std::string, uint16_t, std::string>;  // zone, port, bind address
  std::map<Key, conf::Pos> first;
  for (const Block& block : model.blocks) {
    // Blocks with a view share zones and listeners with any others (view/shadowed looks at
    // their order); only two without one clash.
    if (block.has("view")) continue;
    std::vector<std::string> binds = block.binds;
    if (binds.empty()) binds.push_back("");
    for (const conf::ServerKey& key : block.keys) {
      for (const std::string& bind : binds) {
        auto [it, fresh] = first.emplace(Key{key.zone, key.port, bind}, key.pos);
        if (fresh) continue;
        findings.add(key.pos, "block/duplicate",
                     "zone " + key.zone + " is already defined on " +
                         (bind.empty() ? "port " : bind + " port ") + std::to_string(key.port) +
                         " (first at " + it->second.str() + "): the server refuses to start");
      }
    }
  }
}

// One port served as dns:// by a block and tls:// by another (same bind address, or either on
// every address): the server refuses to start, as both need its TCP socket.
void transportClashes(const Model& model, Findings& findings) {
  using Key = std::pair<uint16_t, std::string>;  // port, bind address
  std::map<Key, const conf::ServerKey*> first;
  for (const Block& block : model.blocks) {
    std::vector<std::string> binds = block.binds;
    if (binds.empty()) binds.push_back("");
    for (const conf::ServerKey& key : block.keys) {
      for (const std::string& bind : binds) {
        auto [it, fresh] = first.emplace(Key{key.port, bind}, &key);
        if (fresh || it->second->scheme == key.scheme) continue;
        findings.add(key.pos, "config/invalid",
                     key.scheme + "://" + key.zone + " is on " + (bind.empty() ? "port " : bind + " port ") +
                         std::to_string(key.port) + ", which " + it->second->scheme + "://" + it->second->zone +
                         " (at " + it->second->pos.str() + ") also serves: the server refuses to start");
      }
    }
  }
}

struct Endpoint {
  std::string kind;  // health, ready, prometheus, dns
  std::string text;  // the address as written
  std::string host;  // "" : every address
  uint16_t port = 0;
  conf::Pos pos;
};

std::string canonicalHost(std::string host) {
  if (host == "localhost") return "127.0.0.1";
  if (host == "0.0.0.0" || host == "::" || host == "[::]") return "";
  return host;
}

bool overlaps(const Endpoint& a, const Endpoint& b) {
  return a.port == b.port && (a.host.empty() || b.host.empty() || a.host == b.host);
}

void httpClashes(const Model& model, Findings& findings) {
  std::vector<Endpoint> dns;
  std::vector<Endpoint> http;
  for (const Block& block : model.blocks) {
    for (const conf::ServerKey& key : block.keys) {
      if (block.binds.empty()) dns.push_back({"dns", "", "", key.port, key.pos});
      for (const std::string& b : block.binds) dns.push_back({"dns", b, canonicalHost(b), key.port, key.pos});
    }
    for (const HttpEndpoint& e : block.http) {
      std::string host;
      uint16_t port = 0;
      if (!dns::server::splitHostPort(e.address, host, port)) continue;
      http.push_back({e.kind, e.address, canonicalHost(host), port, e.pos});
    }
  }
  for (size_t j = 0; j < http.size(); ++j) {
    const Endpoint& e = http[j];
    bool reported = false;
    for (size_t i = 0; i < j && !reported; ++i) {
      const Endpoint& o = http[i];
      if (!overlaps(o, e) || (o.kind == e.kind && o.text == e.text)) continue;  // shared, fine
      // Moat serves every path of one address string on one listener; two strings for the
      // same socket fail the second bind. CoreDNS binds each plugin's own listener, so there
      // two kinds on one address fail too.
      const bool sameText = o.text == e.text;
      findings.add(e.pos, "http/address-clash",
                   e.kind + " on " + e.text + " clashes with " + o.kind + " on " + o.text + " at " +
                       o.pos.str() +
                       (sameText ? ": CoreDNS cannot bind both (each plugin opens its own listener)"
                                 : ": the second bind fails and the server does not start") +
                       "; give each its own port");
      reported = true;
    }
    for (const Endpoint& d : dns) {
      if (reported || !overlaps(d, e)) continue;
      findings.add(e.pos, "http/address-clash",
                   e.kind + " on " + e.text + " uses a port DNS listens on (" +
                       d.pos.str() + "): DNS over TCP and HTTP cannot share it");
      reported = true;
    }
  }
}

}  // namespace

void checkListeners(const Model& model, Findings& findings) {
  duplicateBlocks(model, findings);
  transportClashes(model, findings);
  httpClashes(model, findings);
}

}  // namespace moat::lint
