// k8s_external's zones for `transfer`, as CoreDNS's transfer.go lists them: the SOA, NS and
// ns1 addresses, then per service its addresses and SRV records (bare and _port._proto), and
// with `headless` each headless service's endpoints by their names. Built whole from the
// current snapshot each time a transfer asks (rare, and over TCP), never on a query's path.
#include <algorithm>
#include <cstring>

#include "dns/wire.hpp"
#include "plugins/k8s_external/k8s_external.hpp"
#include "plugins/kubernetes/kubernetes.hpp"
#include "plugins/kubernetes/names.hpp"

namespace moat::plugins::k8s_external {

namespace {

using kubernetes::NameBuilder;

constexpr uint32_t kRefresh = 7200, kRetry = 1800, kExpire = 86400;

uint16_t addressType(const Ip& ip) { return ip.family == 4 ? dns::rrtype::A : dns::rrtype::AAAA; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return out;
}

void addSrv(file::Zone::Builder& b, std::span<const uint8_t> owner, uint32_t ttl, uint16_t weight,
            uint16_t port, std::span<const uint8_t> target) {
  std::vector<uint8_t> rdata(6 + target.size());
  dns::put16(rdata.data(), 0);
  dns::put16(rdata.data() + 2, weight);
  dns::put16(rdata.data() + 4, port);
  std::memcpy(rdata.data() + 6, target.data(), target.size());
  b.add(owner, dns::rrtype::SRV, ttl, rdata);
}

uint16_t weightOf(size_t candidates) {
  const auto w = static_cast<uint16_t>(100 / std::max<size_t>(candidates, 1));
  return w == 0 ? 1 : w;
}

// _port._proto.<base>, for a named port.
bool portName(const kubernetes::Port& p, std::span<const uint8_t> base, NameBuilder& out) {
  if (p.name.empty()) return false;  // unnamed ports have no SRV name (Kubernetes DNS spec)
  out.label("_" + lower(p.name));
  out.label("_" + lower(p.protocol));
  out.zone(base);
  return out.ok();
}

}  // namespace

file::ZonePtr K8sExternal::servedZone(std::span<const uint8_t> origin) const {
  if (k8s_ == nullptr) return nullptr;
  const int zone = zones_.find(origin);
  if (zone == dns::ZoneSet::kNone) return nullptr;
  const kubernetes::ClusterPtr cluster = k8s_->externalSnapshot();
  if (cluster == nullptr) return nullptr;
  const ExternalView v{*cluster, k8s_->options(), true};
  const Zone& names = names_[static_cast<size_t>(zone)];
  const uint32_t ttl = config_.ttl, srvTtl = v.options.ttl;

  file::Zone::Builder b(origin);
  std::vector<uint8_t> soa(names.ns1.begin(), names.ns1.end());
  soa.insert(soa.end(), names.hostmaster.begin(), names.hostmaster.end());
  for (uint32_t f : {cluster->serial(), kRefresh, kRetry, kExpire, ttl}) {
    soa.resize(soa.size() + 4);
    dns::put32(soa.data() + soa.size() - 4, f);
  }
  b.add(origin, dns::rrtype::SOA, ttl, soa);
  b.add(origin, dns::rrtype::NS, ttl, names.ns1);
  std::vector<Ip> addresses;
  nameServerAddresses(v, config_.headless, addresses);
  for (const Ip& ip : addresses) b.add(names.ns1, addressType(ip), ttl, ip.wire());

  for (const auto& svc : cluster->services()) {
    if (!v.namespaceExposed(lower(svc->ns))) continue;
    NameBuilder base;
    base.text(svc->name);
    base.text(svc->ns);
    base.zone(origin);
    if (!base.ok()) continue;

    if (config_.headless && svc->external.empty() && svc->kind == kubernetes::ServiceKind::Headless) {
      if (v.options.noEndpoints) continue;
      size_t all = 0;
      for (const kubernetes::EndpointSet& set : svc->endpoints)
        for (const kubernetes::EndpointAddress& a : set.addresses)
          if (a.ready) all += std::max<size_t>(set.ports.size(), 1);
      std::array<char, 64> buf;
      for (const kubernetes::EndpointSet& set : svc->endpoints) {
        for (const kubernetes::EndpointAddress& a : set.addresses) {
          if (!a.ready) continue;
          NameBuilder endpoint;
          endpoint.text(kubernetes::endpointLabel(a, v.options.endpointPodNames, buf));
          endpoint.zone(base.wire());
          if (!endpoint.ok()) continue;
          b.add(base.wire(), addressType(a.ip), ttl, a.ip.wire());
          b.add(endpoint.wire(), addressType(a.ip), ttl, a.ip.wire());
          for (const kubernetes::Port& p : set.ports) {
            addSrv(b, base.wire(), srvTtl, weightOf(all), p.port, endpoint.wire());
            addSrv(b, endpoint.wire(), srvTtl, 100, p.port, endpoint.wire());
            NameBuilder named;
            if (portName(p, base.wire(), named)) {
              size_t sameName = 0;
              for (const kubernetes::EndpointSet& other : svc->endpoints)
                for (const kubernetes::Port& q : other.ports)
                  if (q.name == p.name && q.protocol == p.protocol)
                    for (const kubernetes::EndpointAddress& o : other.addresses) sameName += o.ready ? 1 : 0;
              addSrv(b, named.wire(), srvTtl, weightOf(sameName), p.port, endpoint.wire());
            }
          }
        }
      }
      continue;
    }

    // External addresses: each IP once; a load balancer hostname only where there is no IP,
    // since a CNAME cannot share its name with other data.
    std::vector<Ip> ips;
    for (const kubernetes::ExternalAddress& e : svc->external)
      if (e.hostname.empty() && std::find(ips.begin(), ips.end(), e.ip) == ips.end()) ips.push_back(e.ip);
    NameBuilder host;
    if (ips.empty()) {
      for (const kubernetes::ExternalAddress& e : svc->external) {
        if (e.hostname.empty()) continue;
        host.text(e.hostname);
        static constexpr uint8_t kRoot[1] = {0};
        host.zone(kRoot);
        break;
      }
      if (!host.ok()) continue;  // no external address at all
      b.add(base.wire(), dns::rrtype::CNAME, srvTtl, host.wire());
    }
    for (const Ip& ip : ips) b.add(base.wire(), addressType(ip), ttl, ip.wire());
    const std::span<const uint8_t> target = ips.empty() ? host.wire() : base.wire();
    for (const kubernetes::Port& p : svc->ports) {
      // No SRV beside a CNAME at the service's own name; _port._proto names are free.
      if (!ips.empty()) addSrv(b, base.wire(), srvTtl, 100, p.port, target);
      NameBuilder named;
      if (portName(p, base.wire(), named)) addSrv(b, named.wire(), srvTtl, 100, p.port, target);
    }
  }
  return b.build();
}

}  // namespace moat::plugins::k8s_external
