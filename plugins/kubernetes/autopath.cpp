// The search path the kubernetes plugin gives `autopath @kubernetes`, as CoreDNS's
// Kubernetes.AutoPath builds it: a pod in namespace NS asking under zone Z searches NS.svc.Z,
// svc.Z, Z, then the host's own search domains (and the bare name, which autopath adds).
#include <array>
#include <sys/socket.h>

#include "plugins/kubernetes/kubernetes.hpp"

namespace moat::plugins::kubernetes {

bool Kubernetes::searchPath(const dns::Query& q, SearchPath& out) {
  const int zone = zones_.longestMatch(q.view.question.lowerName());
  // Only a pod's address says which namespace asks, and only `pods verified` keeps an index of
  // them (CoreDNS's initPodCache): otherwise no search path, and the query passes untouched.
  if (zone == dns::ZoneSet::kNone || options_.pods != PodMode::Verified) return false;
  Ip client;
  const int family = q.client.address(client.bytes);
  if (family != AF_INET && family != AF_INET6) return false;
  client.family = family == AF_INET ? 4 : 6;
  const Cluster* cluster = source_->current(q.worker);
  if (cluster == nullptr) return false;
  const std::string_view ns = cluster->podNamespace(client);
  if (ns.empty()) return false;

  // NS.svc.Z and svc.Z, built in place (the zone "." gives NS.svc. and svc.).
  const std::span<const uint8_t> z = zones_.wire(zone);
  std::array<uint8_t, dns::kMaxNameLen> name{};
  const size_t nsLen = std::min(ns.size(), dns::kMaxLabelLen);
  if (1 + nsLen + 4 + z.size() > name.size()) return false;
  size_t at = 0;
  name[at++] = static_cast<uint8_t>(nsLen);
  std::copy_n(ns.begin(), nsLen, name.begin() + static_cast<long>(at));
  at += nsLen;
  const size_t svc = at;
  for (uint8_t b : {uint8_t{3}, uint8_t{'s'}, uint8_t{'v'}, uint8_t{'c'}}) name[at++] = b;
  std::copy(z.begin(), z.end(), name.begin() + static_cast<long>(at));
  at += z.size();
  out.clear();
  out.add({name.data(), at});
  out.add({name.data() + svc, at - svc});
  out.add(z);
  for (const dns::WireName& domain : hostSearch_) out.add(domain);
  return true;
}

}  // namespace moat::plugins::kubernetes
