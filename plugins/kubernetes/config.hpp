// The `kubernetes` directive, read into a typed value without touching the file system
// (coredns-semantics.md §5; DESIGN.md §6). Every CoreDNS option is accepted; those that only
// steer CoreDNS's API client are checked and kept so lint can name them, and change nothing,
// since Moat reads the cluster from `objects` files.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/diag.hpp"
#include "plugins/fall.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::kubernetes {

enum class PodMode : uint8_t {
  Disabled,  // ip-dashed.ns.pod names do not exist
  Insecure,  // answered from the name itself
  Verified,  // answered only when a pod with that IP lives in that namespace
};

struct TlsFiles {
  std::string cert, key, ca;
};

struct KubernetesConfig {
  conf::Pos pos;                        // the directive, for diagnostics about the objects
  std::vector<std::string> zones;       // normalised; the block's zones when none were given
  size_t primaryZone = 0;               // index of the first forward zone: PTR targets use it
  std::vector<std::string> objects;     // files or directories, joined to the Corefile's dir
  std::vector<std::string> namespaces;  // exposed namespaces (lowercase); empty: all
  PodMode pods = PodMode::Disabled;
  bool endpointPodNames = false;
  uint32_t ttl = 5;
  bool noEndpoints = false;
  bool ignoreEmptyService = false;
  Fall fall;
  std::vector<std::string> multiclusterZones;  // each one of `zones`
  bool zonal = false;

  // CoreDNS's API-client options. Kept as written; nothing in Moat reads them.
  std::vector<std::string> endpoints;
  std::optional<TlsFiles> tls;
  std::string kubeconfig, kubeconfigContext;
  double apiserverQps = 0;
  int64_t apiserverBurst = 0;
  int64_t apiserverMaxInflight = 0;
  std::string labels;           // label selector over services and endpoints
  std::string namespaceLabels;  // label selector over namespaces
  std::chrono::nanoseconds startupTimeout = std::chrono::seconds(5);

  // Non-fatal findings (the removed `upstream` option, several endpoints); setup forwards them
  // to SetupContext::warnings so parsing stays free of side effects.
  std::vector<conf::Diag> warnings;
};

conf::Result<KubernetesConfig> parseKubernetes(const SetupContext& ctx);

// Kubernetes label selector syntax (`a=b,c!=d,e in (f,g),!h,i>3`), as `labels` and
// `namespace_labels` take it. False with the reason in `why` when it would not parse.
bool validLabelSelector(std::string_view selector, std::string& why);

}  // namespace moat::plugins::kubernetes
