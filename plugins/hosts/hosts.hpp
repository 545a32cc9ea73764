// The `hosts` plugin: answers A, AAAA and PTR from a hosts(5) file and inline entries
// (coredns-semantics.md §4). Built once per server block; shared by every worker.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "conf/diag.hpp"
#include "dns/zone_set.hpp"
#include "plugins/fall.hpp"
#include "plugins/handler.hpp"
#include "plugins/metric_source.hpp"
#include "plugins/hosts/config.hpp"
#include "plugins/hosts/store.hpp"

namespace moat::plugins::hosts {

class Hosts final : public Handler, public MetricSource {
 public:
  // Reads the file now and, if config.reload > 0, starts watching it. `workers` is the number
  // of event loops that will query it.
  Hosts(const HostsConfig& config, size_t workers);

  Verdict onQuery(dns::Query& q) override;
  std::string_view name() const override { return "hosts"; }

  // coredns_hosts_entries{hostsfile} and coredns_hosts_reload_timestamp_seconds, once the
  // file was read (as CoreDNS sets them only when it reads the file).
  void collect(std::vector<MetricSample>& out) const override;

  IndexPtr index() const { return store_->current(); }
  Store& store() { return *store_; }

 private:
  Verdict answerPtr(dns::Query& q, const Index& index);

  dns::ZoneSet zones_;
  Fall fall_;
  bool fallthroughUnsupported_ = false;
  uint32_t ttl_ = 3600;
  std::unique_ptr<Store> store_;
};

// PluginSpec::setup for "hosts": parse, check the file, build the handler.
conf::Result<HandlerPtr> setupHosts(const SetupContext& ctx);

}  // namespace moat::plugins::hosts
