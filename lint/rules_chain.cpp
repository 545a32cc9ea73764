// The chain of one block: plugins that never see a query, a written order that reads like a
// different behaviour, and TTLs out of the useful range.
#include <algorithm>

#include "conf/zone.hpp"
#include "lint/rules.hpp"
#include "plugins/plugin.hpp"

namespace moat::lint {

namespace {

// Plugins with a place in the query path (DESIGN.md §3); the others configure the server.
constexpr std::string_view kQueryPath[] = {"cancel",   "errors", "log",  "dnstap",     "local", "dns64",
                                           "any",      "chaos",  "cache", "rewrite",   "autopath", "template",
                                           "transfer", "hosts",  "k8s_external", "kubernetes", "file", "auto",
                                           "secondary", "loop", "forward",    "whoami"};

bool onQueryPath(std::string_view name) {
  return std::find(std::begin(kQueryPath), std::end(kQueryPath), name) != std::end(kQueryPath);
}

size_t executionIndex(std::string_view name) {
  const auto plugins = plugins::registry();
  for (size_t i = 0; i < plugins.size(); ++i) {
    if (plugins[i].name == name) return i;
  }
  return plugins.size();
}

std::string at(const conf::Directive& d) {
  return std::to_string(d.name.pos.line) + ":" + std::to_string(d.name.pos.col);
}

// hosts, kubernetes or file without fallthrough whose zones hold every zone of the block answer
// every query (a miss is NXDOMAIN, or SERVFAIL for hosts), so whatever runs after them is dead.
void deadAfter(const Block& block, std::string_view plugin, const std::vector<std::string>& zones,
               const plugins::Fall& fall, Findings& findings) {
  if (fall.enabled() || block.zones.empty()) return;
  const bool coversBlock = std::all_of(block.zones.begin(), block.zones.end(), [&](const std::string& bz) {
    return std::any_of(zones.begin(), zones.end(), [&](const std::string& z) { return conf::isSubzone(bz, z); });
  });
  if (!coversBlock) return;
  const conf::Directive* owner = block.first(plugin);
  const size_t mine = executionIndex(plugin);
  for (const conf::Directive& d : block.ast->directives) {
    const std::string& name = d.name.text;
    if (!onQueryPath(name) || executionIndex(name) <= mine) continue;
    findings.add(d.name.pos, "plugin/unreachable",
                 "'" + name + "' never sees a query: " + std::string(plugin) + " at " + at(*owner) +
                     " runs first, answers every name of this block (" + listZones(block.zones) +
                     ") and has no fallthrough; add `fallthrough` to " + std::string(plugin) +
                     " or remove '" + name + "'");
  }
}

void unreachablePlugins(const Block& block, Findings& findings) {
  if (block.hosts) deadAfter(block, "hosts", block.hosts->zones, block.hosts->fall, findings);
  if (block.kubernetes) {
    deadAfter(block, "kubernetes", block.kubernetes->zones, block.kubernetes->fall, findings);
  }
  if (block.file) {
    std::vector<std::string> zones;
    for (const auto& source : block.file->zones) zones.push_back(source.origin);
    deadAfter(block, "file", zones, block.file->fall, findings);
  }
}

void writtenOrder(const Block& block, Findings& findings) {
  std::vector<const conf::Directive*> written;  // first line of each query-path plugin
  for (const conf::Directive& d : block.ast->directives) {
    if (!onQueryPath(d.name.text)) continue;
    const bool seen = std::any_of(written.begin(), written.end(),
                                  [&](const conf::Directive* w) { return w->name.text == d.name.text; });
    if (!seen) written.push_back(&d);
  }
  // The first plugin written after one that runs later than it.
  for (size_t i = 0; i < written.size(); ++i) {
    const conf::Directive* d = written[i];
    auto later = std::find_if(written.begin(), written.begin() + static_cast<ptrdiff_t>(i),
                              [&](const conf::Directive* w) {
                                return executionIndex(w->name.text) > executionIndex(d->name.text);
                              });
    if (later == written.begin() + static_cast<ptrdiff_t>(i)) continue;
    std::vector<const conf::Directive*> executed = written;
    std::stable_sort(executed.begin(), executed.end(), [](const conf::Directive* a, const conf::Directive* b) {
      return executionIndex(a->name.text) < executionIndex(b->name.text);
    });
    std::string order;
    for (const conf::Directive* e : executed) order += (order.empty() ? "" : ", ") + e->name.text;
    findings.add(d->name.pos, "order/written",
                 "'" + d->name.text + "' is written after '" + (*later)->name.text +
                     "' but runs before it: plugins run in a fixed order, not the Corefile's; "
                     "here: " + order);
    return;  // one finding per block says it all
  }
}

void ttlAt(const conf::Directive& directive, uint32_t ttl, std::string_view plugin, Findings& findings) {
  const conf::Directive* line = optionLine(directive, "ttl");
  const conf::Pos& pos = line != nullptr && !line->args.empty() ? line->args[0].pos : directive.name.pos;
  if (ttl == 0) {
    findings.add(pos, "ttl/range",
                 std::string(plugin) + " ttl 0: clients and caches never keep these answers, so "
                 "every lookup comes back here; use a few seconds at least");
  } else if (ttl > 3600) {
    findings.add(pos, "ttl/range",
                 std::string(plugin) + " ttl " + std::to_string(ttl) +
                     " is above an hour: a changed answer stays stale that long in every cache");
  }
}

void ttls(const Block& block, Findings& findings) {
  if (block.hosts) {
    if (const conf::Directive* d = block.first("hosts")) ttlAt(*d, block.hosts->ttl, "hosts", findings);
  }
  if (block.kubernetes) {
    if (const conf::Directive* d = block.first("kubernetes")) {
      ttlAt(*d, block.kubernetes->ttl, "kubernetes", findings);
    }
  }
  if (block.cache) {
    const conf::Directive* d = block.first("cache");
    if (d == nullptr) return;
    // The TTL argument (`cache 86400`) or `success CAPACITY TTL` raises the cap CoreDNS keeps at
    // an hour; the parser already rejects 0.
    const uint32_t ttl = block.cache->success.maxTtl;
    if (ttl > 3600) {
      const conf::Directive* success = optionLine(*d, "success");
      const conf::Pos& pos = success != nullptr && success->args.size() > 1 ? success->args[1].pos
                             : !d->args.empty()                             ? d->args[0].pos
                                                                            : d->name.pos;
      findings.add(pos, "ttl/range",
                   "cache keeps answers up to " + std::to_string(ttl) +
                       " seconds, above an hour: a changed record stays stale that long");
    }
  }
}

}  // namespace

void checkChains(const Model& model, Findings& findings) {
  for (const Block& block : model.blocks) {
    writtenOrder(block, findings);
    ttls(block, findings);
    if (block.keysOk) unreachablePlugins(block, findings);
  }
}

}  // namespace moat::lint
