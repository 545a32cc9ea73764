// Fuzz target: hosts(5) text as the hosts plugin reads a file, then the index built from it.
// The first byte picks the zones the block serves and whether PTR data is built. Every entry
// must be a valid lowercase name inside those zones, found again by a lookup of its family,
// and (with PTR data) reachable from its address. Reverse-name parsing runs on every name.
#include <algorithm>
#include <string>
#include <vector>

#include "dns/name.hpp"
#include "dns/wire.hpp"
#include "dns/zone_set.hpp"
#include "fuzz/fuzz_util.hpp"
#include "plugins/hosts/hosts_file.hpp"
#include "plugins/hosts/index.hpp"

namespace {

using namespace moat;
namespace hosts = plugins::hosts;

const dns::ZoneSet& zonesFor(uint8_t pick) {
  static const auto make = [](std::initializer_list<const char*> zones) {
    dns::ZoneSet set;
    for (const char* z : zones) set.add(z);
    return set;
  };
  static const dns::ZoneSet kAll[] = {
      make({"."}),
      make({"example.org.", "10.in-addr.arpa."}),
      make({"example.", "8.b.d.0.1.0.0.2.ip6.arpa.", "in-addr.arpa."}),
  };
  return kAll[pick % std::size(kAll)];
}

bool lowercase(std::span<const uint8_t> wire) {
  size_t off = 0;
  while (off < wire.size() && wire[off] != 0) {
    const size_t len = wire[off++];
    for (size_t i = 0; i < len; ++i, ++off) {
      if (wire[off] >= 'A' && wire[off] <= 'Z') return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  const uint8_t pick = in.byte();
  const dns::ZoneSet& zones = zonesFor(pick);
  const bool reverse = (pick & 0x80) == 0;

  const std::vector<hosts::HostsEntry> entries = hosts::parseHostsText(in.rest(), zones);
  // The first half as if from the file, the rest as inline lines.
  const size_t half = entries.size() / 2;
  std::span<const hosts::HostsEntry> all(entries);
  const auto index = hosts::Index::build(all.first(half), all.subspan(half), reverse);

  for (const hosts::HostsEntry& e : entries) {
    FUZZ_CHECK(e.address.len == 4 || e.address.len == 16);
    FUZZ_CHECK(!e.name.empty() && e.name.size() <= dns::kMaxNameLen && e.name.back() == 0);
    FUZZ_CHECK(lowercase(e.name) && zones.contains(e.name));
    auto again = dns::nameFromText(dns::nameToText(e.name));
    FUZZ_CHECK(again.has_value() && *again == e.name);
    FUZZ_CHECK(e.wildcard == (e.name.size() > 2 && e.name[0] == 1 && e.name[1] == '*'));
    hosts::addressFromReverse(e.name);

    const auto family = e.address.isV4() ? hosts::Family::V4 : hosts::Family::V6;
    if (!e.wildcard) {
      FUZZ_CHECK(!index->lookup(e.name, family).empty());
    } else if (e.name.size() > 3) {
      // Any one label in place of the `*` (here "\255"), unless it is the root's wildcard.
      std::vector<uint8_t> name = {1, 0xff};
      name.insert(name.end(), e.name.begin() + 2, e.name.end());
      if (name.size() <= dns::kMaxNameLen) FUZZ_CHECK(!index->lookup(name, family).empty());
    }
    const auto targets = index->ptr(e.address);
    if (reverse && !e.wildcard) {
      FUZZ_CHECK(std::any_of(targets.begin(), targets.end(), [&](hosts::Index::Range r) {
        auto n = index->ptrName(r);
        return std::equal(n.begin(), n.end(), e.name.begin(), e.name.end());
      }));
    }
    if (!reverse) FUZZ_CHECK(targets.empty());
  }
  return 0;
}
