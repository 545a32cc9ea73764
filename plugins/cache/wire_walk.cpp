#include "plugins/cache/wire_walk.hpp"

#include <algorithm>

#include "dns/wire.hpp"

namespace moat::plugins::cache {

namespace {

constexpr uint32_t kMinimalDefaultTtl = 5;     // dnsutil.MinimalDefaultTTL
constexpr uint32_t kMaximumDefaultTtl = 3600;  // dnsutil.MaximumDefaulTTL

// Offset just past the question section, or 0.
size_t skipQuestions(std::span<const uint8_t> msg, unsigned qdcount) {
  size_t off = dns::kHeaderSize;
  for (unsigned i = 0; i < qdcount; ++i) {
    off = dns::skipName(msg, off);
    if (off == 0 || off + 4 > msg.size()) return 0;
    off += 4;
  }
  return off;
}

}  // namespace

ReplyScan scanReply(std::span<const uint8_t> msg) {
  ReplyScan out;
  if (msg.size() < dns::kHeaderSize) return out;
  const dns::Header h = dns::Header::read(msg.data());
  size_t off = skipQuestions(msg, h.qdcount);
  if (off == 0) return out;
  out.questionEnd = off;

  unsigned soa = 0, ns = 0, records = 0;
  uint8_t extRcode = 0;
  uint32_t minTtl = kMaximumDefaultTtl;
  const unsigned total = unsigned{h.ancount} + h.nscount + h.arcount;
  for (unsigned i = 0; i < total; ++i) {
    const size_t start = off;
    off = dns::skipName(msg, off);
    if (off == 0 || off + 10 > msg.size()) return out;
    const uint16_t type = dns::get16(&msg[off]);
    const uint32_t ttl = dns::get32(&msg[off + 4]);
    const size_t end = off + 10 + dns::get16(&msg[off + 8]);
    if (end > msg.size()) return out;
    const bool additional = i >= unsigned{h.ancount} + h.nscount;
    if (additional && type == dns::rrtype::OPT) {
      // The OPT "TTL" carries the extended rcode and flags, not a lifetime.
      out.optStart = start;
      out.optEnd = end;
      extRcode = static_cast<uint8_t>(ttl >> 24);
    } else {
      ++records;
      minTtl = std::min(minTtl, ttl);
      const bool authority = i >= h.ancount && !additional;
      if (authority && type == dns::rrtype::SOA) ++soa;
      if (authority && type == dns::rrtype::NS) ++ns;
    }
    off = end;
  }
  out.ok = true;
  out.end = off;
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
  if (msg.size() < dns::kHeaderSize) return false;
  const dns::Header h = dns::Header::read(msg.data());
  size_t off = skipQuestions(msg, h.qdcount);
  if (off == 0) return false;
  const unsigned total = unsigned{h.ancount} + h.nscount + h.arcount;
  for (unsigned i = 0; i < total; ++i) {
    off = dns::skipName(msg, off);
    if (off == 0 || off + 10 > msg.size()) return false;
    if (dns::get16(&msg[off]) != dns::rrtype::OPT) dns::put32(&msg[off + 4], ttl);
    off += 10 + dns::get16(&msg[off + 8]);
    if (off > msg.size()) return false;
  }
  return true;
}

}  // namespace moat::plugins::cache
