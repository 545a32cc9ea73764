#include "plugins/kubernetes/model.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <unordered_set>
#include <utility>

namespace moat::plugins::kubernetes {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string serviceKey(std::string_view name, std::string_view ns) {
  std::string key = lower(name);
  key += '.';
  key += lower(ns);
  return key;
}

}  // namespace

std::optional<Ip> Ip::parse(std::string_view text) {
  // inet_pton wants a terminated string; anything longer than the longest IPv6 text is invalid.
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  Ip ip;
  if (text.find(':') == std::string_view::npos) {
    if (::inet_pton(AF_INET, buf, ip.bytes.data()) != 1) return std::nullopt;
    ip.family = 4;
  } else {
    if (::inet_pton(AF_INET6, buf, ip.bytes.data()) != 1) return std::nullopt;
    ip.family = 6;
  }
  return ip;
}

std::string Ip::str() const {
  char buf[INET6_ADDRSTRLEN];
  if (!::inet_ntop(family == 4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf)) return {};
  return buf;
}

size_t IpHash::operator()(const Ip& ip) const noexcept {
  // FNV-1a over the address bytes; the family is implied by the length.
  uint64_t h = 1469598103934665603ull;
  for (uint8_t b : ip.wire()) h = (h ^ b) * 1099511628211ull;
  return static_cast<size_t>(h ^ (h >> 29));
}

std::string EndpointAddress::label(bool endpointPodNames) const {
  if (!hostname.empty()) return hostname;
  if (endpointPodNames && !targetPodName.empty() && targetPodName.size() < 64) return targetPodName;
  std::string s = ip.str();
  std::replace(s.begin(), s.end(), '.', '-');
  std::replace(s.begin(), s.end(), ':', '-');
  if (!s.empty() && s.back() == '-') s += '0';  // a label must not end in '-'
  return s;
}

const Service* Cluster::findService(std::string_view nsLower, std::string_view nameLower) const {
  // Kubernetes names are at most 63 characters, so the key fits on the stack; longer input
  // cannot name a service.
  char buf[160];
  const size_t len = nameLower.size() + 1 + nsLower.size();
  if (len > sizeof buf) return nullptr;
  std::memcpy(buf, nameLower.data(), nameLower.size());
  buf[nameLower.size()] = '.';
  std::memcpy(buf + nameLower.size() + 1, nsLower.data(), nsLower.size());
  auto it = byKey_.find(std::string_view(buf, len));
  return it == byKey_.end() ? nullptr : it->second;
}

bool Cluster::hasNamespace(std::string_view nsLower) const {
  return namespaces_.find(nsLower) != namespaces_.end();
}

std::span<const ReverseEntry> Cluster::reverse(const Ip& ip) const {
  auto it = reverse_.find(ip);
  if (it == reverse_.end()) return {};
  return it->second;
}

bool Cluster::hasPod(std::string_view nsLower, const Ip& ip) const {
  auto it = podIpsByNs_.find(nsLower);
  return it != podIpsByNs_.end() && std::binary_search(it->second.begin(), it->second.end(), ip);
}

std::string_view Cluster::podNamespace(const Ip& ip) const {
  auto it = podNsByIp_.find(ip);
  return it == podNsByIp_.end() ? std::string_view() : std::string_view(it->second);
}

void Cluster::Builder::addService(Service service) { services_.push_back(std::move(service)); }

void Cluster::Builder::addEndpoints(std::string_view ns, std::string_view serviceName,
                                    EndpointSet set) {
  endpoints_.emplace_back(serviceKey(serviceName, ns), std::move(set));
}

void Cluster::Builder::addCoreEndpoints(std::string_view ns, std::string_view serviceName,
                                        EndpointSet set) {
  coreEndpoints_.emplace_back(serviceKey(serviceName, ns), std::move(set));
}

void Cluster::Builder::addPod(Pod pod) { pods_.push_back(std::move(pod)); }

void Cluster::Builder::addNamespace(std::string_view name) { namespaces_.emplace_back(name); }

ClusterPtr Cluster::Builder::build(uint32_t serial) {
  auto cluster = std::make_shared<Cluster>();
  Cluster& c = *cluster;
  c.serial_ = serial;
  c.stats_.skipped = stats_.skipped;

  // Services: the last object with a key wins (a later file updates an earlier one), then a
  // stable order by (namespace, name) so answers do not depend on file order.
  std::vector<std::pair<std::string, size_t>> order;  // (lower ns + '\0' + lower name, index)
  order.reserve(services_.size());
  {
    std::unordered_map<std::string, size_t, StringHash, std::equal_to<>> last;
    last.reserve(services_.size());
    for (size_t i = 0; i < services_.size(); ++i)
      last[serviceKey(services_[i].name, services_[i].ns)] = i;
    for (size_t i = 0; i < services_.size(); ++i) {
      auto it = last.find(serviceKey(services_[i].name, services_[i].ns));
      if (it->second != i) continue;
      order.emplace_back(lower(services_[i].ns) + '\0' + lower(services_[i].name), i);
    }
  }
  std::sort(order.begin(), order.end());
  c.services_.reserve(order.size());
  c.byKey_.reserve(order.size());
  for (auto& [sortKey, i] : order) {
    auto svc = std::make_unique<Service>(std::move(services_[i]));
    c.byKey_.emplace(serviceKey(svc->name, svc->ns), svc.get());
    c.namespaces_.try_emplace(lower(svc->ns), false);
    c.services_.push_back(std::move(svc));
  }
  services_.clear();

  // Endpoints join their service by key; those of unknown services are dropped.
  std::unordered_set<const Service*> sliced;
  for (auto& [key, set] : endpoints_) {
    auto it = c.byKey_.find(key);
    if (it == c.byKey_.end()) continue;
    auto* svc = const_cast<Service*>(it->second);  // still ours to fill: not yet published
    svc->endpoints.push_back(std::move(set));
    sliced.insert(svc);
  }
  endpoints_.clear();
  for (auto& [key, set] : coreEndpoints_) {
    auto it = c.byKey_.find(key);
    if (it == c.byKey_.end() || sliced.count(it->second)) continue;
    const_cast<Service*>(it->second)->endpoints.push_back(std::move(set));
  }
  coreEndpoints_.clear();

  // Reverse map: every cluster IP before any endpoint address (CoreDNS prefers the service).
  for (const auto& svc : c.services_)
    for (const Ip& ip : svc->clusterIPs)
      c.reverse_[ip].push_back(ReverseEntry{svc.get(), {}, nullptr});
  for (const auto& svc : c.services_) {
    for (EndpointSet& set : svc->endpoints) {
      ++c.stats_.endpointSlices;
      c.stats_.endpoints += set.addresses.size();
      for (EndpointAddress& addr : set.addresses) {
        if (svc->publishNotReadyAddresses) addr.ready = true;
        if (!addr.ready) continue;
        c.reverse_[addr.ip].push_back(ReverseEntry{svc.get(), addr.label(false), &addr});
      }
    }
  }

  c.indexExternal();

  std::unordered_map<std::string, bool, StringHash, std::equal_to<>> podNames;
  for (Pod& pod : pods_) {
    std::string ns = lower(pod.ns);
    podNames.try_emplace(ns + '/' + lower(pod.name), true);
    auto& ips = c.podIpsByNs_[ns];
    ips.insert(ips.end(), pod.ips.begin(), pod.ips.end());
    for (const Ip& ip : pod.ips) c.podNsByIp_.try_emplace(ip, ns);  // the first pod listed wins
    c.namespaces_.try_emplace(std::move(ns), false);
  }
  for (auto& [ns, ips] : c.podIpsByNs_) {
    std::sort(ips.begin(), ips.end());
    ips.erase(std::unique(ips.begin(), ips.end()), ips.end());
  }
  c.stats_.pods = podNames.size();
  pods_.clear();

  for (const std::string& ns : namespaces_) c.namespaces_[lower(ns)] = true;
  namespaces_.clear();

  c.stats_.services = c.services_.size();
  c.stats_.namespaces = c.namespaces_.size();
  stats_ = {};
  return cluster;
}

}  // namespace moat::plugins::kubernetes
