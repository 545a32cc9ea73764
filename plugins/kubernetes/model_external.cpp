// The external addresses of services (k8s_external): kept apart from model.cpp so the plugin
// that reads them owns its part of the snapshot's build.
#include "plugins/kubernetes/model.hpp"

namespace moat::plugins::kubernetes {

void Cluster::indexExternal() {
  for (const auto& svc : services_) {
    for (const ExternalAddress& a : svc->external) {
      if (!a.hostname.empty()) continue;
      std::vector<const Service*>& list = externalReverse_[a.ip];
      // A service listing one IP twice is one PTR target.
      if (list.empty() || list.back() != svc.get()) list.push_back(svc.get());
    }
  }
}

std::span<const Service* const> Cluster::externalReverse(const Ip& ip) const {
  auto it = externalReverse_.find(ip);
  if (it == externalReverse_.end()) return {};
  return it->second;
}

}  // namespace moat::plugins::kubernetes
