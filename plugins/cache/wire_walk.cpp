#include "plugins/cache/wire_walk.hpp"

#include <algorithm>
#include <array>
#include <iterator>

#include "dns/record_walker.hpp"

namespace moat::plugins::cache {

namespace {

constexpr uint32_t kMinimalDefaultTtl = 5;     // dnsutil.MinimalDefaultTTL
constexpr uint32_t kMaximumDefaultTtl = 3600;  // dnsutil.MaximumDefaulTTL

// Every record takes 11 bytes at least (a root owner and the fixed fields).
constexpr size_t kMaxRecords = (dns::kMaxMessage - dns::kHeaderSize) / 11 + 1;

// Whether a question or owner name, followed through its pointers, reads a byte of one of the
// TTLs at `ttls` (in wire order). Only a hostile reply's names point there; setTtls rewrites
// those bytes, so such a name would change each time the cache ages the reply, or stop reading.
bool namesReadTtls(std::span<const uint8_t> msg, std::span<const uint16_t> ttls) {
  bool reads = false;
  auto visit = [&](size_t at) {
    const size_t end = at + (msg[at] > dns::kMaxLabelLen ? 2 : 1u + msg[at]);
    // Of the TTLs, only the last one starting before `end` can reach into [at, end).
    const auto after = std::lower_bound(ttls.begin(), ttls.end(), end);
    reads = reads || (after != ttls.begin() && *std::prev(after) + 4u > at);
  };
  uint16_t checked = 0;  // an owner that was only this pointer, and read no TTL
  dns::RecordWalker walk(msg);
  for (dns::Record r; walk.nextQuestion(r) || walk.next(r);) {
    const bool lonePointer = r.ownerEnd == r.start + 2u;
    if (lonePointer && dns::get16(&msg[r.start]) == checked) continue;
    dns::followName(msg, r.start, visit);
    if (reads) return true;
    if (lonePointer) checked = dns::get16(&msg[r.start]);
  }
  return false;
}

}  // namespace

ReplyScan scanReply(std::span<const uint8_t> msg) {
  ReplyScan out;
  if (msg.size() > dns::kMaxMessage) return out;  // no DNS message is longer
  std::array<uint16_t, kMaxRecords> ttls;  // those setTtls rewrites; only the first `n` are set
  size_t n = 0;
  dns::RecordWalker walk(msg);
  const dns::Header& h = walk.header();
  unsigned soa = 0, ns = 0, records = 0;
  uint8_t extRcode = 0;
  uint32_t minTtl = kMaximumDefaultTtl;
  for (dns::Record r; walk.next(r);) {
    if (r.type != dns::rrtype::OPT) ttls[n++] = static_cast<uint16_t>(r.ttlOffset());
    if (r.section == dns::Section::Additional && r.type == dns::rrtype::OPT) {
      // The OPT "TTL" carries the extended rcode and flags, not a lifetime.
      out.optStart = r.start;
      out.optEnd = r.end();
      extRcode = static_cast<uint8_t>(r.ttl >> 24);
    } else {
      ++records;
      minTtl = std::min(minTtl, r.ttl);
      if (r.section == dns::Section::Authority && r.type == dns::rrtype::SOA) ++soa;
      if (r.section == dns::Section::Authority && r.type == dns::rrtype::NS) ++ns;
    }
  }
  if (!walk.done() || namesReadTtls(msg, std::span(ttls.data(), n))) return ReplyScan{};
  out.ok = true;
  out.end = walk.offset();
  out.extRcode = extRcode;

  const dns::RCode rcode = h.rcode();
  if (extRcode != 0 || h.opcode() != 0) {
    out.kind = Kind::Uncacheable;  // BADVERS and friends; NOTIFY and UPDATE are not queries
  } else if (h.ancount > 0 && rcode == dns::RCode::NoError) {
    out.kind = Kind::Success;
  } else if (soa > 0 && rcode == dns::RCode::NoError) {
    out.kind = Kind::NoData;
  } else if (soa > 0 && rcode == dns::RCode::NXDomain) {
    out.kind = Kind::NameError;
  } else if (rcode == dns::RCode::ServFail) {
    out.kind = Kind::ServerError;
  } else if (ns > 0 && rcode == dns::RCode::NoError) {
    out.kind = Kind::Delegation;
  } else if (rcode == dns::RCode::NoError) {
    out.kind = Kind::Success;  // an empty NOERROR without SOA: CoreDNS still calls it NoError
  }

  const bool looked = out.kind == Kind::Success || out.kind == Kind::NoData ||
                      out.kind == Kind::NameError;
  out.minTtl = looked && records > 0 ? minTtl : kMinimalDefaultTtl;
  return out;
}

bool setTtls(std::span<uint8_t> msg, uint32_t ttl) {
  dns::RecordWalker walk(msg);
  for (dns::Record r; walk.next(r);) {
    if (r.type != dns::rrtype::OPT) dns::put32(&msg[r.ttlOffset()], ttl);
  }
  return walk.done();
}

}  // namespace moat::plugins::cache
