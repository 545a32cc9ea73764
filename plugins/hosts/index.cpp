#include "plugins/hosts/index.hpp"

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
  // Gather per name first, then lay every list out contiguously so a Range can describe it.
  struct Gathered {
    std::vector<uint8_t> data[2][2][2];
  };
  Map<Gathered> gathered;
  Map<std::vector<const dns::WireName*>> ptrs;

  auto gather = [&](std::span<const HostsEntry> entries, Origin origin) {
    for (const HostsEntry& e : entries) {
      std::span<const uint8_t> owner = e.name;
      if (e.wildcard) owner = owner.subspan(2);  // file `*.x` under `x`
      auto& list =
          gathered[std::string(keyOf(owner))]
              .data[e.wildcard ? 1 : 0][static_cast<int>(origin)][e.address.isV4() ? 0 : 1];
      list.insert(list.end(), e.address.view().begin(), e.address.view().end());
      ++index->entries_;
      // A wildcard is a pattern, not a host: no address can point back at it.
      if (reverse && !e.wildcard) {
        ptrs[std::string(e.address.key())].push_back(&e.name);
        ++index->entries_;
      }
    }
  };
  gather(file, Origin::File);
  gather(inlined, Origin::Inline);

  index->nodes_.reserve(gathered.size());
  for (auto& [name, g] : gathered) {
    Node node{};
    for (int kind = 0; kind < 2; ++kind) {
      for (int origin = 0; origin < 2; ++origin) {
        for (int fam = 0; fam < 2; ++fam) {
          const auto& bytes = g.data[kind][origin][fam];
          auto& pool = fam == 0 ? index->v4_ : index->v6_;
          size_t width = fam == 0 ? 4 : 16;
          node.ranges[kind][origin][fam] = {static_cast<uint32_t>(pool.size() / width),
                                            static_cast<uint32_t>(bytes.size() / width)};
          pool.insert(pool.end(), bytes.begin(), bytes.end());
        }
      }
    }
    index->nodes_.emplace(name, node);
  }

  index->reverse_.reserve(ptrs.size());
  for (auto& [address, names] : ptrs) {
    Range range{static_cast<uint32_t>(index->targets_.size()), static_cast<uint32_t>(names.size())};
    for (const dns::WireName* name : names) {
      index->targets_.push_back(
          {static_cast<uint32_t>(index->names_.size()), static_cast<uint32_t>(name->size())});
      index->names_.insert(index->names_.end(), name->begin(), name->end());
    }
    index->reverse_.emplace(address, range);
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
