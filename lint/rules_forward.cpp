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

// One listener of this server (address, port) and the blocks it routes to, by zone.
struct Listener {
  std::string address;  // "" : every address
  uint16_t port = 53;
  std::vector<std::pair<std::string, size_t>> zones;  // zone -> index into model.blocks
};

std::vector<Listener> listenersOf(const Model& model) {
  std::vector<Listener> out;
  auto listener = [&](const std::string& address, uint16_t port) -> Listener& {
    for (Listener& l : out) {
      if (l.address == address && l.port == port) return l;
    }
    out.push_back({address, port, {}});
    return out.back();
  };
  for (size_t b = 0; b < model.blocks.size(); ++b) {
    const Block& block = model.blocks[b];
    for (const conf::ServerKey& key : block.keys) {
      if (block.binds.empty()) listener("", key.port).zones.emplace_back(key.zone, b);
      for (const std::string& bind : block.binds) listener(bind, key.port).zones.emplace_back(key.zone, b);
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

bool overlaps(const std::string& a, const std::string& b) {
  return conf::isSubzone(a, b) || conf::isSubzone(b, a);
}
const std::string& deeper(const std::string& a, const std::string& b) {
  return conf::isSubzone(a, b) ? a : b;
}

// Following forwards from block to block through the server's own listeners. A forward whose
// upstream is one of this server's listeners hands its names to whichever block serves them
// there; that is a loop only when the path comes back to the forward it started from (CoreDNS's
// forward README routes `.` through `.:5301` and `.:5302` blocks that forward elsewhere).
class LoopFinder {
 public:
  explicit LoopFinder(const Model& model) : model_(model), listeners_(listenersOf(model)) {}

  // The hops by which names under `zone` (the origin stanza's narrowed scope), sent to `u`,
  // come back to stanza `origin` of block `block`; empty when they never do.
  struct Hop {
    const Block* block;
    const Listener* listener;
    const Stanza* stanza;  // the forward of `block` that sends them on
    std::string zone;      // the names that go on
  };
  std::vector<Hop> pathBack(size_t block, size_t origin, const std::string& zone, const UpstreamAddr& u) {
    origin_ = {block, origin};
    budget_ = kMaxSteps;
    path_.clear();
    onPath_.clear();
    onPath_.push_back(origin_);
    if (follow(zone, u)) return path_;
    return {};
  }

 private:
  using State = std::pair<size_t, size_t>;  // block, stanza

  bool follow(const std::string& zone, const UpstreamAddr& u) {
    for (const Listener& l : listeners_) {
      if (!reaches(u, l)) continue;
      for (size_t b : blocksFor(l, zone)) {
        for (const auto& [z, index] : l.zones) {
          if (index != b || !overlaps(z, zone)) continue;
          if (enterBlock(b, l, deeper(z, zone))) return true;
        }
      }
    }
    return false;
  }

  // The blocks listener `l` hands names under `zone` to: the one with the longest zone that
  // holds `zone`, and every one with a zone inside it.
  std::vector<size_t> blocksFor(const Listener& l, const std::string& zone) const {
    std::vector<size_t> out;
    const std::pair<std::string, size_t>* holder = nullptr;
    for (const auto& entry : l.zones) {
      if (conf::isSubzone(zone, entry.first)) {
        if (holder == nullptr || conf::isSubzone(entry.first, holder->first)) holder = &entry;
      } else if (conf::isSubzone(entry.first, zone)) {
        out.push_back(entry.second);
      }
    }
    if (holder != nullptr) out.push_back(holder->second);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  bool enterBlock(size_t b, const Listener& l, const std::string& zone) {
    if (budget_ == 0) return false;  // a maze of blocks: give up rather than take for ever
    --budget_;
    const Block& block = model_.blocks[b];
    if (answeredBefore(block, zone)) return false;
    for (size_t s = 0; s < block.forwards.size(); ++s) {
      const Stanza& stanza = block.forwards[s];
      if (!overlaps(stanza.from, zone)) continue;
      const std::string names = deeper(stanza.from, zone);
      const auto scope = plugins::EgressScope::narrowed(stanza.from, block.zones);
      const bool blocked = plugins::egressBlockedBy(model_.privateZones.get(), scope, wireOf(names)) != nullptr;
      if (!blocked) {
        path_.push_back({&block, &l, &stanza, names});
        if (State{b, s} == origin_) return true;
        if (std::find(onPath_.begin(), onPath_.end(), State{b, s}) == onPath_.end()) {
          onPath_.push_back({b, s});
          for (const UpstreamAddr& next : stanza.upstreams) {
            if (follow(names, next)) return true;
          }
          onPath_.pop_back();
        }
        path_.pop_back();
      }
      // A stanza that holds every name left, with nothing excepted, leaves none to later ones.
      if (conf::isSubzone(names, stanza.from) && stanza.except.size() == 0 && !blocked) break;
    }
    return false;
  }

  // hosts or kubernetes answering every name under `zone` themselves (no fallthrough): the
  // names never reach this block's forward.
  static bool answeredBefore(const Block& block, const std::string& zone) {
    auto covers = [&](const std::vector<std::string>& zones, const plugins::Fall& fall) {
      if (fall.enabled()) return false;
      return std::any_of(zones.begin(), zones.end(), [&](const std::string& z) { return conf::isSubzone(zone, z); });
    };
    if (block.hosts && covers(block.hosts->zones, block.hosts->fall)) return true;
    if (block.kubernetes && covers(block.kubernetes->zones, block.kubernetes->fall)) return true;
    return false;
  }

  // Paths are searched depth first without a global visited set (a block reached with other
  // names may go elsewhere), so the steps per search are capped.
  static constexpr size_t kMaxSteps = 10000;

  const Model& model_;
  std::vector<Listener> listeners_;
  size_t budget_ = kMaxSteps;
  State origin_;
  std::vector<State> onPath_;
  std::vector<Hop> path_;
};

std::string blockName(const Block& block, const Listener& l) {
  std::string zone = block.zones.empty() ? "." : block.zones.front();
  return zone + ":" + std::to_string(l.port) + " (" + block.ast->keys.front().pos.str() + ")";
}

std::string listenText(const Listener& l) {
  return (l.address.empty() ? "every address" : l.address) + " port " + std::to_string(l.port);
}

void loops(const Model& model, size_t b, LoopFinder& finder, Findings& findings) {
  const Block& block = model.blocks[b];
  for (size_t s = 0; s < block.forwardDirectives.size() && s < block.forwards.size(); ++s) {
    const conf::Directive* d = block.forwardDirectives[s];
    const Stanza& stanza = block.forwards[s];
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
        std::vector<LoopFinder::Hop> path;
        const auto scope = plugins::EgressScope::narrowed(stanza.from, block.zones);
        for (const std::string& zone : block.zones) {
          if (!overlaps(zone, stanza.from)) continue;
          const std::string& names = deeper(zone, stanza.from);
          // Names this forward may not send (a private zone) cannot go round.
          if (plugins::egressBlockedBy(model.privateZones.get(), scope, wireOf(names)) != nullptr) continue;
          path = finder.pathBack(b, s, names, u);
          if (!path.empty()) break;
        }
        if (path.size() == 1) {
          findings.add(to.pos, "forward/loop",
                       "upstream " + u.text + " is this server itself (it listens on " +
                           listenText(*path[0].listener) + "): every forwarded query loops");
        } else if (!path.empty()) {
          std::string route = "upstream " + u.text + " is this server's block " +
                              blockName(*path[0].block, *path[0].listener);
          for (size_t h = 0; h + 1 < path.size(); ++h) {
            route += ", whose forward at " + path[h].stanza->pos.str() + " sends " + path[h].zone +
                     " on to block " + blockName(*path[h + 1].block, *path[h + 1].listener);
          }
          findings.add(to.pos, "forward/loop",
                       route + ", this forward's own: every forwarded query for " + path.back().zone +
                           " loops");
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
  LoopFinder finder(model);
  for (size_t b = 0; b < model.blocks.size(); ++b) {
    const Block& block = model.blocks[b];
    if (!block.keysOk) continue;
    loops(model, b, finder, findings);
    unreachable(model, block, findings);
  }
}

}  // namespace moat::lint
