#include "plugins/cache/wire_walk.hpp"

#include <algorithm>

#include "dns/record_walker.hpp"

namespace moat::plugins::cache {

namespace {

constexpr uint32_t kMinimalDefaultTtl = 5;     // dnsutil.MinimalDefaultTTL
constexpr uint32_t kMaximumDefaultTtl = 3600;  // dnsutil.MaximumDefaulTTL

}  // namespace

ReplyScan scanReply(std::span<const uint8_t> msg) {
  ReplyScan out;
  dns::RecordWalker walk(msg);
  const dns::Header& h = walk.header();
  unsigned soa = 0, ns = 0, records = 0;
  uint8_t extRcode = 0;
  uint32_t minTtl = kMaximumDefaultTtl;
  for (dns::Record r; walk.next(r);) {
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
  if (!walk.done()) return ReplyScan{};
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
