// kubernetes in Moat's stub mode: reverse zones that swallow public PTRs, CoreDNS API-client
// options a stub cannot honour, and probes a Deployment needs.
#include <algorithm>

#include "lint/rules.hpp"
#include "lint/served.hpp"

namespace moat::lint {

namespace {

constexpr std::string_view kApiOptions[] = {
    "endpoint",          "tls",    "kubeconfig",       "apiserver_qps", "apiserver_burst",
    "apiserver_max_inflight", "labels", "namespace_labels", "startup_timeout"};

void reverseFallthrough(const Block& block, Findings& findings) {
  if (!block.kubernetes) return;
  std::vector<std::string> swallowed;
  for (const std::string& zone : block.kubernetes->zones) {
    if (isReverseZone(zone) && !fallCovers(block.kubernetes->fall, zone)) swallowed.push_back(zone);
  }
  if (swallowed.empty()) return;
  std::string fall;
  for (const std::string& z : swallowed) fall += " " + (z.size() > 1 ? z.substr(0, z.size() - 1) : z);
  findings.add(block.kubernetes->pos, "kubernetes/reverse-fallthrough",
               "kubernetes serves " + listZones(swallowed) +
                   " without a fallthrough covering it: PTR queries for addresses outside the "
                   "cluster get NXDOMAIN here instead of going on; add `fallthrough" + fall + "`");
}

void apiOptions(const Block& block, Findings& findings) {
  const conf::Directive* d = block.first("kubernetes");
  if (d == nullptr) return;
  for (const conf::Directive& option : d->block) {
    const std::string& name = option.name.text;
    if (std::find(std::begin(kApiOptions), std::end(kApiOptions), name) == std::end(kApiOptions)) continue;
    findings.add(option.name.pos, "kubernetes/api-option",
                 "kubernetes '" + name + "' steers CoreDNS's API client; Moat's stub reads the "
                 "cluster from `objects` files and ignores it");
  }
}

void probes(const Model& model, Findings& findings) {
  bool health = false;
  bool ready = false;
  for (const Block& block : model.blocks) {
    health = health || block.has("health");
    ready = ready || block.has("ready");
  }
  if (health && ready) return;
  const std::string why =
      !health && !ready ? "neither health nor ready: a Deployment's liveness (/health on :8080) and "
                          "readiness (/ready on :8181) probes have"
      : !health         ? "no health: a Deployment's liveness probe (/health on :8080) has"
                        : "no ready: a Deployment's readiness probe (/ready on :8181) has";
  for (const Block& block : model.blocks) {
    const conf::Directive* d = block.first("kubernetes");
    if (d == nullptr) continue;
    findings.add(d->name.pos, "kubernetes/no-probes",
                 "kubernetes is served but the Corefile loads " + why + " nothing to ask");
  }
}

}  // namespace

void checkKubernetes(const Model& model, Findings& findings) {
  for (const Block& block : model.blocks) {
    reverseFallthrough(block, findings);
    apiOptions(block, findings);
  }
  probes(model, findings);
}

}  // namespace moat::lint
