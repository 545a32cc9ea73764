// A/AAAA (with the ExternalName CNAME chase), SRV, TXT, CNAME and existence checks, as
// CoreDNS's plugin/backend_lookup.go writes them for the kubernetes backend.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "dns/wire.hpp"
#include "plugins/kubernetes/records.hpp"

namespace moat::plugins::kubernetes {

namespace {

// CoreDNS's maxCnameChainLength: a CNAME is added only while at most this many precede it.
constexpr size_t kMaxChain = 10;

constexpr uint32_t kDnsVersionTtl = 28800;
constexpr uint8_t kDnsVersionTxt[] = {5, '1', '.', '1', '.', '0'};  // schema 1.1.0

uint64_t ipHash(const Ip& ip) { return hashBytes(ip.wire()); }

bool equalWireFold(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](uint8_t x, uint8_t y) {
           auto low = [](uint8_t c) { return c >= 'A' && c <= 'Z' ? uint8_t(c + 32) : c; };
           return low(x) == low(y);
         });
}

std::span<const uint8_t> lowered(std::span<const uint8_t> wire, std::array<uint8_t, 255>& buf) {
  std::copy(wire.begin(), wire.end(), buf.begin());
  dns::lowercaseInPlace(std::span<uint8_t>(buf.data(), wire.size()));
  return {buf.data(), wire.size()};
}

}  // namespace

Answer answerAddress(const Lookup& lk, QueryName name, uint16_t qtype, dns::MessageWriter& w) {
  std::vector<Entry>& entries = lk.scratch.entries;
  Request req;
  if (services(lk, name.lower, qtype, req, entries) != Status::Ok) return {Status::NameError, 0};

  // Follow ExternalName CNAMEs inside the zone. CoreDNS adds a CNAME only together with what
  // it leads to, so any dead end (loop, missing target, no address of this family) drops the
  // whole chain: 0 answers, which the caller turns into NODATA.
  const uint8_t family = qtype == dns::rrtype::A ? 4 : 6;
  std::array<NameBuilder, kMaxChain + 1> chain;
  std::array<std::array<uint8_t, 255>, 2> lowerBufs;
  std::span<const uint8_t> owner = name.asked, lower = name.lower;
  size_t depth = 0;
  while (!entries.empty() && entries.front().kind == EntryKind::External) {
    if (depth > kMaxChain) return {};
    NameBuilder& target = chain[depth];
    externalTarget(*entries.front().service, target);
    if (!target.ok()) return {};
    std::span<const uint8_t> targetLower = lowered(target.wire(), lowerBufs[depth % 2]);
    if (dns::isSubdomain(targetLower, lower)) return {};  // x CNAME x (or below x) loops
    for (size_t k = 0; k < depth; ++k)
      if (equalWireFold(chain[k].wire(), target.wire())) return {};
    w.addRR(dns::Section::Answer, owner, dns::rrtype::CNAME, dns::rrclass::IN, lk.opt.ttl,
            target.wire());
    ++depth;
    if (!dns::isSubdomain(targetLower, lk.zoneLower)) {
      // Outside the zone: the handler resolves the target through the server (so forward can
      // answer it) and appends what comes back; the CNAME chain stands alone if it cannot.
      std::copy(target.wire().begin(), target.wire().end(), lk.scratch.chase.begin());
      lk.scratch.chaseLen = target.wire().size();
      return {Status::Ok, depth, true};
    }
    owner = target.wire();
    lower = targetLower;
    Request next;
    if (services(lk, lower, qtype, next, entries) != Status::Ok) return {};
  }

  SeenSet& seen = lk.scratch.seen;
  seen.reset(entries.size());
  size_t count = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (e.kind == EntryKind::External || e.ip.family != family) continue;
    if (seen.seen(ipHash(e.ip), static_cast<uint32_t>(i),
                  [&](uint32_t j) { return entries[j].ip == e.ip; }))
      continue;
    w.addRR(dns::Section::Answer, owner, qtype, dns::rrclass::IN, lk.opt.ttl, e.ip.wire());
    ++count;
  }
  return {Status::Ok, count == 0 ? 0 : depth + count};
}

Answer answerSrv(const Lookup& lk, QueryName name, dns::MessageWriter& w) {
  std::vector<Entry>& entries = lk.scratch.entries;
  Request req;
  if (services(lk, name.lower, dns::rrtype::SRV, req, entries) != Status::Ok)
    return {Status::NameError, 0};
  // SRV for ExternalName services is not implemented in CoreDNS: the name answers NODATA.
  std::erase_if(entries, [](const Entry& e) { return e.kind == EntryKind::External; });
  if (entries.empty()) return {};

  // Every candidate weighs in before duplicates merge (two cluster IPs: 50 each), computed
  // in floating point exactly as CoreDNS does.
  const double n = static_cast<double>(entries.size());
  auto weight = static_cast<uint16_t>(std::floor(100.0 / (100.0 * n) * 100.0));
  if (weight == 0) weight = 1;

  SeenSet& seen = lk.scratch.seen;
  seen.reset(entries.size());
  size_t count = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (e.port < 0) continue;
    const uint64_t h = targetHash(lk, e) ^ (uint64_t(e.port) * 0x9E3779B97F4A7C15ull);
    if (seen.seen(h, static_cast<uint32_t>(i), [&](uint32_t j) {
          return entries[j].port == e.port && sameTarget(lk, entries[j], e);
        }))
      continue;
    NameBuilder target;
    targetName(lk, e, req, target);
    if (!target.ok()) continue;
    std::array<uint8_t, 6 + dns::kMaxNameLen> rdata;
    dns::put16(rdata.data(), 0);  // priority
    dns::put16(rdata.data() + 2, weight);
    dns::put16(rdata.data() + 4, static_cast<uint16_t>(e.port));
    std::memcpy(rdata.data() + 6, target.wire().data(), target.wire().size());
    w.addRR(dns::Section::Answer, name.asked, dns::rrtype::SRV, dns::rrclass::IN, lk.opt.ttl,
            {rdata.data(), 6 + target.wire().size()});
    ++count;
  }

  // Each target's addresses, once per (target, address).
  seen.reset(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (e.port < 0) continue;
    if (seen.seen(targetHash(lk, e) ^ ipHash(e.ip), static_cast<uint32_t>(i), [&](uint32_t j) {
          return entries[j].ip == e.ip && sameTarget(lk, entries[j], e);
        }))
      continue;
    NameBuilder target;
    targetName(lk, e, req, target);
    if (!target.ok()) continue;
    w.addRR(dns::Section::Additional, target.wire(),
            e.ip.family == 4 ? dns::rrtype::A : dns::rrtype::AAAA, dns::rrclass::IN, lk.opt.ttl,
            e.ip.wire());
  }
  return {Status::Ok, count};
}

Answer answerTxt(const Lookup& lk, QueryName name, dns::MessageWriter& w) {
  if (isDnsVersion(name.lower, lk.zoneLower.size())) {
    w.addRR(dns::Section::Answer, name.asked, dns::rrtype::TXT, dns::rrclass::IN, kDnsVersionTtl,
            kDnsVersionTxt);
    return {Status::Ok, 1};
  }
  // Only names holding records of another type answer NODATA; CoreDNS denies the rest, even
  // names that exist without records (the apex, svc.zone, ns.svc.zone).
  std::vector<Entry>& entries = lk.scratch.entries;
  Request req;
  const Status status = records(lk, name.lower, req, entries);
  if (!entries.empty()) return {};
  if (status == Status::Ok && lk.opt.zonal && req.zoned) return {};
  return {Status::NameError, 0};
}

Answer answerCname(const Lookup& lk, QueryName name, dns::MessageWriter& w) {
  std::vector<Entry>& entries = lk.scratch.entries;
  Request req;
  if (services(lk, name.lower, dns::rrtype::CNAME, req, entries) != Status::Ok)
    return {Status::NameError, 0};
  if (entries.empty() || entries.front().kind != EntryKind::External) return {};
  NameBuilder target;
  externalTarget(*entries.front().service, target);
  if (!target.ok()) return {};
  w.addRR(dns::Section::Answer, name.asked, dns::rrtype::CNAME, dns::rrclass::IN, lk.opt.ttl,
          target.wire());
  return {Status::Ok, 1};
}

Answer answerExistence(const Lookup& lk, QueryName name) {
  // MX asks Services() and finds no mail entries; other types do a hidden A lookup. Either way
  // only whether the name exists matters (ns.dns.<zone> does).
  Request req;
  return {services(lk, name.lower, dns::rrtype::A, req, lk.scratch.entries), 0};
}

}  // namespace moat::plugins::kubernetes
