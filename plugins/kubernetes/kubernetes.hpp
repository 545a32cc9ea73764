// The `kubernetes` plugin: answers the Kubernetes DNS spec for its zones from a cluster snapshot
// exactly as CoreDNS's kubernetes plugin does (coredns-semantics.md §5). Built once per server
// block, shared by every worker; answers are written straight into the reply.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "conf/diag.hpp"
#include "dns/zone_set.hpp"
#include "plugins/fall.hpp"
#include "plugins/handler.hpp"
#include "plugins/kubernetes/config.hpp"
#include "plugins/kubernetes/external.hpp"
#include "plugins/kubernetes/model.hpp"
#include "plugins/kubernetes/records.hpp"
#include "plugins/search_path.hpp"

namespace moat::plugins::kubernetes {

// Where the handler gets its snapshot. The objects store is one; tests feed fixture clusters.
class ClusterSource {
 public:
  virtual ~ClusterSource() = default;
  // The snapshot a query on `worker` answers from, valid until that worker asks again. Null
  // is read as an empty cluster.
  virtual const Cluster* current(unsigned worker) = 0;
  // False until the first snapshot loaded: a would-be NXDOMAIN is then SERVFAIL, as CoreDNS
  // answers before its API cache synced.
  virtual bool loaded() const = 0;
  // The current snapshot, owned by the caller (off the query path: zone transfers of
  // k8s_external). May be null before anything loaded.
  virtual ClusterPtr snapshot() const = 0;
};

// A fixed snapshot (tests, tools).
class FixedSource final : public ClusterSource {
 public:
  explicit FixedSource(ClusterPtr cluster) : cluster_(std::move(cluster)) {}
  const Cluster* current(unsigned) override { return cluster_.get(); }
  bool loaded() const override { return cluster_ != nullptr; }
  ClusterPtr snapshot() const override { return cluster_; }

 private:
  ClusterPtr cluster_;
};

class Kubernetes final : public Handler, public SubqueryClient, public Readiness, public SearchPathSource {
 public:
  // `workers`: how many event loops will query it. `localIps`: this host's non-loopback
  // addresses, for NS answers (setup reads them from the interfaces).
  Kubernetes(const KubernetesConfig& config, std::shared_ptr<ClusterSource> source,
             size_t workers, std::vector<Ip> localIps);

  Verdict onQuery(dns::Query& q) override;
  std::string_view name() const override { return "kubernetes"; }
  // The answer for an ExternalName target outside the zone: appended after the CNAME chain.
  void onSubquery(dns::Query& parent, std::span<const uint8_t> reply) override;

  // For `ready`: true once the objects loaded.
  bool ready() const override { return source_->loaded(); }
  std::string_view readinessName() const override { return "kubernetes"; }
  ClusterSource& source() { return *source_; }
  // For k8s_external (external.hpp), on the query path of `worker`.
  ExternalView externalView(unsigned worker);
  // For k8s_external's zone transfers: the current snapshot, kept alive by the caller.
  ClusterPtr externalSnapshot() const { return source_->snapshot(); }
  const Options& options() const { return options_; }

  // `autopath @kubernetes` (autopath.cpp): for a client that is a pod of the cluster (`pods
  // verified` only), NS.svc.ZONE, svc.ZONE, ZONE, then this host's own search domains.
  std::string_view searchPathName() const override { return "kubernetes"; }
  bool searchPath(const dns::Query& q, SearchPath& out) override;
  // The host's search domains (lowercased wire names), appended to every pod's search path as
  // CoreDNS appends its /etc/resolv.conf's. Set once at setup, before the first query.
  void setHostSearch(std::vector<dns::WireName> domains) { hostSearch_ = std::move(domains); }

 private:
  struct alignas(64) WorkerScratch {
    Scratch scratch;
  };
  Scratch& scratchFor(unsigned worker);

  dns::ZoneSet zones_;
  std::vector<bool> multicluster_;  // per zone index: answered from ServiceImports
  Options options_;
  Fall fall_;
  std::shared_ptr<ClusterSource> source_;
  std::vector<WorkerScratch> scratch_;
  const Cluster empty_{};  // answers before anything loaded
  std::vector<dns::WireName> hostSearch_;  // autopath's tail of every search path
};

// This host's addresses as CoreDNS's boundIPs sees them on a wildcard listener: every
// interface address but loopback.
std::vector<Ip> localAddresses();

// PluginSpec::setup for "kubernetes": parse, load the objects, build the handler.
conf::Result<HandlerPtr> setupKubernetes(const SetupContext& ctx);

}  // namespace moat::plugins::kubernetes
