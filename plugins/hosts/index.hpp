// The loaded hosts data, frozen: every answer's rdata is laid out once at load so a query only
// hashes its wire name and copies bytes. An Index never changes; a reload builds a new one.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "plugins/hosts/hosts_file.hpp"

namespace moat::plugins::hosts {

enum class Family : uint8_t { V4 = 0, V6 = 1 };

// Where addresses came from. CoreDNS keeps the file and the inline lines in separate maps and
// decides "exact name or wildcard" in each separately, then returns file answers first.
enum class Origin : uint8_t { File = 0, Inline = 1 };

// The addresses one query gets, as flat rdata: `width` bytes per record, file part first.
struct AddressHits {
  std::array<std::span<const uint8_t>, 2> parts;
  size_t width = 4;

  bool empty() const { return parts[0].empty() && parts[1].empty(); }
  size_t count() const { return (parts[0].size() + parts[1].size()) / width; }
};

class Index {
 public:
  struct Range {
    uint32_t offset = 0;
    uint32_t count = 0;
  };

  // `reverse` adds PTR data for every non-wildcard name (the default; `no_reverse` clears it).
  static std::shared_ptr<const Index> build(std::span<const HostsEntry> file,
                                            std::span<const HostsEntry> inlined, bool reverse);

  // Addresses of one family for a lowercased wire name. Per origin, an exact name with
  // addresses of that family wins; otherwise a `*.parent` entry answers for one extra label.
  AddressHits lookup(std::span<const uint8_t> lowerName, Family family) const;
  // Whether the name has any address at all (decides NODATA versus "no such name").
  bool hasAddress(std::span<const uint8_t> lowerName) const {
    return !lookup(lowerName, Family::V4).empty() || !lookup(lowerName, Family::V6).empty();
  }

  // PTR targets for an address, file entries first; each is a wire name in ptrName().
  std::span<const Range> ptr(const Address& address) const;
  std::span<const uint8_t> ptrName(Range target) const {
    return {names_.data() + target.offset, target.count};
  }

  // What coredns_hosts_entries reports: addresses per name plus names per address.
  size_t entries() const { return entries_; }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
  };
  template <class V>
  using Map = std::unordered_map<std::string, V, Hash, std::equal_to<>>;

  // [exact|wildcard][origin][family]; a wildcard `*.x` is stored under the node of `x`.
  struct Node {
    Range ranges[2][2][2];
  };

  const Node* findNode(std::span<const uint8_t> wire) const;

  Map<Node> nodes_;
  Map<Range> reverse_;          // address key -> range of targets_
  std::vector<uint8_t> v4_;     // 4 bytes per A record
  std::vector<uint8_t> v6_;     // 16 bytes per AAAA record
  std::vector<Range> targets_;  // PTR target names inside names_
  std::vector<uint8_t> names_;
  size_t entries_ = 0;
};

using IndexPtr = std::shared_ptr<const Index>;

}  // namespace moat::plugins::hosts
