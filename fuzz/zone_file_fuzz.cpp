// Fuzz target: zone-file text as the file plugin loads it (ldns per record, the loop around
// it), then the index and the lookup on what loaded. Every owner must be a lowercase name in
// the zone, found again by an exact lookup, in strictly increasing canonical order; every
// lookup (each owner, each type that matters, DO on and off, names under each owner) must
// stay inside the bounds of its result. The same text cut in two (as a large file is, for two
// threads) must load alike. `$INCLUDE` is skipped: it reads other files.
#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <string_view>

#include "dns/name.hpp"
#include "dns/wire.hpp"
#include "fuzz/fuzz_util.hpp"
#include "plugins/file/lookup.hpp"
#include "plugins/file/zone_file.hpp"

namespace {

using namespace moat;
namespace file = plugins::file;

constexpr uint16_t kTypes[] = {dns::rrtype::A,    dns::rrtype::NS,   dns::rrtype::CNAME, dns::rrtype::SOA,
                               dns::rrtype::MX,   dns::rrtype::TXT,  dns::rrtype::AAAA,  dns::rrtype::SRV,
                               dns::rrtype::DS,   dns::rrtype::DNAME};

int compareKeys(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  std::array<uint8_t, file::kMaxKey> ka, kb;
  const size_t la = file::canonicalKey(a, ka.data()), lb = file::canonicalKey(b, kb.data());
  const int c = std::memcmp(ka.data(), kb.data(), std::min(la, lb));
  return c != 0 ? c : (la < lb ? -1 : la > lb ? 1 : 0);
}

void ask(const file::Zone& zone, std::span<const uint8_t> name, uint16_t type, bool dnssec) {
  file::Lookup lk;
  file::lookup(zone, name, type, dnssec, lk);
  FUZZ_CHECK(lk.answer.size <= lk.answer.items.size());
  for (const file::Part& p : lk.answer.view()) FUZZ_CHECK(!p.owner.empty() && p.owner.size() <= dns::kMaxNameLen);
  if (lk.outcome == file::Outcome::Chase) {
    FUZZ_CHECK(!lk.chaseTarget.empty() && !dns::isSubdomain(lk.chaseTarget, zone.origin()));
  }
}

bool sameZone(const file::Zone& a, const file::Zone& b) {
  if (a.serial() != b.serial() || a.nodes().size() != b.nodes().size() || a.recordCount() != b.recordCount()) {
    return false;
  }
  for (size_t i = 0; i < a.nodes().size(); ++i) {
    const file::Node& na = a.nodes()[i];
    const file::Node& nb = b.nodes()[i];
    if (!std::ranges::equal(a.name(na), b.name(nb)) || na.setCount != nb.setCount) return false;
    for (size_t s = 0; s < na.setCount; ++s) {
      const file::RRset& sa = a.sets(na)[s];
      const file::RRset& sb = b.sets(nb)[s];
      if (sa.type != sb.type || sa.covered != sb.covered || sa.count != sb.count) return false;
      for (size_t r = 0; r < sa.count; ++r) {
        const file::Record& ra = a.records(sa)[r];
        const file::Record& rb = b.records(sb)[r];
        if (ra.ttl != rb.ttl || !std::ranges::equal(a.rdata(ra), b.rdata(rb))) return false;
      }
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (text.find("$INCLUDE") != std::string::npos) return 0;
  file::ZoneLoad load = file::loadZoneText(text, "fuzz.zone", "example.org.");
  // Cut in two and read by two threads (as a large file is), it loads the same zone or fails
  // with the same error at the same line.
  file::ZoneLoad halves = file::loadZoneText(text, "fuzz.zone", "example.org.", std::nullopt, 1);
  FUZZ_CHECK(halves.error == load.error);
  FUZZ_CHECK(halves.outOfZone == load.outOfZone);
  FUZZ_CHECK(!halves.zone == !load.zone);
  if (load.zone && halves.zone) FUZZ_CHECK(sameZone(*load.zone, *halves.zone));
  if (!load.zone) {
    FUZZ_CHECK(load.unchanged || !load.error.empty());
    return 0;
  }
  const file::Zone& zone = *load.zone;
  FUZZ_CHECK(zone.rrset(zone.apex(), dns::rrtype::SOA) != nullptr);
  const file::Node* previous = nullptr;
  for (const file::Node& node : zone.nodes()) {
    const auto name = zone.name(node);
    FUZZ_CHECK(dns::isSubdomain(name, zone.origin()));
    FUZZ_CHECK(dns::lowercased(name) == dns::WireName(name.begin(), name.end()));
    FUZZ_CHECK(zone.find(name) == &node);
    if (previous != nullptr) FUZZ_CHECK(compareKeys(zone.name(*previous), name) < 0);
    previous = &node;
    for (uint16_t type : kTypes) {
      ask(zone, name, type, false);
      ask(zone, name, type, true);
    }
    // A name below it (a wildcard's or a cut's territory) and the wildcard label itself.
    dns::WireName below = {1, 'x'};
    below.insert(below.end(), name.begin(), name.end());
    if (below.size() <= dns::kMaxNameLen) ask(zone, below, dns::rrtype::A, true);
  }
  return 0;
}
