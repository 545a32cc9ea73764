// A rendered record ("www.example. 60 IN A 10.0.0.1", RFC 1035 zone-file form, one record, as
// miekg/dns's NewRR reads it: TTL and class in either order and optional, names without a
// final dot taken as absolute, parentheses and `;` comments) to wire form. A, AAAA, CNAME,
// PTR, NS, DNAME, MX, SRV, TXT and SOA are written straight from the text into the caller's
// buffer and allocate nothing; every other type goes through ldns, which allocates.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dns/wire.hpp"

namespace moat::plugins::tmpl {

// Room for the rdata of a record made from a template (its text is shorter than this).
constexpr size_t kMaxRdata = 4096;

struct WireRecord {
  std::array<uint8_t, dns::kMaxNameLen> owner{};
  size_t ownerLen = 0;
  uint16_t type = 0;
  uint16_t klass = 0;
  uint32_t ttl = 0;
  std::array<uint8_t, kMaxRdata> rdata{};
  size_t rdataLen = 0;

  std::span<const uint8_t> ownerWire() const { return {owner.data(), ownerLen}; }
  std::span<const uint8_t> rdataWire() const { return {rdata.data(), rdataLen}; }
};

// Presentation name ("a.example", "a.example.", ".", escapes \X and \DDD) to wire form, always
// absolute; the wire length, or 0 when it is no valid name.
size_t nameToWire(std::string_view text, std::span<uint8_t> out);

// Whether the type is written without ldns (and so without allocating).
bool writtenDirectly(uint16_t type);

// False, with `why`, when the text is no valid record.
bool parseRecord(std::string_view text, WireRecord& out, std::string_view& why);

}  // namespace moat::plugins::tmpl
