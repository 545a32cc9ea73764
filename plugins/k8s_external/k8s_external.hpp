// The `k8s_external` plugin, as CoreDNS's: an extra zone in which the services of the
// kubernetes plugin of the same server block are reachable from outside the cluster by their
// external addresses (spec.externalIPs and load balancer ingress), and with `headless` by the
// endpoints of headless services. service.namespace.ZONE answers A/AAAA (a CNAME for a load
// balancer known by hostname), SRV for its ports (_port._proto.service.namespace.ZONE), PTR
// for an external IP when the zone is a reverse one; the apex answers SOA and NS, the APEX
// subdomain (default `dns`) holds the name server ns1.APEX.ZONE.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "conf/diag.hpp"
#include "dns/name.hpp"
#include "dns/zone_set.hpp"
#include "plugins/block_peer.hpp"
#include "plugins/fall.hpp"
#include "plugins/file/provider.hpp"
#include "plugins/handler.hpp"
#include "plugins/k8s_external/lookup.hpp"
#include "plugins/plugin.hpp"

namespace moat::plugins::kubernetes {
class Kubernetes;
}

namespace moat::plugins::k8s_external {

inline constexpr uint32_t kDefaultTtl = 5;
inline constexpr uint32_t kMaxTtl = 3600;

struct Config {
  std::vector<std::string> zones;  // normalised ("example.org."); the block's when none given
  std::string apex = "dns";        // the subdomain holding ns1 (a name relative to each zone)
  uint32_t ttl = kDefaultTtl;      // A, AAAA, PTR, SOA, NS and SRV additionals
  bool headless = false;
  Fall fall;
};

// Pure: the block's k8s_external stanza to a config, or a positioned error. It also refuses a
// block without `kubernetes`, which CoreDNS refuses at start.
conf::Result<Config> parseConfig(const SetupContext& ctx);

class K8sExternal final : public Handler, public BlockPeer, public SubqueryClient,
                          public file::ZoneProvider {
 public:
  K8sExternal(Config config, size_t workers);

  Verdict onQuery(dns::Query& q) override;
  std::string_view name() const override { return "k8s_external"; }
  // Finds the block's kubernetes handler (the chain owns both, so a plain pointer is enough:
  // neither outlives the chain, and no query runs once it is gone).
  void peersReady(std::span<const HandlerPtr> chain) override;
  // Tests and tools: the kubernetes handler to read from.
  void attach(kubernetes::Kubernetes* k8s) { k8s_ = k8s; }
  // A load balancer hostname's addresses, resolved through the server: appended to the CNAME.
  void onSubquery(dns::Query& parent, std::span<const uint8_t> reply) override;

  const Config& config() const { return config_; }

  // For `transfer` (transfer.cpp): each zone as a whole, built from the current snapshot when
  // asked, as CoreDNS's Transfer lists it. No NOTIFY is ever sent (CoreDNS sends none either).
  file::ZonePtr servedZone(std::span<const uint8_t> origin) const override;
  std::vector<std::string> servedOrigins() const override { return config_.zones; }
  void onZoneChanged(std::function<void(const std::string& origin)>) override {}

 private:
  struct Zone {
    dns::WireName apex;  // APEX.ZONE, lowercase wire
    dns::WireName ns1;   // ns1.APEX.ZONE
    dns::WireName hostmaster;  // hostmaster.APEX.ZONE
  };
  struct alignas(64) WorkerScratch {
    Scratch scratch;
  };
  Scratch& scratchFor(unsigned worker);

  Config config_;
  dns::ZoneSet zones_;
  std::vector<Zone> names_;  // indexed like zones_
  std::vector<WorkerScratch> scratch_;
  kubernetes::Kubernetes* k8s_ = nullptr;
};

// PluginSpec::setup for "k8s_external".
conf::Result<HandlerPtr> setupK8sExternal(const SetupContext& ctx);

}  // namespace moat::plugins::k8s_external
