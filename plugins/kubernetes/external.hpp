// What the k8s_external plugin reads from the kubernetes plugin of its server block, as
// CoreDNS's kubernetes implements its Externaler interface: the snapshot a worker answers from
// and the options that shape names (namespaces, endpoint_pod_names, ttl, this host's
// addresses). No lock and no allocation: the snapshot is the worker's own published one.
#pragma once

#include "plugins/kubernetes/model.hpp"
#include "plugins/kubernetes/records.hpp"

namespace moat::plugins::kubernetes {

struct ExternalView {
  const Cluster& cluster;  // valid until the same worker asks again
  const Options& options;
  bool loaded = false;     // false until the first snapshot loaded

  // CoreDNS namespaceExposed: allowed by `namespaces` and present in the cluster.
  bool namespaceExposed(std::string_view nsLower) const {
    return options.namespaceConfigured(nsLower) && cluster.hasNamespace(nsLower);
  }
};

}  // namespace moat::plugins::kubernetes
