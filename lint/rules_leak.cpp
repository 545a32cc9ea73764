// Where names leave the box: the seed leak (local names falling through to a forward wider than
// their zone), private zones sharing a resolver with `.`, and the built-in private zones that
// CoreDNS would forward and Moat keeps local (DESIGN.md §4).
#include <algorithm>

#include "conf/zone.hpp"
#include "lint/rules.hpp"
#include "lint/served.hpp"

namespace moat::lint {

namespace {

using plugins::forward::Stanza;

std::string bare(const std::string& zone) {
  return zone.size() > 1 && zone.back() == '.' ? zone.substr(0, zone.size() - 1) : zone;
}

std::string forwardText(const Stanza& s) {
  return "forward " + bare(s.from);
}

// The stanza that takes the names at `zone`: the first whose FROM covers it and whose except
// does not (a non-private name is never stopped by the egress check). Null when none does.
const Stanza* takerOf(const Block& block, const std::vector<uint8_t>& zone) {
  for (const Stanza& s : block.forwards) {
    if (s.matches(zone)) return &s;
  }
  return nullptr;
}

// Names at `zone` never reach `block` when another block on one of its ports serves a zone at
// or above `zone` that is more specific than the block's own (queries go to the longest match).
bool servedByOtherBlock(const Model& model, const Block& block, const std::string& zone) {
  size_t mine = 0;  // length of the block's zone that holds `zone`
  for (const std::string& bz : block.zones) {
    if (conf::isSubzone(zone, bz)) mine = std::max(mine, bz.size());
  }
  for (const Block& other : model.blocks) {
    // A block with a view takes only some clients' queries: the others still reach `block`.
    if (&other == &block || other.has("view")) continue;
    for (const conf::ServerKey& key : other.keys) {
      const bool samePort = std::any_of(block.keys.begin(), block.keys.end(),
                                        [&](const conf::ServerKey& k) { return k.port == key.port; });
      if (samePort && conf::isSubzone(zone, key.zone) && key.zone.size() > mine) return true;
    }
  }
  return false;
}

struct Leak {
  const Stanza* stanza = nullptr;
  std::vector<std::string> zones;    // known zones whose names leak
  std::vector<std::string> examples; // a name hosts holds in each zone, or ""
  std::vector<std::string> sources;  // "hosts (/etc/coredns/custom.hosts)", "kubernetes"
  std::string unreadable;            // a hosts file that could not be read
};

void addSource(Leak& leak, const PassedZone& p) {
  std::string source = p.plugin + (p.file.empty() ? "" : " (" + p.file + ")");
  if (std::find(leak.sources.begin(), leak.sources.end(), source) == leak.sources.end()) {
    leak.sources.push_back(std::move(source));
  }
}

std::string joinWords(const std::vector<std::string>& words, std::string_view sep) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : std::string(sep)) + w;
  return out;
}

std::string leakMessage(const Leak& leak) {
  const std::string fwd = forwardText(*leak.stanza);
  if (leak.zones.empty()) {
    return "names hosts serves fall through to " + fwd + ", which sends them upstream: hosts "
           "falls through and its file " + leak.unreadable + " cannot be read to tell their zone; "
           "declare that zone private (`private ZONE`), or scope a forward to it (`forward ZONE "
           "RESOLVER`) if a site resolver must answer it";
  }
  std::vector<std::string> bareZones;
  std::vector<std::string> shown;  // "internal.company. (api.internal.company.)"
  for (size_t i = 0; i < leak.zones.size(); ++i) {
    bareZones.push_back(bare(leak.zones[i]));
    shown.push_back(leak.zones[i] + (leak.examples[i].empty() ? "" : " (" + leak.examples[i] + ")"));
  }
  const bool one = leak.sources.size() == 1;
  const bool oneZone = leak.zones.size() == 1;
  return joinWords(leak.sources, " and ") + (one ? " serves" : " serve") + " names under " +
         listZones(shown) + (one ? " and falls" : " and fall") + " through for names " +
         (one ? "it lacks" : "they lack") + "; " + fwd + " sends those upstream, since " +
         (oneZone ? "the zone is" : "these zones are") + " not private and the forward is not scoped to " +
         (oneZone ? "it" : "them") + ". Fix: add `private " + joinWords(bareZones, " ") + "`, or " +
         (oneZone ? "`forward " + bareZones.front() + " RESOLVER...` if a site resolver must answer it"
                  : "`forward ZONE RESOLVER...` for each zone a site resolver must answer");
}

void unscopedForwards(const Model& model, const Block& block, Findings& findings) {
  if (block.forwards.empty()) return;
  std::vector<Leak> leaks;
  auto leakAt = [&](const Stanza* s) -> Leak& {
    for (Leak& l : leaks) {
      if (l.stanza == s) return l;
    }
    leaks.push_back(Leak{s, {}, {}, {}, {}});
    return leaks.back();
  };

  for (const PassedZone& p : passedOnZones(block)) {
    const std::vector<uint8_t> wire = wireOf(p.zone);
    if (wire.empty()) continue;
    if (model.privateZones->find(wire) != nullptr) continue;  // kept in by the egress check
    if (servedByOtherBlock(model, block, p.zone)) continue;
    const Stanza* taker = takerOf(block, wire);
    if (taker == nullptr) continue;
    // Scoped to exactly this zone (FROM or the block's zone): the split-DNS idiom, on purpose.
    const auto scope = plugins::EgressScope::narrowed(taker->from, block.zones);
    if (scope.matchLength(wire) >= static_cast<int>(wire.size())) {
      if (p.known || p.zone != ".") continue;
      // hosts' own zone is the root and its file unreadable: only an unscoped `forward .`
      // is the leak; report it without a zone.
    }
    Leak& leak = leakAt(taker);
    if (p.known || p.zone != ".") {
      if (std::find(leak.zones.begin(), leak.zones.end(), p.zone) == leak.zones.end()) {
        leak.zones.push_back(p.zone);
        leak.examples.push_back(p.example);
      }
      addSource(leak, p);
    }
    if (!p.known) leak.unreadable = p.file;
  }
  for (const Leak& leak : leaks) {
    findings.add(leak.stanza->pos, "leak/unscoped-forward", leakMessage(leak));
  }
}

bool isRootForward(const Block& block, const Stanza& s) {
  return s.from == "." && std::find(block.zones.begin(), block.zones.end(), ".") != block.zones.end();
}

// Every zone of the stanza's scope lies at or under a private zone.
bool scopedToPrivate(const Model& model, const Block& block, const Stanza& s) {
  const auto scope = plugins::EgressScope::narrowed(s.from, block.zones);
  if (scope.zones().empty()) return false;
  for (size_t i = 0; i < scope.zones().size(); ++i) {
    if (model.privateZones->find(scope.zones().wire(static_cast<int>(i))) == nullptr) return false;
  }
  return true;
}

void privatePublicUpstream(const Model& model, Findings& findings) {
  std::vector<std::pair<const plugins::forward::UpstreamAddr*, const Stanza*>> rootUpstreams;
  for (const Block& block : model.blocks) {
    for (const Stanza& s : block.forwards) {
      if (!isRootForward(block, s)) continue;
      for (const auto& u : s.upstreams) rootUpstreams.emplace_back(&u, &s);
    }
  }
  for (const Block& block : model.blocks) {
    for (const Stanza& s : block.forwards) {
      if (!scopedToPrivate(model, block, s)) continue;
      for (const auto& u : s.upstreams) {
        auto shared = std::find_if(rootUpstreams.begin(), rootUpstreams.end(),
                                   [&](const auto& r) { return *r.first == u; });
        if (shared == rootUpstreams.end()) continue;
        findings.add(s.pos, "leak/private-public-upstream",
                     "forward " + bare(s.from) + " (a private zone) sends to " + u.text +
                         ", which forward . at " + shared->second->pos.str() +
                         " also uses: probably a public resolver that cannot answer private "
                         "names; point it at the zone's own resolver");
        break;
      }
    }
  }
}

void privateBuiltins(const Model& model, const Block& block, Findings& findings) {
  for (const Stanza& s : block.forwards) {
    const auto scope = plugins::EgressScope::narrowed(s.from, block.zones);
    std::vector<std::string> named;
    size_t reverse = 0;
    for (const plugins::PrivateZone& zone : model.privateZones->zones()) {
      if (!zone.builtin) continue;
      const std::vector<uint8_t> wire = wireOf(zone.name);
      const int within = scope.matchLength(wire);
      // Only zones the stanza would send, i.e. strictly inside its scope and not excepted.
      if (within < 0 || within >= static_cast<int>(wire.size()) || !s.matches(wire)) continue;
      if (isReverseZone(zone.name)) {
        ++reverse;
      } else {
        named.push_back(zone.name);
      }
    }
    if (named.empty() && reverse == 0) continue;
    if (reverse > 0) {
      named.push_back(std::to_string(reverse) + " private reverse zone" + (reverse == 1 ? "" : "s"));
    }
    const std::string what = listZones(named, named.size());
    findings.add(s.pos, "moat/private-builtin",
                 "CoreDNS would forward names under " + what + " with " + forwardText(s) +
                     "; Moat keeps them local (built-in private zones, NXDOMAIN unless a plugin "
                     "answers). If a site resolver serves one of them, scope a forward to it "
                     "(`forward corp.internal RESOLVER`), or write `private off` to forward them "
                     "all");
  }
}

}  // namespace

void checkLeaks(const Model& model, Findings& findings) {
  for (const Block& block : model.blocks) {
    if (!block.keysOk) continue;
    unscopedForwards(model, block, findings);
    privateBuiltins(model, block, findings);
  }
  privatePublicUpstream(model, findings);
}

}  // namespace moat::lint
