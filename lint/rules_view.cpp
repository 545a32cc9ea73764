// Split horizon: blocks with a `view`, and the `acl` in front of them. view/shadowed and
// view/never find views that can never take a query; view/split-horizon-leak a block that
// forwards upstream the names another view answers locally; acl/unreachable-rule acl lines
// that never apply.
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "conf/zone.hpp"
#include "lint/rules.hpp"
#include "lint/served.hpp"

namespace moat::lint {

namespace {

using Cidrs = std::vector<plugins::Cidr>;
using plugins::forward::Stanza;
using plugins::view::View;

// The client networks every query the view admits comes from: the meet of its expressions
// that are only about client networks (CIDRs nest or are apart, so two meet in the smaller);
// nullopt when no expression is.
std::optional<Cidrs> clientSet(const View& v) {
  std::optional<Cidrs> set;
  for (const auto& e : v.expressions()) {
    auto nets = e.clientNetworks();
    if (!nets) continue;
    if (!set) {
      set = std::move(*nets);
      continue;
    }
    Cidrs meet;
    for (const auto& a : *set) {
      for (const auto& b : *nets) {
        if (a.covers(b)) meet.push_back(b);
        else if (b.covers(a)) meet.push_back(a);
      }
    }
    set = std::move(meet);
  }
  return set;
}

// Every network of `inner` lies inside one of `outer`.
bool coveredBy(const Cidrs& inner, const Cidrs& outer) {
  return std::all_of(inner.begin(), inner.end(), [&](const plugins::Cidr& c) {
    return std::any_of(outer.begin(), outer.end(), [&](const plugins::Cidr& o) { return o.covers(c); });
  });
}

// Every query `later` admits, `earlier` admits too: earlier asks only for client networks, and
// each of its expressions takes in every network later's do.
bool takesAllOf(const View& earlier, const View& later) {
  const auto mine = clientSet(later);
  if (!mine || mine->empty() || earlier.expressions().empty()) return false;
  return std::all_of(earlier.expressions().begin(), earlier.expressions().end(), [&](const auto& e) {
    const auto nets = e.clientNetworks();
    return nets && coveredBy(*mine, *nets);
  });
}

std::string viewName(const Block& b) {
  const conf::Directive* d = b.first("view");
  return d != nullptr && !d->args.empty() ? d->args.front().text : "";
}

conf::Pos viewPos(const Block& b) { return b.first("view")->name.pos; }

std::string describe(const Block& b) {
  return b.has("view") ? "view " + viewName(b) : "the block without a view at " + b.ast->keys.front().pos.str();
}

// Blocks that share a zone, a port and a bind address, in Corefile order.
std::map<std::tuple<std::string, uint16_t, std::string>, std::vector<const Block*>> groups(const Model& model) {
  std::map<std::tuple<std::string, uint16_t, std::string>, std::vector<const Block*>> out;
  for (const Block& block : model.blocks) {
    if (!block.keysOk) continue;
    std::vector<std::string> binds = block.binds;
    if (binds.empty()) binds.push_back("");
    for (const conf::ServerKey& key : block.keys) {
      for (const std::string& bind : binds) {
        auto& list = out[{key.zone, key.port, bind}];
        if (list.empty() || list.back() != &block) list.push_back(&block);
      }
    }
  }
  return out;
}

void neverServed(const Model& model, Findings& findings) {
  std::set<const Block*> reported;
  for (const Block& b : model.blocks) {
    if (!b.view) continue;
    const auto set = clientSet(*b.view);
    if (set && set->empty()) {
      std::string exprs;
      for (const auto& e : b.view->expressions()) {
        if (e.clientNetworks()) exprs += (exprs.empty() ? "" : " and ") + e.text();
      }
      findings.add(viewPos(b), "view/never",
                   "view " + viewName(b) + " can never take a query: its expressions want the client in " +
                       "networks that do not meet (" + exprs + ")");
      reported.insert(&b);
    }
  }
  for (const auto& [key, blocks] : groups(model)) {
    const Block* catchAll = nullptr;
    std::vector<const Block*> earlier;
    for (const Block* b : blocks) {
      if (!b->has("view")) {
        if (catchAll == nullptr) catchAll = b;
        continue;
      }
      const std::string where = "zone " + std::get<0>(key) + " on port " + std::to_string(std::get<1>(key));
      if (reported.count(b) != 0) continue;
      if (catchAll != nullptr) {
        findings.add(viewPos(*b), "view/shadowed",
                     "view " + viewName(*b) + " never takes a query for " + where + ": " +
                         describe(*catchAll) + ", written before it, takes them all (blocks are " +
                         "tried top to bottom). Write the blocks with views first");
        reported.insert(b);
        continue;
      }
      for (const Block* e : earlier) {
        if (b->view && e->view && takesAllOf(*e->view, *b->view)) {
          findings.add(viewPos(*b), "view/shadowed",
                       "view " + viewName(*b) + " never takes a query for " + where + ": view " +
                           viewName(*e) + " at " + viewPos(*e).str() +
                           ", tried first, takes every client network this one does");
          reported.insert(b);
          break;
        }
      }
      earlier.push_back(b);
    }
  }
}

bool shareListener(const Block& a, const Block& b) {
  for (const conf::ServerKey& ka : a.keys) {
    for (const conf::ServerKey& kb : b.keys) {
      if (ka.port != kb.port) continue;
      if (a.binds.empty() || b.binds.empty()) return true;
      for (const std::string& x : a.binds) {
        if (std::find(b.binds.begin(), b.binds.end(), x) != b.binds.end()) return true;
      }
    }
  }
  return false;
}

// The longest of the block's zones that holds `zone`, or "" when none does.
std::string holdingZone(const Block& b, const std::string& zone) {
  std::string best;
  for (const std::string& bz : b.zones) {
    if (conf::isSubzone(zone, bz) && bz.size() > best.size()) best = bz;
  }
  return best;
}

// Queries for names at `zone` can reach `b`: it holds the zone, and no block without a view on
// a shared listener holds it more specifically (that one would take them all).
bool reaches(const Model& model, const Block& b, const std::string& zone) {
  const std::string mine = holdingZone(b, zone);
  if (mine.empty()) return false;
  return std::none_of(model.blocks.begin(), model.blocks.end(), [&](const Block& other) {
    return &other != &b && !other.has("view") && shareListener(b, other) &&
           holdingZone(other, zone).size() > mine.size();
  });
}

// The first acl stanza guarding `zone` starts with a line that refuses, filters or drops every
// query of every client: the block keeps the zone's names to itself.
bool aclRefusesAll(const Block& b, const std::string& zone) {
  if (!b.acl) return false;
  for (const auto& rule : b.acl->rules) {
    const bool guards = std::any_of(rule.zones.begin(), rule.zones.end(),
                                    [&](const std::string& z) { return conf::isSubzone(zone, z); });
    if (!guards || rule.policies.empty()) continue;
    const auto& first = rule.policies.front();
    return first.types.everything() && first.nets.everything() &&
           first.action != plugins::acl::Action::Allow;
  }
  return false;
}

void splitHorizonLeaks(const Model& model, Findings& findings) {
  std::set<std::pair<const Stanza*, std::string>> reported;
  for (const Block& local : model.blocks) {
    if (!local.view) continue;  // one view answers the names; the question is what the others do
    for (const PassedZone& z : servedZones(local)) {
      const std::vector<uint8_t> wire = wireOf(z.zone);
      if (wire.empty() || model.privateZones->find(wire) != nullptr) continue;  // kept in anyway
      for (const Block& other : model.blocks) {
        if (&other == &local || !shareListener(local, other) || !reaches(model, other, z.zone)) continue;
        const auto theirs = servedZones(other);
        if (std::any_of(theirs.begin(), theirs.end(), [&](const PassedZone& t) { return t.zone == z.zone; })) {
          continue;  // they answer it themselves
        }
        if (aclRefusesAll(other, z.zone)) continue;
        const auto taker = std::find_if(other.forwards.begin(), other.forwards.end(),
                                        [&](const Stanza& s) { return s.matches(wire); });
        if (taker == other.forwards.end()) continue;
        if (!reported.emplace(&*taker, z.zone).second) continue;
        const std::string source = z.plugin == "hosts" ? "hosts (" + z.file + ")" : z.plugin;
        findings.add(taker->pos, "view/split-horizon-leak",
                     describe(other) + " forwards names under " + z.zone + " upstream (forward " +
                         taker->from + " " + taker->toText + "), while view " + viewName(local) +
                         " answers them locally from " + source +
                         (z.example.empty() ? "" : ", e.g. " + z.example) + ": its clients' queries " +
                         "for them leave the machine. Fix: `private " + z.zone.substr(0, z.zone.size() - 1) +
                         "` keeps them in for every view, or `acl " +
                         z.zone.substr(0, z.zone.size() - 1) + " { block }` in this block refuses them");
      }
    }
  }
}

void unreachableAclRules(const Model& model, Findings& findings) {
  for (const Block& b : model.blocks) {
    if (!b.acl) continue;
    for (const auto& rule : b.acl->rules) {
      for (size_t i = 0; i + 1 < rule.policies.size(); ++i) {
        const auto& p = rule.policies[i];
        if (!p.types.everything() || !p.nets.everything()) continue;
        for (size_t j = i + 1; j < rule.policies.size(); ++j) {
          findings.add(rule.policies[j].pos, "acl/unreachable-rule",
                       "this acl line never applies: '" + std::string(plugins::acl::actionName(p.action)) +
                           "' at " + p.pos.str() + ", before it, matches every query of every client");
        }
        break;
      }
    }
  }
}

}  // namespace

void checkViews(const Model& model, Findings& findings) {
  neverServed(model, findings);
  splitHorizonLeaks(model, findings);
  unreachableAclRules(model, findings);
}

}  // namespace moat::lint
