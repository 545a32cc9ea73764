// Kubernetes::externalView: kept out of kubernetes.cpp so what k8s_external needs stays apart.
#include "plugins/kubernetes/kubernetes.hpp"

namespace moat::plugins::kubernetes {

ExternalView Kubernetes::externalView(unsigned worker) {
  const Cluster* snapshot = source_->current(worker);
  return ExternalView{snapshot != nullptr ? *snapshot : empty_, options_, source_->loaded()};
}

}  // namespace moat::plugins::kubernetes
