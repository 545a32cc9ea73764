#include "lint/served.hpp"

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>

#include "conf/zone.hpp"
#include "dns/name.hpp"
#include "plugins/hosts/hosts_file.hpp"

namespace moat::lint {

namespace {

std::optional<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return text.str();
}

// "api.internal.company." -> "internal.company."; "." for a single label.
std::string parentOf(const std::string& name) {
  const size_t dot = name.find('.');
  if (dot == std::string::npos || dot + 1 >= name.size()) return ".";
  return name.substr(dot + 1);
}

// Top-level domains anyone can register under: two letters (country codes) and the common
// generic ones. Declaring one of them private would be absurd, so an entry directly under one
// (`mycompany.com`) stands for its own zone; under any other (`nas.lan`) for its parent.
bool isPublicTld(std::string_view zone) {
  static constexpr std::string_view kGeneric[] = {"com.", "net.", "org.", "info.", "biz.", "edu.",
                                                  "gov.", "mil.", "int.", "app.", "dev.", "cloud."};
  return zone.size() == 3 || std::find(std::begin(kGeneric), std::end(kGeneric), zone) != std::end(kGeneric);
}

// The zone whose other names a hosts entry stands for: its parent, unless that is the root or
// a public top-level domain. Empty when the entry stands for nothing to keep in.
std::string zoneOfEntry(const plugins::hosts::HostsEntry& entry) {
  // 0.0.0.0 and :: are sinkholes (ad and tracker blocking): public names, meant to be public.
  const auto bytes = entry.address.view();
  if (std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; })) return "";
  const std::string name = dns::nameToText(entry.name);
  const std::string parent = parentOf(name);
  if (parent == ".") return "";  // a single-label name: its misses are what `forward .` is for
  if (parentOf(parent) == "." && isPublicTld(parent)) return entry.wildcard ? "" : name;
  return parent;
}

void addUnique(std::vector<std::string>& zones, std::string zone) {
  if (std::find(zones.begin(), zones.end(), zone) == zones.end()) zones.push_back(std::move(zone));
}

// The zones below `zone` whose names `fall` lets through: `zone` itself when the fall covers
// it, otherwise the fall zones that lie inside it.
std::vector<std::string> fallZonesWithin(const plugins::Fall& fall, const std::string& zone) {
  if (!fall.enabled()) return {};
  if (fallCovers(fall, zone)) return {zone};
  std::vector<std::string> out;
  for (size_t i = 0; i < fall.zones().size(); ++i) {
    const std::string& f = fall.zones().text(static_cast<int>(i));
    if (conf::isSubzone(f, zone)) addUnique(out, f);
  }
  return out;
}

// Does a name at `zone` get past `zones`/`fall` of a plugin that answers its own zones?
bool passes(const std::vector<std::string>& zones, const plugins::Fall& fall, const std::string& zone) {
  const bool mine = std::any_of(zones.begin(), zones.end(),
                                [&](const std::string& z) { return conf::isSubzone(zone, z); });
  return !mine || fallCovers(fall, zone);
}

// `zone` cut down to the block's zones (names outside them never reach this block).
std::vector<std::string> withinBlock(const Block& block, const std::string& zone) {
  std::vector<std::string> out;
  for (const std::string& bz : block.zones) {
    if (conf::isSubzone(zone, bz)) {
      addUnique(out, zone);
    } else if (conf::isSubzone(bz, zone)) {
      addUnique(out, bz);
    }
  }
  return out;
}

void fromHosts(const Block& block, std::vector<PassedZone>& out) {
  if (!block.hosts || !block.hosts->fall.enabled()) return;
  const plugins::hosts::HostsConfig& cfg = *block.hosts;
  dns::ZoneSet zoneSet;
  for (const std::string& z : cfg.zones) zoneSet.add(z);

  std::string text;
  for (const std::string& line : cfg.inlineLines) text += line + "\n";
  const std::optional<std::string> file = readFile(cfg.path);
  if (file) text += *file;

  std::vector<std::string> zones;
  std::vector<std::string> examples;  // parallel to zones
  for (const plugins::hosts::HostsEntry& entry : plugins::hosts::parseHostsText(text, zoneSet)) {
    const std::string name = dns::nameToText(entry.name);
    const std::string zone = zoneOfEntry(entry);
    if (zone.empty()) continue;
    for (std::string& z : fallZonesWithin(cfg.fall, zone)) {
      if (std::find(zones.begin(), zones.end(), z) != zones.end()) continue;
      examples.push_back(conf::isSubzone(name, z) ? name : "");
      zones.push_back(std::move(z));
    }
  }
  for (size_t i = 0; i < zones.size(); ++i) {
    out.push_back(PassedZone{zones[i], "hosts", true, cfg.path, examples[i]});
  }
  if (!file) {
    // Which names the file holds is unknown: the hosts zones stand for them.
    for (const std::string& hz : cfg.zones) {
      for (std::string& z : fallZonesWithin(cfg.fall, hz)) {
        out.push_back(PassedZone{std::move(z), "hosts", false, cfg.path, ""});
      }
    }
  }
}

void fromKubernetes(const Block& block, std::vector<PassedZone>& out) {
  if (!block.kubernetes || !block.kubernetes->fall.enabled()) return;
  const plugins::kubernetes::KubernetesConfig& cfg = *block.kubernetes;
  for (const std::string& kz : cfg.zones) {
    if (isReverseZone(kz)) continue;
    for (std::string& z : fallZonesWithin(cfg.fall, kz)) {
      if (!isReverseZone(z)) out.push_back(PassedZone{std::move(z), "kubernetes", true, "", ""});
    }
  }
}

}  // namespace

bool isReverseZone(std::string_view zone) {
  return conf::isSubzone(zone, "in-addr.arpa.") || conf::isSubzone(zone, "ip6.arpa.");
}

bool fallCovers(const plugins::Fall& fall, std::string_view zone) {
  if (!fall.enabled()) return false;
  if (fall.all()) return true;
  const std::vector<uint8_t> wire = wireOf(zone);
  return !wire.empty() && fall.through(wire);
}

std::vector<PassedZone> servedZones(const Block& block) {
  std::vector<PassedZone> out;
  if (block.hosts) {
    dns::ZoneSet zoneSet;
    for (const std::string& z : block.hosts->zones) zoneSet.add(z);
    std::string text;
    for (const std::string& line : block.hosts->inlineLines) text += line + "\n";
    if (auto file = readFile(block.hosts->path)) text += *file;
    for (const plugins::hosts::HostsEntry& entry : plugins::hosts::parseHostsText(text, zoneSet)) {
      const std::string zone = zoneOfEntry(entry);
      const bool seen = std::any_of(out.begin(), out.end(), [&](const PassedZone& p) { return p.zone == zone; });
      if (zone.empty() || seen) continue;
      out.push_back(PassedZone{zone, "hosts", true, block.hosts->path, dns::nameToText(entry.name)});
    }
  }
  if (block.kubernetes) {
    for (const std::string& kz : block.kubernetes->zones) {
      if (!isReverseZone(kz)) out.push_back(PassedZone{kz, "kubernetes", true, "", ""});
    }
  }
  return out;
}

std::vector<PassedZone> passedOnZones(const Block& block) {
  std::vector<PassedZone> raw;
  fromHosts(block, raw);
  fromKubernetes(block, raw);

  std::vector<PassedZone> out;
  for (const PassedZone& p : raw) {
    // Execution order: hosts, then kubernetes. A hosts name must also get past kubernetes, a
    // kubernetes name past hosts (which runs first).
    if (p.plugin == "hosts" && block.kubernetes &&
        !passes(block.kubernetes->zones, block.kubernetes->fall, p.zone)) {
      continue;
    }
    if (p.plugin == "kubernetes" && block.hosts &&
        !passes(block.hosts->zones, block.hosts->fall, p.zone)) {
      continue;
    }
    for (std::string& z : withinBlock(block, p.zone)) {
      PassedZone q = p;
      q.zone = std::move(z);
      out.push_back(std::move(q));
    }
  }
  // A zone inside another one of the same kind adds nothing: `private` of the outer covers it.
  std::vector<PassedZone> minimal;
  for (const PassedZone& p : out) {
    const bool covered = std::any_of(out.begin(), out.end(), [&](const PassedZone& o) {
      return &o != &p && o.known == p.known && conf::isSubzone(p.zone, o.zone) &&
             (o.zone != p.zone || &o < &p);
    });
    if (!covered) minimal.push_back(p);
  }
  return minimal;
}

}  // namespace moat::lint
