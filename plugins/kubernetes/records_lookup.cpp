// Name -> entries, as CoreDNS's Records/findServices/findPods/nsAddrs compute them.
#include <algorithm>

#include "dns/wire.hpp"
#include "plugins/kubernetes/records.hpp"

namespace moat::plugins::kubernetes {

namespace {

// The port list CoreDNS works with: an object without ports gets one sentinel port (-1) so
// its addresses still answer A/AAAA but never give SRV records.
const Port kNoPort{};
std::span<const Port> portsOf(const std::vector<Port>& ports) {
  return ports.empty() ? std::span<const Port>(&kNoPort, 1) : std::span<const Port>(ports);
}
int32_t portNumber(const std::vector<Port>& ports, const Port& p) {
  return ports.empty() ? -1 : int32_t{p.port};
}

bool matchPortAndProtocol(const Request& r, const Port& p) {
  return (r.port.empty() || equalFold(r.port, p.name)) &&
         (r.protocol.empty() || equalFold(r.protocol, p.protocol));
}

// CoreDNS namespaceExposed: allowed by `namespaces` and present in the cluster.
bool namespaceExposed(const Lookup& lk, std::string_view ns) {
  return lk.opt.namespaceConfigured(ns) && lk.cluster.hasNamespace(ns);
}

size_t readyAddresses(const Lookup& lk, const Service& svc) {
  if (lk.opt.noEndpoints) return 0;  // CoreDNS then has no endpoint cache at all
  size_t n = 0;
  for (const EndpointSet& set : svc.endpoints)
    for (const EndpointAddress& a : set.addresses) n += a.ready ? 1 : 0;
  return n;
}

// Endpoint entries of a headless service (or any service asked for by endpoint name).
// Moat's objects carry no topology zone, so a zone-scoped name matches no endpoint: `pin`
// finds nothing and `prefer` falls back to all of them, as CoreDNS does for zone-less slices.
bool addEndpoints(const Lookup& lk, const Service& svc, const Request& r, bool zoneFilter,
                  std::vector<Entry>& out) {
  if (lk.opt.noEndpoints || zoneFilter) return false;
  bool added = false;
  std::array<char, 64> buf;
  for (const EndpointSet& set : svc.endpoints) {
    for (const EndpointAddress& a : set.addresses) {
      if (!a.ready) continue;
      if (!r.endpoint.empty() && !equalFold(r.endpoint, endpointLabel(a, lk.opt.endpointPodNames, buf)))
        continue;
      for (const Port& p : portsOf(set.ports)) {
        if (!matchPortAndProtocol(r, p)) continue;
        out.push_back(Entry{a.ip, EntryKind::Endpoint, portNumber(set.ports, p), &svc, &a});
        added = true;
      }
    }
  }
  return added;
}

Status findServices(const Lookup& lk, const Request& r, std::vector<Entry>& out) {
  if (!namespaceExposed(lk, r.ns)) return Status::NameError;
  if (r.service.empty()) return Status::Ok;  // ns.svc.zone: exists, no records
  // Multicluster zones answer from ServiceImports, which object files do not carry.
  if (lk.multicluster) return Status::NameError;
  const Service* found = lk.cluster.findService(r.ns, r.service);
  if (found == nullptr) return Status::NameError;
  const Service& svc = *found;
  const bool headless = svc.kind == ServiceKind::Headless;

  if (lk.opt.ignoreEmptyService && svc.kind == ServiceKind::ClusterIP &&
      readyAddresses(lk, svc) == 0)
    return Status::NameError;
  if (r.zoned && !headless) return Status::NameError;  // a VIP has no topology zone

  if (svc.kind == ServiceKind::ExternalName) {
    // No endpoints, ports or subnames under an ExternalName, and an IP is not a CNAME target.
    if (!r.endpoint.empty() || !r.port.empty() || !r.protocol.empty()) return Status::NameError;
    if (parseIp(svc.externalName)) return Status::NameError;
    out.push_back(Entry{Ip{}, EntryKind::External, -1, &svc, nullptr});
    return Status::Ok;
  }

  if (headless || !r.endpoint.empty()) {
    bool ok = addEndpoints(lk, svc, r, r.zoned, out);
    if (!ok && r.zonePrefer) ok = addEndpoints(lk, svc, r, false, out);
    // A zone-scoped name of a headless service exists even when no endpoint is in that zone.
    return ok || r.zoned ? Status::Ok : Status::NameError;
  }

  bool matched = false;
  for (const Port& p : portsOf(svc.ports)) {
    if (!matchPortAndProtocol(r, p)) continue;
    matched = true;
    for (const Ip& ip : svc.clusterIPs)
      out.push_back(Entry{ip, EntryKind::Service, portNumber(svc.ports, p), &svc, nullptr});
  }
  return matched ? Status::Ok : Status::NameError;
}

Status findPods(const Lookup& lk, const Request& r, std::vector<Entry>& out) {
  if (lk.opt.pods == PodMode::Disabled) return Status::NameError;
  if (!namespaceExposed(lk, r.ns)) return Status::NameError;
  if (r.service.empty()) return Status::Ok;  // ns.pod.zone
  // Endpoint, port and protocol labels in front of a pod name are ignored, as in CoreDNS.
  auto ip = podAddress(r.service);
  if (!ip) return Status::NameError;
  if (lk.opt.pods == PodMode::Verified && !lk.cluster.hasPod(r.ns, *ip)) return Status::NameError;
  out.push_back(Entry{*ip, EntryKind::Pod, 0, nullptr, nullptr});
  return Status::Ok;
}

const EndpointSet* setHolding(const Service& svc, const EndpointAddress* a) {
  for (const EndpointSet& set : svc.endpoints) {
    if (!set.addresses.empty() && a >= set.addresses.data() &&
        a < set.addresses.data() + set.addresses.size())
      return &set;
  }
  return nullptr;
}

}  // namespace

bool Options::namespaceConfigured(std::string_view ns) const {
  if (namespaces.empty()) return true;
  return std::any_of(namespaces.begin(), namespaces.end(),
                     [&](const std::string& n) { return equalFold(n, ns); });
}

void SeenSet::reset(size_t expected) {
  size_t capacity = 16;
  while (capacity < expected * 2) capacity <<= 1;
  slots_.assign(capacity, 0);
  mask_ = capacity - 1;
}

Status records(const Lookup& lk, std::span<const uint8_t> lowerName, Request& req,
               std::vector<Entry>& out) {
  out.clear();
  if (!parseRequest(lowerName, lk.zoneLower.size(), lk.multicluster, lk.opt.zonal, req))
    return Status::NameError;
  if (req.area == Area::None) return Status::Ok;
  if (reverseKind(lowerName) > 0) return Status::NameError;
  if (!namespaceExposed(lk, req.ns)) return Status::NameError;
  return req.area == Area::Pod ? findPods(lk, req, out) : findServices(lk, req, out);
}

Status services(const Lookup& lk, std::span<const uint8_t> lowerName, uint16_t qtype,
                Request& req, std::vector<Entry>& out) {
  if (isDefaultNs(lowerName, lk.zoneLower.size())) {
    req = Request{};
    out.clear();
    if (qtype != dns::rrtype::A && qtype != dns::rrtype::AAAA) return Status::Ok;
    nsAddresses(lk, out);
    const uint8_t family = qtype == dns::rrtype::A ? 4 : 6;
    std::erase_if(out, [&](const Entry& e) { return e.ip.family != family; });
    return Status::Ok;
  }
  return records(lk, lowerName, req, out);
}

void nsAddresses(const Lookup& lk, std::vector<Entry>& out) {
  out.clear();
  bool found = false;
  for (const Ip& local : lk.opt.localIps) {
    if (lk.opt.noEndpoints) break;
    for (const ReverseEntry& re : lk.cluster.reverse(local)) {
      if (re.address == nullptr || re.service == nullptr) continue;  // only endpoints count
      found = true;
      const Service& svc = *re.service;
      if (svc.kind == ServiceKind::Headless) {
        const EndpointSet* set = setHolding(svc, re.address);
        if (set == nullptr) continue;
        for (const EndpointAddress& a : set->addresses)
          if (a.ready) out.push_back(Entry{a.ip, EntryKind::Endpoint, -1, &svc, &a});
      } else if (svc.kind == ServiceKind::ClusterIP) {
        for (const Ip& ip : svc.clusterIPs)
          out.push_back(Entry{ip, EntryKind::Service, -1, &svc, nullptr});
      }
    }
  }
  if (found) return;
  for (const Ip& local : lk.opt.localIps)
    out.push_back(Entry{local, EntryKind::DefaultNs, -1, nullptr, nullptr});
}

}  // namespace moat::plugins::kubernetes
