#include "plugins/hosts/index.hpp"

#include <algorithm>
#include <tuple>

namespace moat::plugins::hosts {

namespace {

std::string_view keyOf(std::span<const uint8_t> wire) {
  return {reinterpret_cast<const char*>(wire.data()), wire.size()};
}

constexpr size_t widthOf(Family family) { return family == Family::V4 ? 4 : 16; }

}  // namespace

std::shared_ptr<const Index> Index::build(std::span<const HostsEntry> file,
                                          std::span<const HostsEntry> inlined, bool reverse) {
  auto index = std::make_shared<Index>();
  // Entries are sorted (stably: file order is answer order) by owner, then slot, and each run
  // is laid out contiguously so a Range describes it. Sorting pointers instead of gathering
  // per-name lists keeps a million-entry file to two allocations per name: the map keys.
  struct Item {
    std::string_view owner;
    const HostsEntry* entry;
    uint8_t kind, origin, fam;
  };
  std::vector<Item> items;
  items.reserve(file.size() + inlined.size());
  size_t ptrCount = 0;
  auto add = [&](std::span<const HostsEntry> entries, Origin origin) {
    for (const HostsEntry& e : entries) {
      std::span<const uint8_t> owner = e.name;
      if (e.wildcard) owner = owner.subspan(2);  // file `*.x` under `x`
      items.push_back({keyOf(owner), &e, static_cast<uint8_t>(e.wildcard ? 1 : 0),
                       static_cast<uint8_t>(origin), static_cast<uint8_t>(e.address.isV4() ? 0 : 1)});
      // A wildcard is a pattern, not a host: no address can point back at it.
      if (reverse && !e.wildcard) ++ptrCount;
    }
  };
  add(file, Origin::File);
  add(inlined, Origin::Inline);
  index->entries_ = items.size() + ptrCount;

  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    if (a.owner != b.owner) return a.owner < b.owner;
    return std::tie(a.kind, a.origin, a.fam) < std::tie(b.kind, b.origin, b.fam);
  });
  for (size_t i = 0; i < items.size();) {
    Node node{};
    const std::string_view owner = items[i].owner;
    for (; i < items.size() && items[i].owner == owner; ++i) {
      const Item& it = items[i];
      auto& pool = it.fam == 0 ? index->v4_ : index->v6_;
      Range& range = node.ranges[it.kind][it.origin][it.fam];
      if (range.count == 0) range.offset = static_cast<uint32_t>(pool.size() / (it.fam == 0 ? 4 : 16));
      ++range.count;
      auto bytes = it.entry->address.view();
      pool.insert(pool.end(), bytes.begin(), bytes.end());
    }
    index->nodes_.emplace(std::string(owner), node);
  }
  std::vector<Item>().swap(items);
  if (!reverse) return index;

  std::vector<const HostsEntry*> hosts;
  hosts.reserve(ptrCount);
  for (auto entries : {file, inlined}) {
    for (const HostsEntry& e : entries) {
      if (!e.wildcard) hosts.push_back(&e);
    }
  }
  std::stable_sort(hosts.begin(), hosts.end(), [](const HostsEntry* a, const HostsEntry* b) {
    return a->address.key() < b->address.key();
  });
  index->targets_.reserve(hosts.size());
  for (size_t i = 0; i < hosts.size();) {
    const std::string_view address = hosts[i]->address.key();
    Range range{static_cast<uint32_t>(index->targets_.size()), 0};
    for (; i < hosts.size() && hosts[i]->address.key() == address; ++i) {
      const dns::WireName& name = hosts[i]->name;
      index->targets_.push_back({static_cast<uint32_t>(index->names_.size()), static_cast<uint32_t>(name.size())});
      index->names_.insert(index->names_.end(), name.begin(), name.end());
      ++range.count;
    }
    index->reverse_.emplace(std::string(address), range);
  }
  return index;
}

const Index::Node* Index::findNode(std::span<const uint8_t> wire) const {
  auto it = nodes_.find(keyOf(wire));
  return it == nodes_.end() ? nullptr : &it->second;
}

AddressHits Index::lookup(std::span<const uint8_t> name, Family family) const {
  AddressHits hits;
  hits.width = widthOf(family);
  const auto& pool = family == Family::V4 ? v4_ : v6_;
  const int fam = static_cast<int>(family);

  const Node* exact = findNode(name);
  // A wildcard stands for exactly one label, so only the parent of a name with at least two
  // labels can hold one (CoreDNS: "*." + the name minus its first label, none for "x." or ".").
  const Node* wild = nullptr;
  bool wildSearched = false;

  for (int origin = 0; origin < 2; ++origin) {
    Range r{};
    if (exact != nullptr) r = exact->ranges[0][origin][fam];
    if (r.count == 0) {
      if (!wildSearched) {
        wildSearched = true;
        if (!name.empty() && name[0] != 0 && size_t{name[0]} + 1 < name.size() &&
            name[name[0] + 1u] != 0) {
          wild = findNode(name.subspan(name[0] + 1u));
        }
      }
      if (wild != nullptr) r = wild->ranges[1][origin][fam];
    }
    hits.parts[origin] =
        std::span<const uint8_t>(pool).subspan(r.offset * hits.width, r.count * hits.width);
  }
  return hits;
}

std::span<const Index::Range> Index::ptr(const Address& address) const {
  auto it = reverse_.find(address.key());
  if (it == reverse_.end()) return {};
  return std::span<const Range>(targets_).subspan(it->second.offset, it->second.count);
}

}  // namespace moat::plugins::hosts
