#include "plugins/k8s_external/lookup.hpp"

#include <algorithm>

#include "plugins/kubernetes/names.hpp"

namespace moat::plugins::k8s_external {

namespace {

using kubernetes::equalFold;
using kubernetes::Port;

// CoreDNS gives an object without ports one sentinel port (-1): its addresses still answer
// A/AAAA, never SRV.
const Port kNoPort{};
std::span<const Port> portsOf(const std::vector<Port>& ports) {
  return ports.empty() ? std::span<const Port>(&kNoPort, 1) : std::span<const Port>(ports);
}
int32_t portNumber(const std::vector<Port>& ports, const Port& p) {
  return ports.empty() ? -1 : int32_t{p.port};
}

// An empty port or protocol in the name matches every one.
bool matches(std::string_view port, std::string_view protocol, const Port& p) {
  return (port.empty() || equalFold(port, p.name)) &&
         (protocol.empty() || equalFold(protocol, p.protocol));
}

void addUnique(std::vector<Ip>& out, const Ip& ip) {
  if (std::find(out.begin(), out.end(), ip) == out.end()) out.push_back(ip);
}

}  // namespace

std::string_view stripUnderscore(std::string_view label) {
  return !label.empty() && label.front() == '_' ? label.substr(1) : label;
}

Found lookup(const ExternalView& v, std::span<const uint8_t> lowerName, size_t zoneLen,
             bool headless, std::vector<Entry>& out) {
  out.clear();
  const kubernetes::Labels labels(lowerName, zoneLen);
  const size_t n = labels.size();
  if (n == 0) return Found::Ok;  // the apex: the caller answers it
  // namespace, then service, then an endpoint or _port._protocol in front.
  const std::string_view ns = labels[n - 1];
  if (!v.namespaceExposed(ns)) return Found::NameError;
  if (n == 1) return Found::Ok;  // namespace.ZONE exists, holds nothing
  if (n > 4) return Found::NameError;
  const std::string_view service = labels[n - 2];
  std::string_view endpoint, port, protocol;
  if (n == 3) endpoint = stripUnderscore(labels[0]);
  if (n == 4) {
    port = stripUnderscore(labels[0]);
    protocol = stripUnderscore(labels[1]);
  }

  const kubernetes::Service* svc = v.cluster.findService(ns, service);
  if (svc == nullptr) return Found::NameError;
  Found found = Found::NameError;

  // A headless service without external addresses answers with its endpoints, as does an
  // endpoint name of any service without them.
  if (headless && svc->external.empty() &&
      (svc->kind == kubernetes::ServiceKind::Headless || !endpoint.empty())) {
    if (v.options.noEndpoints) return Found::NameError;  // CoreDNS then watches no endpoints
    std::array<char, 64> buf;
    for (const kubernetes::EndpointSet& set : svc->endpoints) {
      for (const kubernetes::EndpointAddress& a : set.addresses) {
        if (!a.ready) continue;
        if (!endpoint.empty() &&
            !equalFold(endpoint, kubernetes::endpointLabel(a, v.options.endpointPodNames, buf)))
          continue;
        for (const Port& p : portsOf(set.ports)) {
          if (!matches(port, protocol, p)) continue;
          found = Found::Ok;
          out.push_back(Entry{a.ip, nullptr, portNumber(set.ports, p), svc, &a});
        }
      }
    }
    return found;
  }

  for (const kubernetes::ExternalAddress& e : svc->external) {
    for (const Port& p : portsOf(svc->ports)) {
      if (!matches(port, protocol, p)) continue;
      found = Found::Ok;
      out.push_back(Entry{e.ip, e.hostname.empty() ? nullptr : &e.hostname,
                          portNumber(svc->ports, p), svc, nullptr});
    }
  }
  return found;
}

Found lookupReverse(const ExternalView& v, const Ip& ip, std::vector<Entry>& out) {
  out.clear();
  for (const kubernetes::Service* svc : v.cluster.externalReverse(ip)) {
    if (!v.options.namespaceConfigured(svc->ns)) continue;
    out.push_back(Entry{ip, nullptr, -1, svc, nullptr});
  }
  return out.empty() ? Found::NameError : Found::Ok;
}

void nameServerAddresses(const ExternalView& v, bool headless, std::vector<Ip>& out) {
  out.clear();
  bool found = false;
  if (!v.options.noEndpoints) {
    for (const Ip& local : v.options.localIps) {
      for (const kubernetes::ReverseEntry& re : v.cluster.reverse(local)) {
        if (re.address == nullptr || re.service == nullptr) continue;  // only endpoints count
        found = true;
        const kubernetes::Service& svc = *re.service;
        if (headless && svc.kind == kubernetes::ServiceKind::Headless) {
          // Every ready address of the endpoint set that holds this host's.
          for (const kubernetes::EndpointSet& set : svc.endpoints) {
            const auto* begin = set.addresses.data();
            if (re.address < begin || re.address >= begin + set.addresses.size()) continue;
            for (const kubernetes::EndpointAddress& a : set.addresses)
              if (a.ready) addUnique(out, a.ip);
          }
        } else {
          for (const kubernetes::ExternalAddress& e : svc.external)
            if (e.hostname.empty()) addUnique(out, e.ip);
        }
      }
    }
  }
  if (found) return;
  for (const Ip& local : v.options.localIps) addUnique(out, local);
}

}  // namespace moat::plugins::k8s_external
