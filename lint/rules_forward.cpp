// forward stanzas on their own: upstreams that lead back to this server, and stanzas that can
// never take a query.
#include <algorithm>
#include <optional>

#include "conf/zone.hpp"
#include "lint/rules.hpp"

namespace moat::lint {

namespace {

namespace ip = boost::asio::ip;
using plugins::forward::Stanza;
using plugins::forward::UpstreamAddr;

struct Listener {
  std::string address;  // "" : every address
  uint16_t port = 53;
};

std::vector<Listener> listenersOf(const Model& model) {
  std::vector<Listener> out;
  for (const Block& block : model.blocks) {
    for (const conf::ServerKey& key : block.keys) {
      if (block.binds.empty()) out.push_back({"", key.port});
      for (const std::string& b : block.binds) out.push_back({b, key.port});
    }
  }
  return out;
}

std::optional<ip::address> addressOf(const std::string& text) {
  boost::system::error_code ec;
  auto a = ip::make_address(text, ec);
  if (ec) return std::nullopt;
  return a;
}

// True when a query sent to `u` would arrive at `l`.
bool reaches(const UpstreamAddr& u, const Listener& l) {
  if (u.port != l.port) return false;
  const auto bound = addressOf(l.address);
  const bool everywhere = !bound || bound->is_unspecified();
  if (everywhere) return u.address.is_loopback() || u.address.is_unspecified();
  return u.address == *bound || u.address.is_unspecified();
}

bool isResolvedStub(const UpstreamAddr& u) {
  return u.address.is_v4() && u.address.to_v4() == ip::make_address_v4("127.0.0.53");
}

bool isFileArgument(const conf::Token& to) {
  if (to.text.find("://") != std::string::npos) return false;
  return !plugins::forward::parseHostPort(to.text, 53).has_value();
}

void loops(const Model& model, const Block& block, Findings& findings) {
  const std::vector<Listener> listeners = listenersOf(model);
  for (const conf::Directive* d : block.forwardDirectives) {
    for (size_t i = 1; i < d->args.size(); ++i) {
      const conf::Token& to = d->args[i];
      auto addrs = plugins::forward::parseTo(to, model.baseDir, nullptr);
      if (!addrs || addrs->empty()) continue;  // setup reported it
      if (isFileArgument(to)) {
        const bool allLoopback = std::all_of(addrs->begin(), addrs->end(), [](const UpstreamAddr& u) {
          return u.address.is_loopback();
        });
        if (allLoopback) {
          std::string list;
          for (const UpstreamAddr& u : *addrs) list += (list.empty() ? "" : ", ") + u.address.to_string();
          findings.add(to.pos, "forward/loop",
                       "'" + to.text + "' lists only loopback nameservers (" + list +
                           "): on a host running a local stub, or inside a pod, this forwards "
                           "back to this server or to nothing; name real upstream addresses");
          continue;
        }
      }
      for (const UpstreamAddr& u : *addrs) {
        auto self = std::find_if(listeners.begin(), listeners.end(),
                                 [&](const Listener& l) { return reaches(u, l); });
        if (self != listeners.end()) {
          findings.add(to.pos, "forward/loop",
                       "upstream " + u.text + " is this server itself (it listens on " +
                           (self->address.empty() ? "every address" : self->address) + " port " +
                           std::to_string(self->port) + "): every forwarded query loops");
        } else if (isResolvedStub(u)) {
          findings.add(to.pos, "forward/loop",
                       "upstream " + u.text + " is the systemd-resolved stub: inside a pod or "
                       "container it is this server's own loopback, and on a host it may forward "
                       "back here; name the real upstream resolvers");
        }
      }
    }
  }
}

std::string zonesText(const std::vector<std::string>& zones) {
  return zones.empty() ? std::string(".") : listZones(zones);
}

// Names at or under `zone` that `earlier` would not send and so leave for later stanzas: an
// except inside the zone, or a private zone the earlier stanza may not send to.
bool leavesSomething(const Model& model, const Block& block, const Stanza& earlier,
                     const std::string& zone) {
  for (size_t i = 0; i < earlier.except.size(); ++i) {
    if (conf::isSubzone(earlier.except.text(static_cast<int>(i)), zone)) return true;
  }
  const auto scope = plugins::EgressScope::narrowed(earlier.from, block.zones);
  for (const plugins::PrivateZone& p : model.privateZones->zones()) {
    if (!conf::isSubzone(p.name, zone) && !conf::isSubzone(zone, p.name)) continue;
    // The deeper of the two is where the private names start.
    const std::string& deeper = conf::isSubzone(p.name, zone) ? p.name : zone;
    if (plugins::egressBlockedBy(model.privateZones.get(), scope, wireOf(deeper)) != nullptr) return true;
  }
  return false;
}

void unreachable(const Model& model, const Block& block, Findings& findings) {
  for (size_t j = 0; j < block.forwards.size(); ++j) {
    const Stanza& later = block.forwards[j];
    const auto scope = plugins::EgressScope::narrowed(later.from, block.zones);
    if (scope.zones().empty()) {
      findings.add(later.pos, "forward/unreachable",
                   "FROM " + later.from + " lies outside this block's zones (" +
                       zonesText(block.zones) + "): no query for it ever reaches this forward");
      continue;
    }
    for (size_t i = 0; i < j; ++i) {
      const Stanza& earlier = block.forwards[i];
      if (!earlier.matches(later.fromWire)) continue;
      if (leavesSomething(model, block, earlier, later.from)) continue;
      findings.add(later.pos, "forward/unreachable",
                   "forward " + later.from + " never matches: forward " + earlier.from + " at " +
                       earlier.pos.str() + " comes first and takes every name under " + later.from +
                       "; write the narrower forward first");
      break;
    }
  }
}

}  // namespace

void checkForwards(const Model& model, Findings& findings) {
  for (const Block& block : model.blocks) {
    if (!block.keysOk) continue;
    loops(model, block, findings);
    unreachable(model, block, findings);
  }
}

}  // namespace moat::lint
