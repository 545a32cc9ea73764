// PTR (reverse.go), the apex NS (ns.go) and the SOA every denial carries (backend_lookup.go).
#include <algorithm>
#include <cstring>

#include "dns/wire.hpp"
#include "plugins/kubernetes/records.hpp"

namespace moat::plugins::kubernetes {

namespace {

constexpr uint32_t kSoaRefresh = 7200, kSoaRetry = 1800, kSoaExpire = 86400, kSoaMaxTtl = 300;

void ptrTarget(const Lookup& lk, const Entry& e, NameBuilder& out) {
  std::array<char, 64> buf;
  if (e.kind == EntryKind::Endpoint) out.text(endpointLabel(*e.address, lk.opt.endpointPodNames, buf));
  out.text(e.service->name);
  out.text(e.service->ns);
  out.label("svc");
  // PTR targets always name the primary zone, as configured (lowercase).
  out.zone(lk.opt.primaryZone);
}

}  // namespace

Answer answerPtr(const Lookup& lk, QueryName name, dns::MessageWriter& w) {
  std::vector<Entry>& entries = lk.scratch.entries;
  auto ip = addressFromReverse(name.lower);
  if (!ip) {
    // A forward name (or a partial reverse one): NODATA if it exists, else NXDOMAIN.
    Request req;
    return {records(lk, name.lower, req, entries), 0};
  }
  const std::span<const ReverseEntry> found = lk.cluster.reverse(*ip);

  // A cluster IP names its service alone (the first one the namespaces filter lets through).
  for (const ReverseEntry& re : found) {
    if (re.address != nullptr || re.service == nullptr) continue;
    if (!lk.opt.namespaceConfigured(re.service->ns)) continue;
    NameBuilder target;
    ptrTarget(lk, Entry{*ip, EntryKind::Service, -1, re.service, nullptr}, target);
    if (!target.ok()) continue;
    w.addRR(dns::Section::Answer, name.asked, dns::rrtype::PTR, dns::rrclass::IN, lk.opt.ttl,
            target.wire());
    return {Status::Ok, 1};
  }

  // Else every ready endpoint address with this IP, one PTR per distinct name.
  entries.clear();
  if (!lk.opt.noEndpoints) {
    for (const ReverseEntry& re : found) {
      if (re.address == nullptr || re.service == nullptr || !re.address->ready) continue;
      if (!lk.opt.namespaceConfigured(re.service->ns)) continue;
      entries.push_back(Entry{*ip, EntryKind::Endpoint, -1, re.service, re.address});
    }
  }
  SeenSet& seen = lk.scratch.seen;
  seen.reset(entries.size());
  size_t count = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (seen.seen(targetHash(lk, entries[i]), static_cast<uint32_t>(i),
                  [&](uint32_t j) { return sameTarget(lk, entries[j], entries[i]); }))
      continue;
    NameBuilder target;
    ptrTarget(lk, entries[i], target);
    if (!target.ok()) continue;
    w.addRR(dns::Section::Answer, name.asked, dns::rrtype::PTR, dns::rrclass::IN, lk.opt.ttl,
            target.wire());
    ++count;
  }
  return {count == 0 ? Status::NameError : Status::Ok, count};
}

Answer answerNs(const Lookup& lk, QueryName name, dns::MessageWriter& w) {
  std::vector<Entry>& entries = lk.scratch.entries;
  nsAddresses(lk, entries);
  const Request none;
  SeenSet& seen = lk.scratch.seen;
  seen.reset(entries.size());
  size_t count = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (seen.seen(targetHash(lk, entries[i]), static_cast<uint32_t>(i),
                  [&](uint32_t j) { return sameTarget(lk, entries[j], entries[i]); }))
      continue;
    NameBuilder target;
    targetName(lk, entries[i], none, target);
    if (!target.ok()) continue;
    w.addRR(dns::Section::Answer, name.asked, dns::rrtype::NS, dns::rrclass::IN, lk.opt.ttl,
            target.wire());
    ++count;
  }
  // Glue: every address, as CoreDNS lists them (no merging).
  for (const Entry& e : entries) {
    NameBuilder target;
    targetName(lk, e, none, target);
    if (!target.ok()) continue;
    w.addRR(dns::Section::Additional, target.wire(),
            e.ip.family == 4 ? dns::rrtype::A : dns::rrtype::AAAA, dns::rrclass::IN, lk.opt.ttl,
            e.ip.wire());
  }
  return {Status::Ok, count};
}

void addSoa(const Lookup& lk, dns::Section section, dns::MessageWriter& w) {
  NameBuilder mname, rname;
  mname.label("ns");
  mname.label("dns");
  mname.zone(lk.zoneAsked);
  rname.label("hostmaster");
  rname.zone(lk.zoneAsked);
  std::array<uint8_t, 2 * dns::kMaxNameLen + 20> rdata;
  size_t len = 0;
  for (const NameBuilder* n : {&mname, &rname}) {
    // A zone too long to prefix: fall back to the root, which always fits.
    std::span<const uint8_t> wire = n->ok() ? n->wire() : std::span<const uint8_t>(lk.zoneAsked.last(1));
    std::memcpy(rdata.data() + len, wire.data(), wire.size());
    len += wire.size();
  }
  const uint32_t fields[5] = {lk.cluster.serial(), kSoaRefresh, kSoaRetry, kSoaExpire, lk.opt.ttl};
  for (uint32_t v : fields) {
    dns::put32(rdata.data() + len, v);
    len += 4;
  }
  w.addRR(section, lk.zoneAsked, dns::rrtype::SOA, dns::rrclass::IN,
          std::min(lk.opt.ttl, kSoaMaxTtl), {rdata.data(), len});
}

}  // namespace moat::plugins::kubernetes
