// Answering one question from one zone, with CoreDNS's `file` semantics (plugin/file/lookup.go):
// the name walked label by label from the apex (delegations and DNAMEs on the way), then an
// exact match, a wildcard (RFC 4592, empty non-terminals included), a CNAME chain inside the
// zone, or a negative answer with the SOA. DNSSEC records are added as stored when the query
// sets DO. The result only points into the zone (and the query's name): writing it is the
// handler's job, and nothing here allocates.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <span>

#include "plugins/file/zone.hpp"

namespace moat::plugins::file {

enum class Outcome : uint8_t {
  Answer,            // NOERROR with records (possibly only a CNAME chain)
  NoData,            // NOERROR, no records of the type: SOA in authority
  EmptyNonTerminal,  // NOERROR, the name has no records but names below it (CoreDNS may fall through)
  NameError,         // NXDOMAIN with the SOA
  Referral,          // a zone cut on the way: NS in authority, glue in additional
  ServFail,          // a DNAME loop, a zone without SOA
  Chase,             // the CNAME chain leaves the zone: resolve `chaseTarget` through the server
};

// One RRset, or one synthesized record, to write.
struct Part {
  std::span<const uint8_t> owner;
  const RRset* set = nullptr;      // from the zone; null for a synthesized record
  uint16_t type = 0;               // synthesized record: type, TTL and RDATA
  uint32_t ttl = 0;
  std::span<const uint8_t> rdata;
  // TTLs above this are lowered to it: the SOA of a negative answer and its RRSIG carry the
  // SOA MINIMUM when that is lower (RFC 2308 §3, as NSD and BIND send them; CoreDNS sends the
  // SOA's own TTL).
  uint32_t maxTtl = std::numeric_limits<uint32_t>::max();
};

template <size_t N>
struct Parts {
  std::array<Part, N> items{};
  size_t size = 0;
  // Full: the rest is left out (only the additional section can grow that large).
  void add(const Part& part) {
    if (size < N) items[size++] = part;
  }
  std::span<const Part> view() const { return {items.data(), size}; }
};

struct Lookup {
  Outcome outcome = Outcome::NameError;
  Parts<24> answer;
  Parts<8> authority;
  Parts<64> additional;
  std::span<const uint8_t> chaseTarget;  // Outcome::Chase: the name to resolve next
  // What `moat explain` says about it.
  const Node* wildcard = nullptr;  // the wildcard that matched
  const Node* cut = nullptr;       // the delegation point of a referral
  uint8_t cnames = 0;              // CNAMEs followed (DNAME's synthesized one included)
  // The names a chain visited (loops end at the first repeat) and the CNAME targets DNAMEs
  // synthesized, which the answer's records point into.
  static constexpr size_t kMaxChain = 8;
  std::array<std::span<const uint8_t>, kMaxChain + 1> visited{};
  size_t visitedCount = 0;
  std::array<std::array<uint8_t, 255>, 2> synthesized{};
  size_t synthesizedCount = 0;
};

void lookup(const Zone& zone, std::span<const uint8_t> qname, uint16_t qtype, bool dnssecOk,
            Lookup& out);

// The authority for a chased answer once the rest of the chain resolved the target (CoreDNS's
// externalLookup): the SOA for NXDOMAIN and NODATA, the apex NS otherwise.
void chasedAuthority(const Zone& zone, bool negative, bool dnssecOk, Lookup& out);

}  // namespace moat::plugins::file
